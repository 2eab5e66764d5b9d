import { describe, expect, it } from "vitest";
import { builtinCatalog } from "../components/core/catalog/index";
import { computeMemorySizing, RUNTIME_OVERHEAD, roundUpMiB, SizingError } from "../components/core/sizing";

const catalog = builtinCatalog();
const pick = (...ids: string[]) => ids.map((id) => catalog.find((e) => e.id === id)!);

describe("memory sizing", () => {
  it("rounds (Σ host peak + overhead) × headroom up to 64 MiB", () => {
    const s = computeMemorySizing({ models: pick("whisper-medium", "siglip-so400m"), device: "cuda", gpuMemoryMiB: 16384 });
    const hostPeaks = s.models.reduce((n, m) => n + m.hostPeakMiB, 0);
    expect(s.needMiB).toBe(hostPeaks + RUNTIME_OVERHEAD.cuda.mib);
    expect(s.limitMiB % 64).toBe(0);
    expect(s.limitMiB).toBeGreaterThanOrEqual(s.needMiB * 1.25);
    expect(s.limitMiB - s.needMiB * 1.25).toBeLessThan(64);
    expect(s.headroom).toBe(1.25);
  });

  it("the seed's case: GPU memory is checked against the card, never added into the host limit", () => {
    const s = computeMemorySizing({ models: pick("whisper-medium", "siglip-so400m"), device: "cuda", gpuMemoryMiB: 16384 });
    // The seed measured these on the GPU (nvidia-smi) ...
    expect(s.models.map((m) => m.gpuMiB)).toEqual([2908, 1600]);
    expect(s.gpu.totalMiB).toBe(4508);
    // ... and then added them to ~1500 MB of host memory to get its 6 GB container limit.
    const seedLimitMB = 2908 + 1600 + 1500;
    expect(seedLimitMB).toBeCloseTo(6000, -2);
    // The container limit is host memory: it is sized from host peaks + runtime overhead only.
    expect(s.needMiB).toBe(3000 + 1700 + RUNTIME_OVERHEAD.cuda.mib);
    expect(s.limitMiB).toBe(roundUpMiB((3000 + 1700 + 1500) * 1.25));
    expect(s.limitMiB).toBe(7808);
    expect(s.gpu.freeMiB).toBe(16384 - 4508);
  });

  it("fails with a clear error when the models do not fit on the GPU", () => {
    expect(() => computeMemorySizing({ models: pick("whisper-medium", "siglip-so400m"), device: "cuda", gpuMemoryMiB: 4096 })).toThrow(
      /need 4508 MiB of GPU memory \(whisper-medium 2908 MiB \+ siglip-so400m 1600 MiB\) but gpuMemoryMiB is 4096/,
    );
  });

  it("ignores GPU memory on cpu and uses the cpu measurements", () => {
    const s = computeMemorySizing({ models: pick("all-minilm-l6-v2"), device: "cpu", gpuMemoryMiB: 1 });
    expect(s.gpu.totalMiB).toBe(0);
    expect(s.needMiB).toBe(250 + RUNTIME_OVERHEAD.cpu.mib);
    expect(s.limitMiB).toBe(1600);
  });

  it("rejects headroom outside [1.0, 2.0]", () => {
    expect(() => computeMemorySizing({ models: pick("yunet"), device: "cpu", headroom: 2.5 })).toThrow(SizingError);
    expect(() => computeMemorySizing({ models: pick("yunet"), device: "cpu", headroom: 0.9 })).toThrow(/outside \[1, 2\]/);
  });

  it("a runtime overhead override replaces the built-in one", () => {
    const s = computeMemorySizing({ models: pick("yunet"), device: "cpu", runtimeOverheadMiB: 100, headroom: 1 });
    expect(s.needMiB).toBe(150);
    expect(s.limitMiB).toBe(192);
    expect(s.runtimeOverheadSource).toMatch(/runtimeOverheadMiB/);
  });

  it("refuses a model that has no measurement for the device", () => {
    const model = { id: "gpu-only", memory: { cuda: pick("yunet")[0]!.memory.cuda } };
    expect(() => computeMemorySizing({ models: [model], device: "cpu" })).toThrow(/no memory measurement for device "cpu"/);
  });
});
