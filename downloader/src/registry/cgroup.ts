/**
 * Peak memory of a container's cgroup, the number the kernel enforces a memory limit against:
 * cgroup v2 `memory.peak`, cgroup v1 `memory.max_usage_in_bytes`. Read from the host's cgroup
 * filesystem when the engine runs here (the container's main process's /proc/<pid>/cgroup names
 * its cgroup, whatever the cgroup driver), else from the engine: the stats API's
 * `memory_stats.max_usage` (v1 only), or `cat` of the file inside the container (v2).
 */
import { readFile } from "node:fs/promises";
import type Dockerode from "dockerode";

export interface PeakReading {
  bytes: number;
  /** How it was read, for the measurement's source. */
  how: string;
}

export async function readPeakMemory(container: Dockerode.Container, pid: number): Promise<PeakReading> {
  const host = await fromHost(pid).catch(() => undefined);
  if (host) return host;
  const stats = (await container.stats({ stream: false })) as unknown as { memory_stats?: { max_usage?: number } };
  const max = stats.memory_stats?.max_usage;
  if (typeof max === "number" && max > 0) return { bytes: max, how: "cgroup v1 memory.max_usage_in_bytes (engine stats API)" };
  const inside = await fromInside(container);
  if (inside) return inside;
  throw new Error(
    "cannot read the container's peak memory: its cgroup is not visible on this host, the engine's stats carry no max_usage " +
      "(cgroup v2), and `cat /sys/fs/cgroup/memory.peak` does not run in the image (kernel ≥ 5.19 and a cat are needed)",
  );
}

/** The cgroup of `pid` as /proc/<pid>/cgroup lists it: v2 `0::/path`, v1 `N:memory:/path` (or `memory,…`). */
export function cgroupFiles(procCgroup: string): { file: string; how: string }[] {
  const out: { file: string; how: string }[] = [];
  for (const line of procCgroup.split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line.trim()) ?? [];
    if (path === undefined) continue;
    if (controllers === "") out.push({ file: `/sys/fs/cgroup${path}/memory.peak`, how: "cgroup v2 memory.peak" });
    else if (controllers?.split(",").includes("memory")) {
      out.push({ file: `/sys/fs/cgroup/memory${path}/memory.max_usage_in_bytes`, how: "cgroup v1 memory.max_usage_in_bytes" });
    }
  }
  // v1 first on a hybrid host: there the memory controller is on the v1 hierarchy.
  return out.sort((a, b) => (a.how.includes("v1") ? -1 : 0) - (b.how.includes("v1") ? -1 : 0));
}

async function fromHost(pid: number): Promise<PeakReading | undefined> {
  if (!(pid > 0)) return undefined;
  const procCgroup = await readFile(`/proc/${pid}/cgroup`, "utf8");
  for (const { file, how } of cgroupFiles(procCgroup)) {
    const text = await readFile(file, "utf8").catch(() => undefined);
    const bytes = text === undefined ? Number.NaN : Number(text.trim());
    if (Number.isFinite(bytes) && bytes > 0) return { bytes, how: `${how} (host cgroup fs)` };
  }
  return undefined;
}

async function fromInside(container: Dockerode.Container): Promise<PeakReading | undefined> {
  try {
    const exec = await container.exec({ Cmd: ["cat", "/sys/fs/cgroup/memory.peak"], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => resolve());
      stream.on("error", reject);
    });
    const info = await exec.inspect();
    if (info.ExitCode !== 0) return undefined;
    // Multiplexed: strip the 8-byte frame headers.
    const raw = Buffer.concat(chunks);
    const text = raw.length > 8 && raw[0] === 1 ? raw.subarray(8).toString("utf8") : raw.toString("utf8");
    const bytes = Number(text.trim());
    return Number.isFinite(bytes) && bytes > 0 ? { bytes, how: "cgroup v2 memory.peak (read in the container)" } : undefined;
  } catch {
    return undefined;
  }
}
