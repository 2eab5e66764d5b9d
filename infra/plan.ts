/**
 * What a stack deploys, whatever its target: the enabled catalog entries, the manifest and its
 * digest, the memory sizing, the service's arguments and environment. Pure: the Docker and
 * Kubernetes targets render the same plan, and tests read it without the Pulumi SDK.
 */
import { builtinCatalog, type CatalogEntry } from "../components/core/catalog/index";
import {
  CACHE_ENV_KEYS,
  type CachePaths,
  cachePaths,
  consumerEnv,
  HUB_CREDENTIAL_ENV_KEYS,
  OFFLINE_ENV_KEYS,
} from "../components/core/contract";
import { type BuiltManifest, buildManifest, selectModels } from "../components/core/selection";
import { expandServiceArgs } from "../components/core/service-args";
import { computeMemorySizing, type MemorySizing } from "../components/core/sizing";
import { CONFIG_NAMESPACE, ConfigError, type StackConfig } from "./config";

export interface StackPlan {
  config: StackConfig;
  paths: CachePaths;
  models: CatalogEntry[];
  manifest: BuiltManifest;
  sizing: MemorySizing;
  /** The model server's arguments with catalog placeholders expanded. */
  serviceArgs: string[];
  /** The model server's full environment: contract consumer env + the stack's extras. */
  serviceEnv: Record<string, string>;
}

const RESERVED_SERVICE_ENV = new Set<string>([...CACHE_ENV_KEYS, ...OFFLINE_ENV_KEYS, ...HUB_CREDENTIAL_ENV_KEYS]);

export function planStack(config: StackConfig, catalog: readonly CatalogEntry[] = builtinCatalog()): StackPlan {
  const paths = cachePaths(config.mountPath);
  const models = wrap(() =>
    selectModels(config.models, catalog, { key: `${CONFIG_NAMESPACE}:models`, allowUnverified: config.allowUnverified }),
  );
  const manifest = buildManifest(models, { allowUnverified: config.allowUnverified });
  const sizing = wrap(() =>
    computeMemorySizing({
      models,
      device: config.device,
      headroom: config.headroom,
      gpuMemoryMiB: config.gpuMemoryMiB,
      ...(config.runtimeOverheadMiB > 0 ? { runtimeOverheadMiB: config.runtimeOverheadMiB } : {}),
    }),
  );
  const serviceArgs = wrap(() =>
    expandServiceArgs(config.serviceArgs, { models, paths, port: config.servicePort, key: `${CONFIG_NAMESPACE}:serviceArgs` }),
  );
  const extraEnv: Record<string, string> = {};
  config.serviceEnv.forEach((entry, i) => {
    const eq = entry.indexOf("=");
    const name = entry.slice(0, eq);
    if (RESERVED_SERVICE_ENV.has(name)) {
      throw new ConfigError(
        `${CONFIG_NAMESPACE}:serviceEnv[${i}]: ${name} is set by the cache contract (cache paths, offline mode) or is a hub ` +
          "credential, which the service must never hold; remove it from serviceEnv",
      );
    }
    extraEnv[name] = entry.slice(eq + 1);
  });
  return { config, paths, models, manifest, sizing, serviceArgs, serviceEnv: { ...extraEnv, ...consumerEnv(paths) } };
}

/** Turn a core module's error into a config error (same message: it already names the key). */
function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error && !(err instanceof ConfigError)) {
      const wrapped = new ConfigError(err.message);
      wrapped.stack = err.stack;
      throw wrapped;
    }
    throw err;
  }
}
