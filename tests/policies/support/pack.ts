/**
 * One policy pack process per test file, started exactly as the Pulumi CLI starts it
 * (gate/analyzer-client.ts), and the helpers the tests assert with.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { type AnalyzerResourceInput, type Diagnostic, PolicyPackProcess } from "../../../gate/analyzer-client";
import { reconcileConfig } from "../../../gate/policy-config";
import { POLICY_PACK_DIR } from "../../../gate/policy-run";

export interface PackHandle {
  readonly pack: PolicyPackProcess;
}

/** Start the pack before the file's tests (configured with the schema defaults unless `configure: false`). */
export function usePack(options: { configure?: boolean; userConfig?: Record<string, unknown> } = {}): PackHandle {
  const handle = {} as { pack: PolicyPackProcess };
  beforeAll(async () => {
    handle.pack = await PolicyPackProcess.start({ packDir: POLICY_PACK_DIR, stack: "test", project: "model-cache", dryRun: true });
    if (options.configure !== false) await configure(handle.pack, options.userConfig ?? {});
  }, 180_000);
  afterAll(async () => {
    await handle.pack?.stop();
  });
  return handle;
}

/** Configure as the CLI does: schema defaults, then `userConfig` (a --policy-pack-config file's content). */
export async function configure(pack: PolicyPackProcess, userConfig: Record<string, unknown>): Promise<void> {
  const { config, errors } = reconcileConfig(await pack.getAnalyzerInfo(), userConfig);
  if (errors.length > 0) throw new Error(errors.join("\n"));
  await pack.configure(config);
}

export interface CheckResult {
  /** Diagnostics from Analyze (each resource) and AnalyzeStack. */
  diagnostics: Diagnostic[];
  /** Names of the policies with a mandatory diagnostic, sorted, unique. */
  mandatory: string[];
  /** Names of the policies with an advisory diagnostic, sorted, unique. */
  advisory: string[];
}

/** What `pulumi preview` would report for these resources: Analyze each, then AnalyzeStack. */
export async function checkStack(pack: PolicyPackProcess, resources: AnalyzerResourceInput[]): Promise<CheckResult> {
  const perResource = await Promise.all(resources.map((r) => pack.analyze(r)));
  const stack = await pack.analyzeStack(resources);
  return summarize([...perResource.flatMap((r) => r.diagnostics), ...stack.diagnostics]);
}

/** Analyze one resource alone. */
export async function checkResource(pack: PolicyPackProcess, resource: AnalyzerResourceInput): Promise<CheckResult> {
  return summarize((await pack.analyze(resource)).diagnostics);
}

export function summarize(diagnostics: Diagnostic[]): CheckResult {
  const names = (level: string) => [...new Set(diagnostics.filter((d) => d.enforcementLevel === level).map((d) => d.policyName))].sort();
  return { diagnostics, mandatory: names("mandatory"), advisory: names("advisory") };
}

/** Messages of one policy's diagnostics (for asserting what a message names). */
export function messages(result: CheckResult, policy: string, level?: string): string[] {
  return result.diagnostics.filter((d) => d.policyName === policy && (!level || d.enforcementLevel === level)).map((d) => d.message);
}

/**
 * Assertions on a whole stack for one pack: `expectOnly` — exactly that policy is mandatory;
 * `expectPass` — nothing is. A failure prints every diagnostic.
 */
export function stackExpectations(h: PackHandle) {
  const explain = (result: CheckResult) =>
    JSON.stringify(
      result.diagnostics.map((d) => [d.policyName, d.message]),
      null,
      1,
    );
  return {
    async expectOnly(resources: AnalyzerResourceInput[], policy: string): Promise<CheckResult> {
      const result = await checkStack(h.pack, resources);
      expect(result.mandatory, explain(result)).toEqual([policy]);
      return result;
    },
    async expectPass(resources: AnalyzerResourceInput[]): Promise<CheckResult> {
      const result = await checkStack(h.pack, resources);
      expect(result.mandatory, explain(result)).toEqual([]);
      return result;
    },
  };
}
