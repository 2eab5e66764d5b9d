/**
 * GPU memory per process from `nvidia-smi --query-compute-apps`, where nvidia-smi answers (a host
 * with an NVIDIA driver; the engine must be local, since the PIDs are this host's).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface GpuProcess {
  pid: number;
  usedMiB: number;
}

/** undefined when nvidia-smi is missing or does not answer (no driver, no GPU). */
export async function gpuProcesses(nvidiaSmi = "nvidia-smi"): Promise<GpuProcess[] | undefined> {
  try {
    const { stdout } = await run(nvidiaSmi, ["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"], {
      timeout: 15_000,
    });
    return parseComputeApps(stdout);
  } catch {
    return undefined;
  }
}

/** `1234, 2908` lines → processes (rows nvidia-smi cannot attribute, "[N/A]", are skipped). */
export function parseComputeApps(csv: string): GpuProcess[] {
  return csv
    .split("\n")
    .map((line) => line.split(",").map((cell) => cell.trim()))
    .filter((cells) => cells.length >= 2 && /^\d+$/.test(cells[0] ?? "") && /^\d+$/.test(cells[1] ?? ""))
    .map(([pid, used]) => ({ pid: Number(pid), usedMiB: Number(used) }));
}
