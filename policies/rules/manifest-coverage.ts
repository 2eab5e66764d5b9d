/**
 * manifest-coverage (stack): a consumer serves exactly what its cache's downloader downloaded:
 * its `model-cache.io/manifest` label equals the downloader's, and every label is the label form
 * (the first 32 hex digits) of the digest of the manifest it names.
 */
import { LABELS, MANIFEST_ENV, manifestLabelValue } from "../lib/core";
import { containerWhere } from "../lib/hints";
import { readManifest } from "../lib/manifest";
import { defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import type { CacheUse } from "../lib/stack";
import { UNKNOWN } from "../lib/values";
import { containerLabels, labelOf } from "../lib/workload";

export const manifestCoverage = defineRule({
  name: "manifest-coverage",
  description:
    "A model-cache consumer's manifest digest label (model-cache.io/manifest) equals the one of its cache's downloader, and each " +
    "label is the sha256 of the canonical manifest it stands for.",
  severity: "high",
  remediationSteps:
    "Label the downloader and every consumer of a cache with model-cache.io/manifest = the first 32 hex digits of the digest of the " +
    "one manifest the program built (the manifestLabel stack output; the whole digest goes in the model-cache.io/manifest-sha256 " +
    "annotation); the components do this. A consumer labelled with another digest serves models the " +
    "downloader did not fetch: deploy them from the same stack config.",
  checkStack(stack) {
    const out: { urn: string; finding: Finding }[] = [];
    const add = (urn: string, finding: Finding | undefined) => {
      if (finding) out.push({ urn, finding });
    };
    for (const group of stack.groups.values()) {
      const digests = new Set<string>();
      for (const d of unique(group.downloaders)) {
        const where = containerWhere(d.view, d.cv);
        const label = labelOf(containerLabels(d.view.workload, d.cv.container), LABELS.manifest);
        const reading = readManifest(d.cv.container);
        if (label === UNKNOWN) add(d.view.workload.urn, previewUnknown(`the ${LABELS.manifest} label of ${where}`));
        else if (label === undefined) {
          const digest = reading.state === "ok" ? ` ${manifestLabelValue(reading.digest)}` : "";
          add(
            d.view.workload.urn,
            mandatory(`the downloader ${where} has no ${LABELS.manifest} label; label it with its manifest's digest${digest}`),
          );
        } else {
          digests.add(label);
          if (reading.state === "ok" && manifestLabelValue(reading.digest) !== label) {
            add(
              d.view.workload.urn,
              mandatory(
                `the downloader ${where} is labelled ${LABELS.manifest}=${label} but its ${MANIFEST_ENV} hashes to ${reading.digest} (label ${manifestLabelValue(reading.digest)})`,
              ),
            );
          }
        }
      }
      for (const use of unique(group.consumers)) {
        const where = containerWhere(use.view, use.cv);
        const label = labelOf(containerLabels(use.view.workload, use.cv.container), LABELS.manifest);
        if (label === UNKNOWN) {
          add(use.view.workload.urn, previewUnknown(`the ${LABELS.manifest} label of ${where}`));
          continue;
        }
        const expected = [...digests].join(" or ");
        if (label === undefined) {
          add(
            use.view.workload.urn,
            mandatory(
              `${where} reads ${group.label} but has no ${LABELS.manifest} label${expected ? `; label it ${expected}, its downloader's` : ""}`,
            ),
          );
          continue;
        }
        if (digests.size > 0 && !digests.has(label)) {
          add(
            use.view.workload.urn,
            mandatory(
              `${where} is labelled ${LABELS.manifest}=${label} but the downloader of ${group.label} fills it for ${expected}; deploy both from the same manifest`,
            ),
          );
        }
        const own = readManifest(use.cv.container);
        if (own.state === "ok" && manifestLabelValue(own.digest) !== label) {
          add(
            use.view.workload.urn,
            mandatory(
              `${where} carries a ${MANIFEST_ENV} that hashes to ${own.digest} (label ${manifestLabelValue(own.digest)}) but is labelled ${LABELS.manifest}=${label}`,
            ),
          );
        }
      }
    }
    return out;
  },
});

/** One use per container (a container may mount the cache through several mounts). */
function unique(uses: CacheUse[]): CacheUse[] {
  const seen = new Set<string>();
  return uses.filter((u) => {
    const key = `${u.view.workload.urn}\n${u.cv.container.init}\n${u.cv.container.index}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
