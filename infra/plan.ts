/**
 * What a stack deploys, whatever its target: the enabled catalog entries, the manifest and its
 * digest, the memory sizing, the service's arguments and environment. Pure: the Docker and
 * Kubernetes targets render the same plan, and tests read it without the Pulumi SDK.
 */
import { builtinCatalog, type CatalogEntry, LOCK_COMMAND, mergeCatalog, type ResolvedCatalog } from "../components/core/catalog/index";
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
import { deriveStartPeriod, type StartPeriod } from "../components/core/startup";
import { CONFIG_NAMESPACE, ConfigError, type StackConfig } from "./config";

export interface StackPlan {
  config: StackConfig;
  paths: CachePaths;
  models: CatalogEntry[];
  manifest: BuiltManifest;
  sizing: MemorySizing;
  /** The health-check grace the service gets, with its breakdown (derived from load times unless the stack sets it). */
  startPeriod: StartPeriod;
  /** Where the models came from: the built-ins and the stack's catalog file. */
  catalog: ResolvedCatalog;
  /** The model server's arguments with catalog placeholders expanded. */
  serviceArgs: string[];
  /** The model server's full environment: contract consumer env + the stack's extras. */
  serviceEnv: Record<string, string>;
}

const RESERVED_SERVICE_ENV = new Set<string>([...CACHE_ENV_KEYS, ...OFFLINE_ENV_KEYS, ...HUB_CREDENTIAL_ENV_KEYS]);

export function planStack(config: StackConfig, input: readonly CatalogEntry[] | ResolvedCatalog = builtinCatalog()): StackPlan {
  const catalog: ResolvedCatalog = isCatalogList(input) ? mergeCatalog(input) : input;
  const paths = cachePaths(config.mountPath);
  refuseUnlocked(config.models, catalog);
  const models = wrap(() =>
    selectModels(config.models, catalog.entries, { key: `${CONFIG_NAMESPACE}:models`, allowUnverified: config.allowUnverified }),
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
  const startPeriod = wrap(() => deriveStartPeriod({ models, device: config.device, overrideSeconds: config.startPeriodSeconds }));
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
  return {
    config,
    paths,
    models,
    manifest,
    sizing,
    startPeriod,
    catalog,
    serviceArgs,
    serviceEnv: { ...extraEnv, ...consumerEnv(paths) },
  };
}

/** An enabled catalog-file entry that `model-cache lock` has not resolved yet cannot be deployed. */
function refuseUnlocked(refs: readonly string[], catalog: ResolvedCatalog): void {
  const errors: string[] = [];
  refs.forEach((ref, i) => {
    const id = ref.split("@")[0] ?? ref;
    const unlocked = catalog.unlocked.get(id);
    if (!unlocked) return;
    errors.push(
      `${CONFIG_NAMESPACE}:models[${i}]: "${id}" (${catalog.file} models[${unlocked.index}]) is not locked: ${unlocked.reasons.join("; ")}; ` +
        `run: npx ${LOCK_COMMAND} --catalog ${catalog.file}`,
    );
  });
  if (errors.length > 0) throw new ConfigError(errors.join("\n"));
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

function isCatalogList(input: readonly CatalogEntry[] | ResolvedCatalog): input is readonly CatalogEntry[] {
  return Array.isArray(input);
}
