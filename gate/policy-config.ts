/**
 * Policy pack config as the Pulumi CLI handles it (pkg/resource/analyzer/config.go,
 * ReconcilePolicyPackConfig): what GetAnalyzerInfo describes, how the schema defaults, the pack's
 * initial config and a `--policy-pack-config` file combine into what Configure receives, and the
 * validation errors the CLI would refuse. No gRPC here (analyzer-client.ts speaks the protocol).
 */

export type EnforcementLevel = "advisory" | "mandatory" | "remediate" | "disabled";
export type Severity = "" | "low" | "medium" | "high" | "critical";

export interface PolicyInfo {
  name: string;
  displayName: string;
  description: string;
  enforcementLevel: EnforcementLevel;
  severity: Severity;
  remediationSteps: string;
  type: "resource" | "stack" | "unknown";
  configSchema?: { properties: Record<string, Record<string, unknown>>; required: string[] };
}

export interface AnalyzerInfo {
  name: string;
  version: string;
  description: string;
  supportsConfig: boolean;
  policies: PolicyInfo[];
  initialConfig: Record<string, PolicyConfig>;
}

export interface PolicyConfig {
  enforcementLevel?: EnforcementLevel;
  properties?: Record<string, unknown>;
}

export const LEVEL_NAMES: EnforcementLevel[] = ["advisory", "mandatory", "disabled", "remediate"];

/**
 * The config the CLI hands Configure: each policy's enforcement level and the `default` of every
 * property of its configSchema, then the pack's initial config, then the user's config
 * (`--policy-pack-config` file: `{"<policy>": "<level>" | {"enforcementLevel"?, ...properties}}`,
 * `all` setting every level). Returns the config and the validation errors the CLI would refuse.
 */
export function reconcileConfig(
  info: AnalyzerInfo,
  userConfig: Record<string, unknown> = {},
): { config: Record<string, PolicyConfig>; errors: string[] } {
  const result: Record<string, PolicyConfig> = {};
  for (const p of info.policies) {
    const properties: Record<string, unknown> = {};
    for (const [k, schema] of Object.entries(p.configSchema?.properties ?? {})) {
      if ("default" in schema) properties[k] = schema["default"];
    }
    result[p.name] = { enforcementLevel: p.enforcementLevel, properties };
  }
  const errors: string[] = [];
  const apply = (config: Record<string, PolicyConfig>) => {
    const all = config["all"]?.enforcementLevel;
    if (all) for (const c of Object.values(result)) c.enforcementLevel = all;
    for (const [name, given] of Object.entries(config)) {
      if (name === "all") continue;
      const target = result[name] ?? { properties: {} };
      result[name] = target;
      if (given.enforcementLevel) target.enforcementLevel = given.enforcementLevel;
      target.properties = { ...target.properties, ...(given.properties ?? {}) };
    }
  };
  apply(info.initialConfig);
  apply(normalizeUserConfig(userConfig, errors));
  for (const p of info.policies) errors.push(...validate(p, result[p.name]?.properties ?? {}));
  return { config: result, errors };
}

function normalizeUserConfig(config: Record<string, unknown>, errors: string[]): Record<string, PolicyConfig> {
  const out: Record<string, PolicyConfig> = {};
  for (const [name, value] of Object.entries(config)) {
    if (typeof value === "string") {
      if (isLevel(value)) out[name] = { enforcementLevel: value };
      else errors.push(`${name}: "${value}" is not a valid enforcement level`);
    } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const { enforcementLevel, ...properties } = value as Record<string, unknown>;
      if (enforcementLevel !== undefined && !isLevel(enforcementLevel))
        errors.push(`${name}: ${JSON.stringify(enforcementLevel)} is not a valid enforcement level`);
      out[name] = { ...(isLevel(enforcementLevel) ? { enforcementLevel } : {}), properties };
    } else errors.push(`${name}: must be an enforcement level or an object`);
  }
  return out;
}

/** The checks of the config's JSON schema that the pack's schemas use (type, enum, bounds, required). */
function validate(p: PolicyInfo, props: Record<string, unknown>): string[] {
  const errors: string[] = [];
  for (const key of p.configSchema?.required ?? []) if (!(key in props)) errors.push(`${p.name}: ${key} is required`);
  for (const [key, value] of Object.entries(props)) {
    const schema = p.configSchema?.properties[key];
    if (!schema) continue;
    const type = schema["type"];
    const ok =
      type === undefined ||
      (type === "integer" && Number.isInteger(value)) ||
      (type === "number" && typeof value === "number") ||
      (type === "string" && typeof value === "string") ||
      (type === "boolean" && typeof value === "boolean") ||
      (type === "array" && Array.isArray(value)) ||
      (type === "object" && value !== null && typeof value === "object" && !Array.isArray(value));
    if (!ok) errors.push(`${p.name}: ${key}: Invalid type. Expected: ${String(type)}, given: ${JSON.stringify(value)}`);
    const values = schema["enum"];
    if (Array.isArray(values) && !values.includes(value)) errors.push(`${p.name}: ${key} must be one of ${values.join(", ")}`);
    if (typeof value === "number") {
      if (typeof schema["minimum"] === "number" && value < schema["minimum"])
        errors.push(`${p.name}: ${key} must be ≥ ${schema["minimum"]}`);
      if (typeof schema["maximum"] === "number" && value > schema["maximum"])
        errors.push(`${p.name}: ${key} must be ≤ ${schema["maximum"]}`);
    }
  }
  return errors;
}

function isLevel(value: unknown): value is EnforcementLevel {
  return typeof value === "string" && (LEVEL_NAMES as string[]).includes(value);
}
