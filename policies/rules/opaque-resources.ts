/**
 * opaque-resources (stack): a resource whose objects the engine never shows the pack — a Helm
 * `Release` installs what its chart renders from inside the provider, outside the resource graph —
 * gets an advisory that the cache contract was not checked inside it. (Helm `Chart`, `ConfigFile`,
 * `ConfigGroup` and kustomize `Directory` register every object they render as a resource of the
 * stack, so the pack checks those objects like any other: docs/policies.md.)
 */
import { K8S } from "../lib/kubernetes";
import { advisory, defineRule, type Finding } from "../lib/rule";
import { at, str } from "../lib/values";

const OPAQUE: Record<string, string> = {
  [K8S.helmRelease]: "a Helm Release renders and installs its chart inside the provider; none of its objects reach the pack",
};

export const opaqueResources = defineRule({
  name: "opaque-resources",
  description:
    "Advisory: a resource whose contents the pack cannot see (a Helm Release) may run workloads that mount the model cache; the cache " +
    "contract was not checked inside it.",
  severity: "low",
  remediationSteps:
    "Deploy the chart with kubernetes.helm.v4.Chart (or helm.v3.Chart), which registers every object it renders as a resource the pack " +
    "checks, or check the chart's rendered objects (helm template) yourself against the contract.",
  checkStack(stack) {
    const out: { urn: string; finding: Finding }[] = [];
    for (const res of stack.resources) {
      const why = OPAQUE[res.type];
      if (!why) continue;
      const chart = str(at(res.props, "chart"));
      const what = `${res.type.split(":").pop()} "${res.name}"${typeof chart === "string" ? ` (chart ${chart})` : ""}`;
      out.push({ urn: res.urn, finding: advisory(`the model-cache contract was not checked inside ${what}: ${why}`) });
    }
    return out;
  },
});
