import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config.js";
import { CONFIG_NAMESPACE, ConfigError, parseStackConfig, type StackConfig } from "./config";

/** Config keys that are read as Pulumi secrets, outside the plain schema. */
export const SECRET_KEYS = ["hfToken"] as const;

export interface LoadedConfig {
  config: StackConfig;
  /** The hub token (downloader only), always a secret Output. */
  hubToken?: pulumi.Output<string>;
}

/** The stack's config as the engine hands it to the program, validated. */
export function loadStackConfig(): LoadedConfig {
  const config = parseStackConfig(pulumi.runtime.allConfig(), SECRET_KEYS);
  const key = `${CONFIG_NAMESPACE}:hfToken`;
  const raw = pulumi.runtime.allConfig()[key];
  if (raw === undefined || raw === "") return { config };
  if (!isConfigSecret(key)) {
    throw new ConfigError(`${key}: the hub token is stored in plain text; store it as a secret: pulumi config set --secret ${key} <token>`);
  }
  return { config, hubToken: new pulumi.Config(CONFIG_NAMESPACE).requireSecret("hfToken") };
}

/** The SDK's own check (exported at run time, left out of its typings). */
function isConfigSecret(key: string): boolean {
  const check = (runtimeConfig as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
  if (typeof check !== "function") throw new Error("this @pulumi/pulumi version has no isConfigSecret; pin the version in package.json");
  return check(key);
}
