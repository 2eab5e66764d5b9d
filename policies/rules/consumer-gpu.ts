/** consumer-gpu: a consumer requests a GPU, unless the pack is configured for CPU-only stacks. */
import { z } from "zod";
import { LABELS } from "../lib/core";
import { gpuFix, workloadWhere } from "../lib/hints";
import { GPU_RESOURCE } from "../lib/kubernetes";
import { defineRule, mandatory, previewUnknown } from "../lib/rule";
import { UNKNOWN } from "../lib/values";
import { servingContainers, type WorkloadView } from "../lib/view";

const config = z.object({
  cpuMode: z.boolean().default(false).describe("The stacks this pack checks serve on CPU: consumers need no GPU (e.g. the dev stack)."),
  trustDeviceLabel: z
    .boolean()
    .default(true)
    .describe(
      `A consumer labelled ${LABELS.device}=cpu (a stack that declares device cpu, like the dev stack) needs no GPU; false requires a GPU of every consumer unless cpuMode.`,
    ),
});

export const consumerGpu = defineRule({
  name: "consumer-gpu",
  description: `A model-cache consumer requests a GPU (Docker gpus, Kubernetes ${GPU_RESOURCE} limit, ECS resourceRequirements GPU) unless the pack's config says CPU mode.`,
  severity: "medium",
  remediationSteps:
    `Request a GPU for the serving container: Docker gpus: "all", Kubernetes resources.limits["${GPU_RESOURCE}"]: "1", ECS ` +
    'resourceRequirements: [{type: "GPU", value: "1"}]. For a CPU-only stack, label its consumers ' +
    `${LABELS.device}=cpu (the components do so for device cpu), or set this policy's cpuMode: true in the policy pack config.`,
  config,
  checkWorkload(view, cfg) {
    if (cfg.cpuMode) return [];
    if (cfg.trustDeviceLabel && view.deviceLabel === "cpu") return [];
    const serving = servingContainers(view);
    if (serving.length === 0) return [];
    if (serving.some((cv) => cv.container.gpus === "all" || (typeof cv.container.gpus === "number" && cv.container.gpus > 0))) return [];
    if (serving.some((cv) => cv.container.gpus === UNKNOWN)) return [previewUnknown(`the GPU request of ${label(view)}`)];
    return [
      mandatory(
        `${label(view)} requests no GPU; ${gpuFix(view.workload)}, or, for a CPU-only deployment, label it ${LABELS.device}=cpu ` +
          "(the components do so for a stack with device cpu) or set consumer-gpu's cpuMode: true",
      ),
    ];
  },
});

function label(view: WorkloadView): string {
  if (view.workload.family === "docker") return workloadWhere(view.workload);
  const names = servingContainers(view).map((cv) => `"${cv.container.name}"`);
  return `${view.workload.kind} "${view.workload.name}" (container ${names.join(", ")})`;
}
