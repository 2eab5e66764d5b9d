/**
 * One policy of the pack, called in this process the way `@pulumi/policy`'s server calls it
 * (server.js: validateResource per resource, then validateStack with every resource, its parent
 * and dependencies; each report either `(message, urn)` or `{message, urn, enforcementLevel}`),
 * as pulumi/compliance-policies tests its policies. The protocol-level suites next to this
 * directory drive the whole pack through the CLI's Analyzer protocol instead.
 */
import type { PackPolicy } from "../../../policies/lib/rule";
import type { Resource } from "./fixtures";

export interface Reported {
  level: "mandatory" | "advisory";
  message: string;
  urn: string | undefined;
  /** validateResource (the resource check) or validateStack. */
  from: "resource" | "stack";
}

export interface PolicyResult {
  reported: Reported[];
  mandatory: string[];
  advisory: string[];
}

function reporter(into: Reported[], from: Reported["from"]) {
  return (message: unknown, urn?: string) => {
    if (message !== null && typeof message === "object") {
      const v = message as { message: string; urn?: string; enforcementLevel?: string };
      into.push({ level: v.enforcementLevel === "advisory" ? "advisory" : "mandatory", message: v.message, urn: v.urn, from });
    } else into.push({ level: "mandatory", message: String(message), urn, from });
  };
}

/** Run one policy on a stack: every resource's check, then the stack's. */
export async function runPolicy(policy: PackPolicy, resources: Resource[], config: Record<string, unknown> = {}): Promise<PolicyResult> {
  const reported: Reported[] = [];
  const getConfig = () => config;
  const common = {
    stackTags: new Map<string, string>(),
    getConfig,
    notApplicable: (): never => {
      throw new Error("notApplicable");
    },
  };
  const validate = policy.validateResource as unknown as ((args: unknown, report: unknown) => void | Promise<void>) | undefined;
  for (const r of resources) {
    await validate?.(
      { ...common, type: r.type, urn: r.urn, name: r.name, props: r.props, opts: {}, isType: () => false, asType: () => undefined },
      reporter(reported, "resource"),
    );
  }
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const policyResources = resources.map((r) => ({
    type: r.type,
    urn: r.urn,
    name: r.name,
    props: r.props,
    opts: {},
    ...(r.parent && byUrn.get(r.parent) ? { parent: { urn: r.parent } } : {}),
    dependencies: (r.dependencies ?? []).map((urn) => ({ urn })),
    propertyDependencies: Object.fromEntries(
      Object.entries(r.propertyDependencies ?? {}).map(([k, urns]) => [k, urns.map((urn) => ({ urn }))]),
    ),
  }));
  await (policy.validateStack as unknown as (args: unknown, report: unknown) => void | Promise<void>)(
    { ...common, resources: policyResources },
    reporter(reported, "stack"),
  );
  const messagesAt = (level: Reported["level"]) => reported.filter((r) => r.level === level).map((r) => r.message);
  return { reported, mandatory: messagesAt("mandatory"), advisory: messagesAt("advisory") };
}
