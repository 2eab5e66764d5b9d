/**
 * How a rule becomes a policy of the pack.
 *
 * A rule checks one workload at a time (`checkWorkload`) and, where it needs the whole stack,
 * the stack (`checkStack`). `defineRule` turns it into one policy that the CLI drives twice:
 *
 * - `validateResource` (the CLI's `Analyze`, once per resource): the workload as written, when it
 *   carries a contract role label. Violations show next to the resource as soon as it is planned.
 * - `validateStack` (the CLI's `AnalyzeStack`, once at the end): the same check with what only the
 *   stack knows (a volume labelled as a cache elsewhere, the downloader of the cache), reporting
 *   only what `validateResource` did not already report, plus the rule's stack-wide checks.
 *
 * `@pulumi/policy` (server.js: `isResourcePolicy`/`isStackPolicy` are independent tests, so
 * `Analyze` runs `validateResource` and `AnalyzeStack` runs `validateStack` of the same policy)
 * serves a policy that has both; `tests/policies` pins that behaviour.
 *
 * A rule never throws into the SDK (which would fail the whole preview): an error becomes a
 * mandatory diagnostic naming the rule and the resource, so a broken rule fails closed. Findings
 * are mandatory (at the policy's configured level: an organization may lower a policy to advisory
 * or disable it) or advisory (always advisory).
 */
import type { ReportViolation, ResourceValidationPolicy, Severity, StackValidationPolicy } from "@pulumi/policy";
import { z } from "zod";
import { advisory, type Finding, mandatory, previewUnknown } from "./finding";
import { buildStack, type PolicyResourceLike, type StackModel, type StackWorkload, toStackResource, workloadsOf } from "./stack";
import { materialize } from "./values";
import { buildView, resourceView, type WorkloadView } from "./view";
import { cacheVolumesByEnv } from "./workload";

export { advisory, type Finding, type Level, mandatory, previewUnknown } from "./finding";

/** What a rule's workload check knows beyond the workload, in the stack half. */
export interface StackContext {
  stack: StackModel;
  self: StackWorkload;
}

// biome-ignore lint/suspicious/noExplicitAny: a rule may have any zod object as its config.
export interface RuleSpec<S extends z.ZodObject<any> = z.ZodObject<Record<string, never>>> {
  name: string;
  description: string;
  severity: Severity;
  remediationSteps: string;
  /** The rule's settings; every field has a default (the pack works with no config at all). */
  config?: S;
  checkWorkload?(view: WorkloadView, config: z.output<S>, context: StackContext | undefined): Finding[];
  checkStack?(stack: StackModel, config: z.output<S>): { urn: string; finding: Finding }[];
}

export type PackPolicy = ResourceValidationPolicy & Pick<StackValidationPolicy, "validateStack">;

/** The report function's object form (server.js `makeReportViolationFun`), which takes a level. */
type ReportObject = (violation: { message: string; urn?: string; enforcementLevel?: "advisory" }) => void;

