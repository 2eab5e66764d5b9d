/**
 * The program: validated config → plan → the target's components. Everything is validated
 * before the first resource is registered, so a bad stack file creates nothing.
 */
import {
  builtinCatalog,
  CatalogFileError,
  catalogFileFor,
  mergeCatalog,
  type ResolvedCatalog,
  readCatalogFile,
} from "../components/core/catalog/index";
import { manifestLabelValue } from "../components/core/contract";
import { CONFIG_NAMESPACE, ConfigError, type StackConfig } from "./config";
import { planStack, type StackPlan } from "./plan";
import { type LoadedConfig, loadStackConfig } from "./pulumi-config";
import { deployDocker } from "./targets/docker";
import { deployKubernetes } from "./targets/kubernetes";

export interface CatalogOutput {
  /** The catalog file read (relative to the project), or null when the stack uses the built-ins only. */
  file: string | null;
  /** Ids the catalog file defines. */
  userModels: string[];
  /** Built-in ids a catalog-file entry replaced: the stack runs the file's version of them. */
  replacedBuiltins: string[];
}

export interface StackOutputs {
  target: string;
  models: string[];
  manifestDigest: string;
  /** The `model-cache.io/manifest` label value every workload of the stack carries. */
  manifestLabel: string;
  memorySizing: StackPlan["sizing"];
  /** The service's health-check grace and how it was computed (per model load seconds, headroom, margin). */
  startPeriod: StackPlan["startPeriod"];
  catalog: CatalogOutput;
  [key: string]: unknown;
}

/**
 * The built-ins plus the stack's catalog file (`catalogFile`, or catalog.yaml when present),
 * relative to the project directory: Pulumi runs the program there.
 */
export function loadStackCatalog(config: Pick<StackConfig, "catalogFile">, projectDir: string = process.cwd()): ResolvedCatalog {
  const file = catalogFileFor(config.catalogFile, projectDir);
  if (file === undefined) return mergeCatalog(builtinCatalog());
  try {
    return mergeCatalog(builtinCatalog(), readCatalogFile(file, projectDir));
  } catch (err) {
    if (err instanceof CatalogFileError) throw new ConfigError(`${CONFIG_NAMESPACE}:catalogFile: ${err.message}`);
    throw err;
  }
}

export function runProgram(loaded: LoadedConfig = loadStackConfig()): StackOutputs {
  const plan = planStack(loaded.config, loadStackCatalog(loaded.config));
  const common = {
    target: plan.config.target,
    models: plan.models.map((m) => m.id),
    manifestDigest: plan.manifest.digest,
    manifestLabel: manifestLabelValue(plan.manifest.digest),
    memorySizing: plan.sizing,
    startPeriod: plan.startPeriod,
    catalog: {
      file: plan.catalog.file ?? null,
      userModels: plan.catalog.userIds,
      replacedBuiltins: plan.catalog.replacedBuiltins,
    },
  };
  switch (plan.config.target) {
    case "docker":
      return { ...common, ...deployDocker(plan, loaded.hubToken) };
    case "kubernetes":
      return { ...common, ...deployKubernetes(plan, loaded) };
  }
}
