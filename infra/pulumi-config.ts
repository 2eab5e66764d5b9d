import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config.js";
import { CONFIG_NAMESPACE, ConfigError, parseStackConfig, type StackConfig } from "./config";

/** Config keys that are read as Pulumi secrets, outside the plain schema. */
export const SECRET_KEYS = ["hfToken", "kubeconfig"] as const;

export interface LoadedConfig {
  config: StackConfig;
  /** The hub token (downloader only), always a secret Output. */
  hubToken?: pulumi.Output<string>;
  /** The target cluster's kubeconfig (target kubernetes), always a secret Output. */
  kubeconfig?: pulumi.Output<string>;
}

/**
 * Secrets the program cannot run without for this config (the cluster's kubeconfig on target
 * kubernetes, unless the ambient one is used). A hermetic preview (the `check` gate) has no
 * secrets at all, so it stands a placeholder in for exactly these.
 */
export function requiredSecretKeys(config: StackConfig): (typeof SECRET_KEYS)[number][] {
  return config.target === "kubernetes" && !config.useAmbientKubeconfig ? ["kubeconfig"] : [];
}

/** The stack's config as the engine hands it to the program, validated. */
export function loadStackConfig(): LoadedConfig {
  const config = parseStackConfig(pulumi.runtime.allConfig(), SECRET_KEYS);
  const hubToken = readSecret("hfToken", "the hub token", "<token>");
  const kubeconfig = readSecret("kubeconfig", "the kubeconfig", '"$(cat kubeconfig)"');
  return { config, ...(hubToken ? { hubToken } : {}), ...(kubeconfig ? { kubeconfig } : {}) };
}

/** A config value that must be a secret: absent → undefined, plain text → ConfigError. */
function readSecret(name: (typeof SECRET_KEYS)[number], what: string, example: string): pulumi.Output<string> | undefined {
  const key = `${CONFIG_NAMESPACE}:${name}`;
  const raw = pulumi.runtime.allConfig()[key];
  if (raw === undefined || raw === "") return undefined;
  if (!isConfigSecret(key)) {
    throw new ConfigError(`${key}: ${what} is stored in plain text; store it as a secret: pulumi config set --secret ${key} ${example}`);
  }
  return new pulumi.Config(CONFIG_NAMESPACE).requireSecret(name);
}

/** The SDK's own check (exported at run time, left out of its typings). */
function isConfigSecret(key: string): boolean {
  const check = (runtimeConfig as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  if (typeof check !== "function") throw new Error("this @pulumi/pulumi version has no isConfigSecret; pin the version in package.json");
  return check(key);
}
