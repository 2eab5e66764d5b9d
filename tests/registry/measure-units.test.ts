/** The parts of `model-cache measure` that need no engine (the engine path: tests/e2e/registry). */
import { describe, expect, it } from "vitest";
import { cgroupFiles } from "../../downloader/src/registry/cgroup";
import { parseComputeApps } from "../../downloader/src/registry/gpu";
import { firstPass } from "../../downloader/src/registry/measure";
import { attribute, splitOf } from "../../downloader/src/registry/measure-command";

const measurement = {
  image: "team/server:1",
  containerId: "c",
  startedAt: "2026-01-01T00:00:00Z",
  secondsToHealthy: 40,
  peak: { bytes: 3000 * 1024 * 1024, how: "cgroup v2 memory.peak (host cgroup fs)" },
  gpuMiB: 2000,
  engine: { host: "gpu-1", version: "28.0", cgroupVersion: "2" },
};

describe("measure: attribution", () => {
  it("one model gets the container's peak minus the runtime overhead sizing adds back, its GPU memory and its load time", () => {
    const [f] = attribute(measurement, { device: "cuda", split: splitOf(["m"], undefined), overheadMiB: 1500, date: "2026-01-01" });
    expect(f).toMatchObject({ id: "m", hostPeak: { mib: 1500, basis: "measured" }, gpu: { mib: 2000 }, load: { seconds: 40 } });
    expect(f!.hostPeak.source).toMatch(
      /container peak 3000 MiB \(cgroup v2 memory\.peak .*\) − runtime overhead 1500 MiB; image team\/server:1, cuda, host gpu-1/,
    );
  });

  it("several models split each figure as the user says; the split must cover them and add up to 1", () => {
    const figures = attribute(measurement, {
      device: "cuda",
      split: splitOf(["a", "b"], ["a=0.75", "b=0.25"]),
      overheadMiB: 1000,
      date: "d",
    });
    expect(figures.map((f) => [f.hostPeak.mib, f.gpu?.mib, f.load?.seconds])).toEqual([
      [1500, 1500, 30],
      [500, 500, 10],
    ]);
    expect(() => splitOf(["a", "b"], undefined)).toThrow(/--split: 2 models share one container/);
    expect(() => splitOf(["a", "b"], ["a=0.5", "c=0.5"])).toThrow(/missing: b; not a --model: c/);
    expect(() => splitOf(["a", "b"], ["a=0.5", "b=0.4"])).toThrow(/add up to 0\.9, not 1/);
  });

  it("a peak below the overhead records 0 (the need, overhead + 0, still covers it); no GPU figure when nvidia-smi did not answer", () => {
    const [f] = attribute(
      { ...measurement, peak: { bytes: 200 * 1024 * 1024, how: "x" }, gpuMiB: null, secondsToHealthy: null },
      { device: "cuda", split: splitOf(["m"], undefined), overheadMiB: 1000, date: "d" },
    );
    expect(f!.hostPeak.mib).toBe(0);
    expect(f!.gpu).toBeUndefined();
    expect(f!.load).toBeUndefined();
  });
});

describe("measure: engine readings", () => {
  it("finds the container's memory file from /proc/<pid>/cgroup on v2, v1 and hybrid hosts", () => {
    expect(cgroupFiles("0::/system.slice/docker-abc.scope\n")).toEqual([
      { file: "/sys/fs/cgroup/system.slice/docker-abc.scope/memory.peak", how: "cgroup v2 memory.peak" },
    ]);
    expect(cgroupFiles("12:pids:/docker/abc\n4:memory:/docker/abc\n0::/docker/abc\n")[0]).toEqual({
      file: "/sys/fs/cgroup/memory/docker/abc/memory.max_usage_in_bytes",
      how: "cgroup v1 memory.max_usage_in_bytes",
    });
  });

  it("reads nvidia-smi's compute apps, skipping rows it cannot attribute", () => {
    expect(parseComputeApps("1234, 2908\n[N/A], 10\n5678, 1600\n")).toEqual([
      { pid: 1234, usedMiB: 2908 },
      { pid: 5678, usedMiB: 1600 },
    ]);
  });

  it("seconds to healthy: to the end of the first passing check, unknown when the log no longer shows it", () => {
    const check = (start: string, end: string, code: number) => ({ Start: start, End: end, ExitCode: code, Output: "" });
    const started = "2026-01-01T00:00:00.000Z";
    expect(
      firstPass(started, [
        check("2026-01-01T00:00:08Z", "2026-01-01T00:00:08.5Z", 1),
        check("2026-01-01T00:00:09Z", "2026-01-01T00:00:09.25Z", 0),
      ]),
    ).toBe(9.25);
    expect(firstPass(started, [check("2026-01-01T00:00:01Z", "2026-01-01T00:00:01.5Z", 0)])).toBe(1.5);
    expect(firstPass(started, [check("2026-01-01T00:10:00Z", "2026-01-01T00:10:00.1Z", 0)])).toBeNull();
  });
});
