/**
 * One measurement on a Docker engine: start the model service (or attach to a running one), wait
 * until its health check passes, optionally run a warm-up command in it, then read the peak memory
 * of its cgroup, the GPU memory of its processes (where nvidia-smi answers) and the seconds from
 * its start to its first passing health check — all through the Engine API (dockerode).
 */
import type Dockerode from "dockerode";
import { type PeakReading, readPeakMemory } from "./cgroup.js";
import { gpuProcesses } from "./gpu.js";

export interface StartSpec {
  image: string;
  args: string[];
  env: string[];
  user: string;
  /** Named volume mounted read-only at mountPath. */
  volume?: string;
  mountPath: string;
  network: string;
  gpus: boolean;
  /** The health check, exec form (`CMD` prepended): the engine runs it every second. */
  healthcheck: string[];
}

export interface MeasureRequest {
  docker: Dockerode;
  start?: StartSpec;
  containerId?: string;
  timeoutSeconds: number;
  warmup?: string[];
  keep: boolean;
  log: (message: string) => void;
  nvidiaSmi?: string;
}

export interface ContainerMeasurement {
  image: string;
  containerId: string;
  startedAt: string;
  /** null when attached to a container whose health log no longer shows when it first passed. */
  secondsToHealthy: number | null;
  peak: PeakReading;
  /** Σ GPU MiB of the container's processes; null when nvidia-smi did not answer. */
  gpuMiB: number | null;
  engine: { host: string; version: string; cgroupVersion: string };
}

const SECOND_NS = 1_000_000_000;
const POLL_MS = 200;

interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export async function measureContainer(request: MeasureRequest): Promise<ContainerMeasurement> {
  const { docker } = request;
  const info = (await docker.info()) as { Name?: string; ServerVersion?: string; CgroupVersion?: string };
  const engine = { host: info.Name ?? "?", version: info.ServerVersion ?? "?", cgroupVersion: info.CgroupVersion ?? "?" };
  let container: Dockerode.Container;
  let started = false;
  if (request.start) {
    container = await create(docker, request.start, request.timeoutSeconds);
    await container.start();
    started = true;
    request.log(`started ${container.id.slice(0, 12)} from ${request.start.image}; waiting until healthy`);
  } else {
    container = docker.getContainer(request.containerId as string);
  }
  try {
    const state = await waitHealthy(container, request.timeoutSeconds);
    if (request.warmup && request.warmup.length > 0) await runWarmup(container, request.warmup, request.log);
    const peak = await readPeakMemory(container, state.pid);
    const gpuMiB = await containerGpuMiB(container, request.nvidiaSmi);
    return {
      image: state.image,
      containerId: container.id,
      startedAt: state.startedAt,
      secondsToHealthy: state.secondsToHealthy,
      peak,
      gpuMiB,
      engine,
    };
  } finally {
    if (started && !request.keep) await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}

async function create(docker: Dockerode, spec: StartSpec, timeoutSeconds: number): Promise<Dockerode.Container> {
  return docker.createContainer({
    Image: spec.image,
    Cmd: spec.args.length > 0 ? spec.args : undefined,
    Env: spec.env,
    User: spec.user,
    Labels: { "model-cache.io/measure": "true" },
    Healthcheck: {
      Test: ["CMD", ...spec.healthcheck],
      Interval: SECOND_NS,
      Timeout: 10 * SECOND_NS,
      Retries: 3,
      // Failures while loading do not count: the container is measured until its first pass.
      StartPeriod: timeoutSeconds * SECOND_NS,
    },
    HostConfig: {
      Binds: spec.volume ? [`${spec.volume}:${spec.mountPath}:ro`] : [],
      NetworkMode: spec.network,
      ...(spec.gpus ? { DeviceRequests: [{ Count: -1, Capabilities: [["gpu"]] }] } : {}),
    },
  });
}

interface HealthyState {
  pid: number;
  image: string;
  startedAt: string;
  secondsToHealthy: number | null;
}

async function waitHealthy(container: Dockerode.Container, timeoutSeconds: number): Promise<HealthyState> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const inspect = await container.inspect();
    const state = inspect.State as typeof inspect.State & { Health?: { Status: string; Log?: HealthLogEntry[] } };
    const health = state.Health;
    if (!health) {
      throw new Error(`container ${inspect.Name} has no health check: start it with one (HEALTHCHECK), or let measure start it`);
    }
    if (!state.Running) {
      throw new Error(`container ${inspect.Name} exited with code ${state.ExitCode} before it was healthy${await logTail(container)}`);
    }
    if (health.Status === "unhealthy") throw new Error(`container ${inspect.Name} became unhealthy${await logTail(container)}`);
    if (health.Status === "healthy") {
      return {
        pid: state.Pid,
        image: inspect.Config.Image,
        startedAt: state.StartedAt,
        secondsToHealthy: firstPass(state.StartedAt, health.Log ?? []),
      };
    }
    if (Date.now() > deadline) {
      throw new Error(`container ${inspect.Name} was not healthy after ${timeoutSeconds} s (--timeout)${await logTail(container)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Seconds from the container's start to the end of its first passing check. The engine keeps the
 * last five checks only: the answer is exact when the log still holds a failing check before the
 * first pass (or the very first check passed), unknown otherwise.
 */
export function firstPass(startedAt: string, log: readonly HealthLogEntry[]): number | null {
  const index = log.findIndex((entry) => entry.ExitCode === 0);
  if (index < 0) return null;
  const started = Date.parse(startedAt);
  const pass = Date.parse((log[index] as HealthLogEntry).End);
  const firstCheckNearStart = index === 0 && Date.parse((log[0] as HealthLogEntry).Start) - started < 2500;
  if (index === 0 && !firstCheckNearStart) return null;
  return Math.round((pass - started) / 10) / 100;
}

async function runWarmup(container: Dockerode.Container, cmd: string[], log: (m: string) => void): Promise<void> {
  log(`warm-up: ${cmd.join(" ")}`);
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve, reject) => {
    stream.on("end", () => resolve());
    stream.on("error", reject);
    stream.resume();
  });
  const result = await exec.inspect();
  if (result.ExitCode !== 0) throw new Error(`the warm-up command exited with code ${result.ExitCode}: ${cmd.join(" ")}`);
}

async function containerGpuMiB(container: Dockerode.Container, nvidiaSmi?: string): Promise<number | null> {
  const processes = await gpuProcesses(nvidiaSmi);
  if (!processes) return null;
  const top = (await container.top()) as { Titles: string[]; Processes: string[][] };
  const pidColumn = top.Titles.indexOf("PID");
  const pids = new Set(top.Processes.map((row) => Number(row[pidColumn])));
  return processes.filter((p) => pids.has(p.pid)).reduce((sum, p) => sum + p.usedMiB, 0);
}

async function logTail(container: Dockerode.Container): Promise<string> {
  try {
    const raw = (await container.logs({ stdout: true, stderr: true, follow: false, tail: 20 })) as unknown as Buffer;
    const text = demux(raw).trim();
    return text ? `; its last log lines:\n${text}` : "";
  } catch {
    return "";
  }
}

/** Without a TTY the engine multiplexes stdout and stderr in 8-byte-headed frames. */
function demux(raw: Buffer): string {
  const framed = raw.length >= 8 && (raw[0] ?? 9) <= 2 && raw[1] === 0 && raw[2] === 0 && raw[3] === 0;
  if (!framed) return raw.toString("utf8");
  const chunks: Buffer[] = [];
  for (let offset = 0; offset + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(offset + 4);
    chunks.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(chunks).toString("utf8");
}
