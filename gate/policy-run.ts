/**
 * One policy run, as `pulumi preview --policy-pack policies` would do it: the program's resource
 * graph (from `runStackUnderMocks`) analysed by a running pack: ConfigureStack, GetAnalyzerInfo,
 * Configure (schema defaults + the user's config), Analyze per resource, AnalyzeStack at the end.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { AnalyzerResourceInput, Diagnostic, PolicyPackProcess } from "./analyzer-client";
import { type AnalyzerInfo, type PolicyConfig, reconcileConfig } from "./policy-config";
import type { RegisteredResource } from "./run-under-mocks";
import { REPO_ROOT } from "./stack-file";

export const POLICY_PACK_DIR = path.join(REPO_ROOT, "policies");

export interface PolicyRunResult {
  info: AnalyzerInfo;
  config: Record<string, PolicyConfig>;
  /** Diagnostics of Analyze (per resource) then AnalyzeStack, as the CLI reports them. */
  diagnostics: Diagnostic[];
  resourceDiagnostics: Diagnostic[];
  stackDiagnostics: Diagnostic[];
}

/** A registered resource as the engine describes it to analyzers. */
export function toAnalyzerResource(r: RegisteredResource): AnalyzerResourceInput {
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    props: r.props,
    secretProps: r.secretProps,
    parent: r.parent,
    dependencies: r.dependencies,
    propertyDependencies: r.propertyDependencies,
  };
}

/**
 * The policy pack config file a stack is checked with: `policies/config/<stack>.json` when it
 * exists (the same file a PR's `pulumi preview --policy-pack-config` uses), else none.
 */
export function defaultPolicyConfigFile(stack: string): string | undefined {
  const file = path.join(POLICY_PACK_DIR, "config", `${stack}.json`);
  return existsSync(file) ? file : undefined;
}

export function readPolicyConfigFile(file: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`${file}: a policy pack config is a JSON object of policy name → level or settings`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Configure the pack as the CLI would, then analyze the resources. `userConfig` is the content of
 * a `--policy-pack-config` file; `configure: false` skips Configure (a CLI with no config to send).
 */
export async function analyzeResources(
  pack: PolicyPackProcess,
  resources: AnalyzerResourceInput[],
  options: { userConfig?: Record<string, unknown>; configure?: boolean } = {},
): Promise<PolicyRunResult> {
  const info = await pack.getAnalyzerInfo();
  const { config, errors } = reconcileConfig(info, options.userConfig ?? {});
  if (errors.length > 0) throw new Error(`invalid policy pack config:\n${errors.join("\n")}`);
  if (options.configure !== false) await pack.configure(config);
  // The engine analyzes resources as it plans them, several at a time.
  const perResource = await Promise.all(resources.map((r) => pack.analyze(r)));
  const resourceDiagnostics = perResource.flatMap((r) => r.diagnostics);
  const stackDiagnostics = (await pack.analyzeStack(resources)).diagnostics;
  return { info, config, diagnostics: [...resourceDiagnostics, ...stackDiagnostics], resourceDiagnostics, stackDiagnostics };
}
