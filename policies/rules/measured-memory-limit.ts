/**
 * measured-memory-limit: a consumer has a memory limit, at least the need the sizing module
 * computes from the catalog's measurements for the models of its manifest, and (advisory) not
 * far above it.
 */
import { z } from "zod";
import { deviceOf, manifestOf, policyCatalog } from "../lib/consumer-models";
import { computeMemorySizing, DEFAULT_HEADROOM, type MemorySizing, SizingError } from "../lib/core";
import { containerWhere, workloadWhere } from "../lib/hints";
import { advisory, defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import { UNKNOWN } from "../lib/values";
import { type ContainerView, servingContainers, type WorkloadView } from "../lib/view";

const config = z.object({
  maxHeadroom: z
    .number()
    .min(1)
    .max(4)
    .default(1.5)
    .describe("A limit above need × maxHeadroom is reported (advisory) as over-allocated memory."),
  device: z
    .enum(["auto", "cuda", "cpu"])
    .default("auto")
    .describe(
      "Which measurements size the need: auto takes the consumer's model-cache.io/device label, else cuda when it requests a GPU, else cpu.",
    ),
  runtimeOverheadMiB: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe("Host memory of the serving runtime before any model is loaded; 0 uses the sizing module's figure for the device."),
  catalogFile: z
    .string()
    .default("")
    .describe("The team's catalog file (absolute, or relative to the project); empty reads catalog.yaml there when it exists."),
});

export const measuredMemoryLimit = defineRule({
  name: "measured-memory-limit",
  description:
    "A model-cache consumer has a memory limit of at least the need computed from the catalog's measurements for the models in its " +
    "manifest (host peaks + runtime overhead), and (advisory) at most need × maxHeadroom.",
  severity: "medium",
  remediationSteps:
    "Set the consumer's memory limit (Docker memory, Kubernetes resources.limits.memory, ECS memory) from the sizing module: the program's " +
    "memorySizing output gives need and limit (need × headroom, 1.25 by default, rounded up to 64 MiB). A model the catalog has no " +
    "measurement for must be measured and recorded in components/core/catalog first. GPU memory is not part of this limit.",
  config,
  checkWorkload(view, cfg, context) {
    const serving = servingContainers(view);
    if (serving.length === 0) return [];
    const findings: Finding[] = [];
    let total = 0;
    let complete = true;
    for (const cv of serving) {
      const limit = limitOf(view, cv, serving.length);
      const where = containerWhere(view, cv);
      if (limit === UNKNOWN) {
        findings.push(previewUnknown(`the memory limit of ${where}`));
        complete = false;
      } else if (limit === undefined) {
        findings.push(
          mandatory(`${where} has no memory limit (${cv.container.memoryLimitSource}); set it to the limit the sizing module computes`),
        );
        complete = false;
      } else if (limit === "invalid") {
        findings.push(
          mandatory(`${where} has a memory limit (${cv.container.memoryLimitSource}) that is not a valid quantity; write it like 6144Mi`),
        );
        complete = false;
      } else total += limit;
    }
    if (!complete) return findings;

    const source = manifestOf(view, context);
    if (source.state === "none") {
      if (context)
        findings.push(
          advisory(
            `cannot size ${workloadWhere(view.workload)}: no manifest found (no MODEL_CACHE_MANIFEST on it or on its cache's downloader)`,
          ),
        );
      return findings;
    }
    if (source.state === "unknown") return [...findings, previewUnknown(`the manifest of ${workloadWhere(view.workload)}`)];
    const device = deviceOf(view, cfg.device);
    if (device === UNKNOWN) return [...findings, previewUnknown(`the GPU request of ${workloadWhere(view.workload)}`)];
    const sizing = size(source.ids, device, cfg.runtimeOverheadMiB, cfg.catalogFile);
    if (typeof sizing === "string") return [...findings, mandatory(`cannot size ${workloadWhere(view.workload)}: ${sizing}`)];
    // needMiB does not depend on the headroom; limitMiB is what the program would set by default.
    const suggested = sizing.limitMiB;
    const breakdown = `${sizing.models.map((m) => `${m.id} ${m.hostPeakMiB}`).join(" + ")} + runtime ${sizing.runtimeOverheadMiB} MiB on ${device}`;
    if (total < sizing.needMiB) {
      findings.push(
        mandatory(
          `${workloadWhere(view.workload)} has a memory limit of ${fmt(total)} MiB, below the measured need of ${sizing.needMiB} MiB (${breakdown}); ` +
            `set it to at least ${sizing.needMiB} MiB (${suggested} MiB at the default headroom ${DEFAULT_HEADROOM})`,
        ),
      );
    } else if (total > sizing.needMiB * cfg.maxHeadroom) {
      findings.push(
        advisory(
          `${workloadWhere(view.workload)} has a memory limit of ${fmt(total)} MiB, more than ${cfg.maxHeadroom} × the measured need of ${sizing.needMiB} MiB ` +
            `(${breakdown}); ${suggested} MiB (headroom ${DEFAULT_HEADROOM}) leaves room for other workloads`,
        ),
      );
    }
    return findings;
  },
});

function fmt(mib: number): string {
  return Number.isInteger(mib) ? String(mib) : mib.toFixed(1);
}

/** A container's limit; on ECS a lone serving container may rely on the task's memory. */
function limitOf(view: WorkloadView, cv: ContainerView, servingCount: number): number | typeof UNKNOWN | "invalid" | undefined {
  const own = cv.container.memoryLimitMiB;
  if (own !== undefined) return own;
  if (view.workload.family === "ecs" && servingCount === 1) return view.workload.taskMemoryMiB;
  return undefined;
}

function size(ids: string[], device: "cuda" | "cpu", overhead: number, catalogFile: string): MemorySizing | string {
  const entries = policyCatalog(catalogFile);
  if (typeof entries === "string") return entries;
  const catalog = new Map(entries.map((e) => [e.id, e]));
  const missing = ids.filter((id) => !catalog.has(id));
  if (missing.length > 0) {
    return `${missing.map((id) => `"${id}"`).join(", ")} ${missing.length === 1 ? "is" : "are"} not in the catalog, so nothing measured ${missing.length === 1 ? "its" : "their"} memory; measure and add ${missing.length === 1 ? "it" : "them"} to the catalog file (model-cache measure)`;
  }
  try {
    return computeMemorySizing({
      models: ids.map((id) => catalog.get(id) as NonNullable<ReturnType<typeof catalog.get>>),
      device,
      headroom: DEFAULT_HEADROOM,
      ...(overhead > 0 ? { runtimeOverheadMiB: overhead } : {}),
    });
  } catch (err) {
    if (err instanceof SizingError) return err.message;
    throw err;
  }
}
