/**
 * consumer-after-downloader (stack): a consumer starts only after the downloader of its cache has
 * finished: a resource dependency on it, the init-container order of the pod, or an ECS
 * dependsOn with condition SUCCESS.
 */
import { containerWhere, workloadWhere } from "../lib/hints";
import { defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import type { CacheUse, StackModel } from "../lib/stack";
import { UNKNOWN } from "../lib/values";

export const consumerAfterDownloader = defineRule({
  name: "consumer-after-downloader",
  description:
    "Each model-cache consumer depends on the downloader of its cache, so it starts only after the download finished: a resource " +
    "dependency, the init-container order of its pod, or an ECS dependsOn with condition SUCCESS.",
  severity: "high",
  remediationSteps:
    "Docker and Kubernetes: give the consumer the Pulumi resource option dependsOn: [downloader] (the Docker downloader container with " +
    "attach: true, the Kubernetes Job), or run the downloader as an earlier init container of the same pod. ECS: put the downloader in " +
    'the consumer\'s task definition and add dependsOn: [{containerName: "<downloader>", condition: "SUCCESS"}] to each consumer container ' +
    "(COMPLETE also passes when the download failed).",
  checkStack(stack) {
    const out: { urn: string; finding: Finding }[] = [];
    for (const group of stack.groups.values()) {
      if (group.downloaders.length === 0) continue;
      for (const use of group.consumers) {
        const results = group.downloaders.map((d) => ordered(stack, use, d));
        if (results.some((r) => r === true)) continue;
        const specific = results.filter((r): r is Finding => typeof r !== "boolean");
        const finding =
          specific.find((r) => r.level === "advisory") ??
          specific[0] ??
          mandatory(
            `${workloadWhere(use.view.workload)} may start before the downloader of ${group.label} (${group.downloaders.map((d) => containerWhere(d.view, d.cv)).join(", ")}) ` +
              "finished; give it the resource option dependsOn: [the downloader]",
          );
        out.push({ urn: use.view.workload.urn, finding });
      }
    }
    return out;
  },
});

/** true when ordered; false when not; a finding when it cannot tell or the order is wrong in a specific way. */
function ordered(stack: StackModel, use: CacheUse, d: CacheUse): boolean | Finding {
  const consumer = use.cv.container;
  const downloader = d.cv.container;
  if (use.view.workload.urn === d.view.workload.urn) {
    if (use.view.workload.family === "kubernetes") {
      if (downloader.init && (!consumer.init || consumer.index > downloader.index)) return true;
      return mandatory(
        `${containerWhere(use.view, use.cv)} runs before or beside the downloader ${containerWhere(d.view, d.cv)} of the same pod; ` +
          "make the downloader an init container that comes before every container reading the cache",
      );
    }
    if (use.view.workload.family === "ecs") {
      const deps = consumer.dependsOn;
      if (deps === UNKNOWN) return previewUnknown(`dependsOn of ${containerWhere(use.view, use.cv)}`);
      const dep = deps?.find((x) => x.containerName === downloader.name);
      if (dep?.condition === UNKNOWN) return previewUnknown(`dependsOn of ${containerWhere(use.view, use.cv)}`);
      if (dep?.condition === "SUCCESS") return true;
      return mandatory(
        `${containerWhere(use.view, use.cv)} ${dep ? `depends on the downloader "${downloader.name}" with condition ${dep.condition}` : `does not depend on the downloader "${downloader.name}"`}; ` +
          `add dependsOn: [{containerName: "${downloader.name}", condition: "SUCCESS"}] (only SUCCESS waits for a download that succeeded)`,
      );
    }
    return false;
  }
  if (use.view.workload.family === "ecs" || d.view.workload.family === "ecs") {
    return mandatory(
      `${containerWhere(use.view, use.cv)} reads a cache that ${containerWhere(d.view, d.cv)} downloads in another task: ECS orders containers only ` +
        'within a task; put the downloader in the consumer\'s task definition (essential: false) and dependsOn it with condition "SUCCESS"',
    );
  }
  return stack.dependsOn(use.view.workload.urn, d.view.workload.urn);
}
