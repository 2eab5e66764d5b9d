/**
 * Memory sizing from measurements (seed lesson 4: measure, add 25 %, set the limit).
 *
 * The service's memory limit is a *host* memory limit (cgroup / Kubernetes `resources.limits.memory`),
 * so it is sized from host peaks only. GPU memory lives on the card: it is summed separately and
 * checked against the GPU's capacity, never added into the host limit (the seed's 6 GB did that:
 * 4500 MB of GPU + 1500 MB of host).
 */
import type { CatalogEntry, Measurement } from "./catalog/schema";
import type { Device } from "./contract";

export const DEFAULT_HEADROOM = 1.25;
export const MIN_HEADROOM = 1.0;
export const MAX_HEADROOM = 2.0;
export const LIMIT_GRANULARITY_MIB = 64;

/** Host memory of the serving runtime itself, before any model is loaded. */
export const RUNTIME_OVERHEAD: Record<Device, Measurement> = {
  cuda: {
    mib: 1500,
    basis: "measured",
    source:
      "seed devlog 2025-11-12 'System Memory': container base ~200 + PyTorch ~300 + CUDA runtime ~500 + working memory ~500 MB (docker stats)",
  },
  cpu: {
    mib: 1000,
    basis: "estimate",
    source: "seed devlog 'System Memory' breakdown without the CUDA runtime (~500 MB): 200 + 300 + 500",
  },
};

export class SizingError extends Error {
  override name = "SizingError";
}

export interface SizingRequest {
  models: readonly Pick<CatalogEntry, "id" | "memory">[];
  device: Device;
  /** Multiplier over the measured need, in [1.0, 2.0]. */
  headroom?: number;
  /** Overrides the runtime overhead for this device. */
  runtimeOverheadMiB?: number;
  /** Memory of one GPU (cuda only); Σ GPU MiB must fit in it. */
  gpuMemoryMiB?: number;
}

export interface ModelSizing {
  id: string;
  hostPeakMiB: number;
  gpuMiB: number;
  basis: "measured" | "estimate" | "mixed";
  sources: string[];
}

export interface MemorySizing {
  device: Device;
  models: ModelSizing[];
  runtimeOverheadMiB: number;
  runtimeOverheadSource: string;
  /** Σ host peaks + overhead: what the process needs, without headroom. */
  needMiB: number;
  headroom: number;
  /** needMiB × headroom, rounded up to 64 MiB: the container / pod memory limit. */
  limitMiB: number;
  gpu: { totalMiB: number; capacityMiB: number | null; freeMiB: number | null };
}

export function roundUpMiB(value: number, granularity = LIMIT_GRANULARITY_MIB): number {
  return Math.ceil(value / granularity - 1e-9) * granularity;
}

export function computeMemorySizing(request: SizingRequest): MemorySizing {
  const headroom = request.headroom ?? DEFAULT_HEADROOM;
  if (!(headroom >= MIN_HEADROOM && headroom <= MAX_HEADROOM)) {
    throw new SizingError(`headroom ${headroom} is outside [${MIN_HEADROOM}, ${MAX_HEADROOM}]; use e.g. ${DEFAULT_HEADROOM}`);
  }
  const device = request.device;
  const models = request.models.map((model): ModelSizing => {
    const memory = model.memory[device];
    if (!memory) {
      const other = Object.keys(model.memory).join(", ");
      throw new SizingError(
        `model "${model.id}" has no memory measurement for device "${device}" (only: ${other}); ` +
          `measure it on ${device} and add it to the catalog, or run it on ${other}`,
      );
    }
    const bases = new Set([memory.hostPeak.basis, memory.gpu.basis]);
    return {
      id: model.id,
      hostPeakMiB: memory.hostPeak.mib,
      gpuMiB: device === "cpu" ? 0 : memory.gpu.mib,
      basis: bases.size === 1 ? memory.hostPeak.basis : "mixed",
      sources: [...new Set([memory.hostPeak.source, memory.gpu.source])],
    };
  });
  const overhead = RUNTIME_OVERHEAD[device];
  const runtimeOverheadMiB = request.runtimeOverheadMiB ?? overhead.mib;
  const runtimeOverheadSource =
    request.runtimeOverheadMiB === undefined ? `${overhead.basis}: ${overhead.source}` : "stack config runtimeOverheadMiB";
  const needMiB = models.reduce((sum, m) => sum + m.hostPeakMiB, 0) + runtimeOverheadMiB;
  const limitMiB = roundUpMiB(needMiB * headroom);

  const gpuTotal = models.reduce((sum, m) => sum + m.gpuMiB, 0);
  const capacity = device === "cuda" ? (request.gpuMemoryMiB ?? null) : null;
  if (capacity !== null && gpuTotal > capacity) {
    const detail = models.map((m) => `${m.id} ${m.gpuMiB} MiB`).join(" + ");
    throw new SizingError(
      `the enabled models need ${gpuTotal} MiB of GPU memory (${detail}) but gpuMemoryMiB is ${capacity}; ` +
        "use a larger GPU (raise gpuMemoryMiB to the card's memory), enable fewer models, or run on device cpu",
    );
  }
  return {
    device,
    models,
    runtimeOverheadMiB,
    runtimeOverheadSource,
    needMiB,
    headroom,
    limitMiB,
    gpu: { totalMiB: gpuTotal, capacityMiB: capacity, freeMiB: capacity === null ? null : capacity - gpuTotal },
  };
}