// biome-ignore lint/suspicious/noExplicitAny: see RuleSpec.
export function defineRule<S extends z.ZodObject<any>>(spec: RuleSpec<S>): PackPolicy {
  const schema = (spec.config ?? z.object({})) as S;
  const configSchema = jsonSchemaOf(schema);

  const emit = (report: ReportViolation, urn: string, finding: Finding): void => {
    if (finding.level === "mandatory") report(finding.message, urn);
    else (report as unknown as ReportObject)({ message: `${spec.description}\n${finding.message}`, urn, enforcementLevel: "advisory" });
  };
  const guarded = (report: ReportViolation, urn: string, what: string, work: () => void): void => {
    try {
      work();
    } catch (err) {
      const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
      // Fail closed: a rule that could not run let nothing through.
      emit(
        report,
        urn,
        mandatory(
          `the ${spec.name} policy failed while checking ${what}, so it checked nothing there and cannot let it pass. ` +
            `This is a bug in the pack; please report it:\n${detail}`,
        ),
      );
    }
  };
  const readConfig = (raw: unknown, report: ReportViolation, urn: string): z.output<S> => {
    const parsed = schema.safeParse(raw ?? {});
    if (parsed.success) return parsed.data;
    emit(
      report,
      urn,
      advisory(
        `the policy's config is invalid (${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}); using defaults`,
      ),
    );
    return schema.parse({});
  };

  const policy: PackPolicy = {
    name: spec.name,
    description: spec.description,
    severity: spec.severity,
    remediationSteps: spec.remediationSteps,
    enforcementLevel: "mandatory",
    ...(configSchema ? { configSchema } : {}),
    // Stack-only rules (no workload check) are stack policies: the CLI lists them as such.
    ...(spec.checkWorkload
      ? {
          validateResource: (args, report) => {
            guarded(report, args.urn, `resource ${args.urn}`, () => {
              const { props, cut } = materialize(args.props);
              const workloads = workloadsOf({ urn: args.urn, type: args.type, name: args.name, props, cut, deps: [] });
              // A cut workload may have lost the very labels that put it in scope: it is checked as far as it was read.
              const views = workloads.flatMap((w) => resourceView(w) ?? (cut ? [buildView(w, cacheVolumesByEnv(w))] : []));
              if (views.length === 0) return;
              const config = readConfig(args.getConfig(), report, args.urn);
              for (const view of views) {
                for (const finding of dedupe(workloadFindings(spec, view, config, undefined))) emit(report, args.urn, finding);
              }
            });
          },
        }
      : {}),
    validateStack: (args, report) => {
      const anchor = args.resources[0]?.urn ?? "";
      guarded(report, anchor, "the stack", () => {
        const stack = buildStack(args.resources.map((r) => toStackResource(r as unknown as PolicyResourceLike)));
        const config = readConfig(args.getConfig(), report, anchor);
        if (spec.checkWorkload) {
          for (const self of stack.workloads) {
            guarded(report, self.resource.urn, `${self.view.workload.kind} "${self.view.workload.name}" (${self.resource.urn})`, () => {
              // Report only what the resource check did not already report (and, for a patch, what the
              // workload it patches does not report itself).
              const seen = new Set(
                [
                  ...(self.resourceView ? workloadFindings(spec, self.resourceView, config, undefined) : []),
                  ...(self.baseline ? workloadFindings(spec, self.baseline, config, { stack, self }) : []),
                ].map((f) => `${f.level}\n${f.message}`),
              );
              for (const finding of dedupe(workloadFindings(spec, self.view, config, { stack, self }))) {
                if (!seen.has(`${finding.level}\n${finding.message}`)) emit(report, self.resource.urn, finding);
              }
            });
          }
        }
        if (spec.checkStack) for (const { urn, finding } of spec.checkStack(stack, config)) emit(report, urn, finding);
      });
    },
  };
  return policy;
}

/** The rule's findings, plus what the reader could not read of a workload that is in scope. */
// biome-ignore lint/suspicious/noExplicitAny: see RuleSpec.
function workloadFindings<S extends z.ZodObject<any>>(
  spec: RuleSpec<S>,
  view: WorkloadView,
  config: z.output<S>,
  context: StackContext | undefined,
): Finding[] {
  const findings = spec.checkWorkload?.(view, config, context) ?? [];
  const inScope = view.containers.some((cv) => cv.role !== "none") || context === undefined;
  if (!inScope) return findings;
  const what = `${view.workload.kind} "${view.workload.name}"`;
  const unreadable = view.workload.problems.map((problem) =>
    problem.kind === "preview-unknown"
      ? previewUnknown(`${problem.what} of ${what}`)
      : mandatory(`cannot check ${what}: ${problem.what}; fix it so the pack can read it (the contract cannot be verified otherwise)`),
  );
  return [...findings, ...unreadable];
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.level}\n${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The config's JSON schema (draft-07, defaults included), as the CLI reads and validates it. */
// biome-ignore lint/suspicious/noExplicitAny: see RuleSpec.
function jsonSchemaOf(schema: z.ZodObject<any>): PackPolicy["configSchema"] {
  if (Object.keys(schema.shape).length === 0) return undefined;
  const json = z.toJSONSchema(schema, { target: "draft-7", io: "input" }) as { properties?: Record<string, object> };
  return { properties: (json.properties ?? {}) as NonNullable<PackPolicy["configSchema"]>["properties"] };
}
