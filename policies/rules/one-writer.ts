/**
 * one-writer (stack): exactly one downloader writes a given cache, and it runs once at a time.
 * Read-write mounts by anything that is not a downloader are consumer-read-only-mount's to report.
 */
import { containerWhere, workloadWhere } from "../lib/hints";
import { advisory, defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import type { CacheGroup, CacheUse } from "../lib/stack";
import { UNKNOWN } from "../lib/values";

export const oneWriter = defineRule({
  name: "one-writer",
  description:
    "Exactly one downloader (model-cache.io/role=downloader) writes a given model cache, one copy of it at a time; nothing else " +
    "mounts the cache read-write (those mounts are reported by consumer-read-only-mount).",
  severity: "critical",
  remediationSteps:
    "Run one downloader per cache: one Docker container, one Kubernetes Job with parallelism 1 (not an init container of a replicated " +
    "Deployment), one non-essential ECS container. Label it model-cache.io/role=downloader and mount the cache read-write there only. " +
    "Remove any second downloader of the same cache, and give every cache a downloader.",
  checkStack(stack) {
    const out: { urn: string; finding: Finding }[] = [];
    for (const group of stack.groups.values()) out.push(...checkGroup(group));
    return out;
  },
});

function checkGroup(group: CacheGroup): { urn: string; finding: Finding }[] {
  const out: { urn: string; finding: Finding }[] = [];
  const anchor = group.resources[0]?.resource.urn ?? group.consumers[0]?.view.workload.urn ?? group.downloaders[0]?.view.workload.urn ?? "";
  const writes = (u: CacheUse) => u.mounts.some((m) => m.readOnly === false);
  const writers = byWorkload(group.downloaders.filter(writes));
  if (writers.size === 0) {
    if (group.downloaders.some((u) => u.mounts.some((m) => m.readOnly === UNKNOWN))) {
      out.push({ urn: anchor, finding: previewUnknown(`the downloader mounts of ${group.label}`) });
    } else if (group.downloaders.length > 0) {
      const ds = group.downloaders.map((d) => containerWhere(d.view, d.cv)).join(", ");
      out.push({
        urn: anchor,
        finding: mandatory(
          `no downloader writes ${group.label}: ${ds} mount${group.downloaders.length === 1 ? "s" : ""} it read-only; mount it read-write in the downloader`,
        ),
      });
    } else {
      const readers = [...byWorkload(group.consumers).values()].map((u) => workloadWhere(u.view.workload));
      const who = readers.length > 0 ? `; ${readers.join(", ")} read${readers.length === 1 ? "s" : ""} it` : "";
      out.push({
        urn: anchor,
        finding: mandatory(
          `no downloader writes ${group.label}${who}; run one downloader labelled model-cache.io/role=downloader that mounts it read-write`,
        ),
      });
    }
    return out;
  }
  if (writers.size > 1) {
    const names = [...writers.values()].map((u) => workloadWhere(u.view.workload)).join(", ");
    for (const u of writers.values()) {
      out.push({
        urn: u.view.workload.urn,
        finding: mandatory(`${group.label} has ${writers.size} downloaders writing it (${names}); exactly one may write it: keep one`),
      });
    }
  }
  for (const u of writers.values()) {
    const copies = u.view.workload.replicas;
    if (copies === UNKNOWN)
      out.push({ urn: u.view.workload.urn, finding: previewUnknown(`the replica count of ${workloadWhere(u.view.workload)}`) });
    else if (copies === "per-node" || (typeof copies === "number" && copies > 1)) {
      const n = copies === "per-node" ? "one copy per node" : `${copies} copies at once`;
      out.push({
        urn: u.view.workload.urn,
        finding: mandatory(
          `${workloadWhere(u.view.workload)} writes ${group.label} and runs ${n}; run the downloader once (replicas/parallelism 1)`,
        ),
      });
    }
  }
  const readOnlyDownloaders = group.downloaders.filter((u) => !writes(u) && !writers.has(u.view.workload.urn));
  for (const u of readOnlyDownloaders) {
    out.push({
      urn: u.view.workload.urn,
      finding: advisory(`${containerWhere(u.view, u.cv)} is labelled a downloader of ${group.label} but mounts it read-only`),
    });
  }
  return out;
}

function byWorkload(uses: CacheUse[]): Map<string, CacheUse> {
  const out = new Map<string, CacheUse>();
  for (const u of uses) if (!out.has(u.view.workload.urn)) out.set(u.view.workload.urn, u);
  return out;
}
