/**
 * consumer-read-only-mount: only the downloader writes the cache; every other mount of it is
 * read-only, and so is the claim a consumer pod mounts.
 */
import { containerWhere, describeMount, readOnlyFix } from "../lib/hints";
import { defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import { UNKNOWN } from "../lib/values";
import type { WorkloadView } from "../lib/view";

export const consumerReadOnlyMount = defineRule({
  name: "consumer-read-only-mount",
  description:
    "Every mount of the model cache by anything but its downloader is read-only (Docker readOnly, ECS mountPoints[].readOnly, Kubernetes " +
    "volumeMounts[].readOnly in every container and init container, and the PersistentVolumeClaim source's readOnly).",
  severity: "critical",
  remediationSteps:
    "Set readOnly: true on every mount of the cache outside the downloader: Docker volumes[]/mounts[], ECS mountPoints[], Kubernetes " +
    "volumeMounts[] of every container and init container (subPath mounts included) and the pod volume's persistentVolumeClaim.readOnly. " +
    "A mount that leaves readOnly unset is read-write. Only the downloader (model-cache.io/role=downloader) may mount the cache read-write.",
  checkWorkload(view) {
    const findings: Finding[] = [];
    for (const cv of view.containers) {
      if (cv.role === "downloader") continue;
      for (const m of cv.cacheMounts) {
        if (m.readOnly === UNKNOWN) findings.push(previewUnknown(`readOnly of ${describeMount(m)} in ${containerWhere(view, cv)}`));
        else if (!m.readOnly) {
          findings.push(
            mandatory(
              `${containerWhere(view, cv)} mounts the model cache read-write (${describeMount(m)}) but is not its downloader; ${readOnlyFix(view.workload.family)}`,
            ),
          );
        }
      }
    }
    findings.push(...claimSources(view));
    return findings;
  },
});

/** A consumer pod's claim of the cache must be read-only at the source too. */
function claimSources(view: WorkloadView): Finding[] {
  if (view.workload.family !== "kubernetes") return [];
  const findings: Finding[] = [];
  for (const name of view.cacheVolumes) {
    const volume = view.workload.volumes.get(name);
    if (volume?.kind !== "storage" || typeof volume.source !== "object" || volume.source.kind !== "pvc") continue;
    const users = view.containers.filter((cv) => cv.cacheMounts.some((m) => m.volume === name));
    // A pod whose own init container downloads needs the claim writable; its other mounts are checked above.
    if (users.length === 0 || users.some((cv) => cv.role === "downloader")) continue;
    if (volume.sourceReadOnly === UNKNOWN) findings.push(previewUnknown(`persistentVolumeClaim.readOnly of ${volume.where}`));
    else if (volume.sourceReadOnly !== true) {
      findings.push(
        mandatory(
          `${view.workload.kind} "${view.workload.name}" mounts the model cache through ${volume.where} without persistentVolumeClaim.readOnly: true; ` +
            "set readOnly: true on the pod volume's persistentVolumeClaim",
        ),
      );
    }
  }
  return findings;
}
