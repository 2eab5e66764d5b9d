/** Docker (`docker:index/container:Container`) → Workload. */
import { at, bool, list, num, type Obj, str, UNKNOWN, type Unknown, type Value } from "./values";
import type { Container, EnvVar, Mount, StartupGrace, Volume, Workload } from "./workload";

export const DOCKER_CONTAINER = "docker:index/container:Container";
export const DOCKER_VOLUME = "docker:index/volume:Volume";

/** Docker `labels` is a list of `{label, value}`. */
export function dockerLabels(value: Value | undefined): Record<string, string> | Unknown {
  const items = list(value);
  if (items === UNKNOWN) return UNKNOWN;
  const out: Record<string, string> = {};
  for (const item of items) {
    const label = str(at(item, "label"));
    const v = str(at(item, "value"));
    if (typeof label === "string" && typeof v === "string") out[label] = v;
  }
  return out;
}

export function readDockerContainer(urn: string, name: string, props: Obj): Workload {
  const containerName = str(props["name"]);
  const display = typeof containerName === "string" ? containerName : name;
  const volumes = new Map<string, Volume>();
  const mounts: Mount[] = [];
  let mountsUnknown = false;

  const volumeItems = list(props["volumes"]);
  if (volumeItems === UNKNOWN) mountsUnknown = true;
  else
    volumeItems.forEach((item, i) => {
      const where = `volumes[${i}]`;
      const volumeName = str(at(item, "volumeName"));
      const hostPath = str(at(item, "hostPath"));
      const fromContainer = str(at(item, "fromContainer"));
      const key = `volumes[${i}]`;
      if (volumeName !== undefined) {
        volumes.set(key, {
          name: key,
          kind: "docker-volume",
          ref: volumeName === UNKNOWN ? UNKNOWN : `docker-volume:${volumeName}`,
          where,
        });
      } else if (hostPath !== undefined) {
        volumes.set(key, { name: key, kind: "bind", ref: hostPath === UNKNOWN ? UNKNOWN : `host:${hostPath}`, where });
      } else if (fromContainer !== undefined) {
        volumes.set(key, { name: key, kind: "other", ref: undefined, where: `${where} (volumes from another container)` });
      } else {
        volumes.set(key, { name: key, kind: "docker-volume", ref: undefined, where: `${where} (anonymous volume)` });
      }
      mounts.push({ volume: key, path: pathOf(at(item, "containerPath")), readOnly: readOnlyOf(at(item, "readOnly")), where });
    });

  const mountItems = list(props["mounts"]);
  if (mountItems === UNKNOWN) mountsUnknown = true;
  else
    mountItems.forEach((item, i) => {
      const where = `mounts[${i}]`;
      const type = str(at(item, "type"));
      const source = str(at(item, "source"));
      const key = `mounts[${i}]`;
      const kind = type === "volume" ? "docker-volume" : type === "bind" ? "bind" : type === "tmpfs" ? "ephemeral" : "other";
      const ref =
        source === UNKNOWN
          ? UNKNOWN
          : source === undefined
            ? undefined
            : kind === "docker-volume"
              ? `docker-volume:${source}`
              : `host:${source}`;
      volumes.set(key, { name: key, kind, ref: kind === "ephemeral" ? undefined : ref, where });
      mounts.push({ volume: key, path: pathOf(at(item, "target")), readOnly: readOnlyOf(at(item, "readOnly")), where });
    });

  const env = new Map<string, EnvVar>();
  const envItems = list(props["envs"]);
  for (const item of envItems === UNKNOWN ? [] : envItems) {
    const entry = str(item);
    if (entry === UNKNOWN) continue;
    if (typeof entry !== "string") continue;
    const eq = entry.indexOf("=");
    const key = eq < 0 ? entry : entry.slice(0, eq);
    // `KEY` without "=" passes the daemon's own variable through: the pack cannot see it.
    env.set(
      key,
      eq < 0 ? { name: key, value: undefined, ref: "the Docker host's environment" } : { name: key, value: entry.slice(eq + 1) },
    );
  }
  const envUnknown = envItems === UNKNOWN || (envItems as Value[]).some((e) => e === UNKNOWN);

  const memory = num(props["memory"]);
  const container: Container = {
    name: display,
    init: false,
    index: 0,
    where: `container "${display}"`,
    env,
    envUnknown,
    envSources: [],
    mounts,
    mountsUnknown,
    labels: {},
    memoryLimitMiB: memory === UNKNOWN ? UNKNOWN : memory === undefined || memory <= 0 ? undefined : memory,
    memoryLimitSource: "memory",
    gpus: dockerGpus(props["gpus"]),
    gpuSource: "gpus",
    startup: dockerStartup(props["healthcheck"]),
  };
  return {
    urn,
    type: DOCKER_CONTAINER,
    name: display,
    family: "docker",
    kind: "Container",
    labels: dockerLabels(props["labels"]),
    containers: [container],
    volumes,
    docker: { mustRun: bool(props["mustRun"]), attach: bool(props["attach"]), restart: str(props["restart"]) },
    problems: [],
  };
}

function pathOf(value: Value | undefined): string | Unknown {
  const s = str(value);
  return s === UNKNOWN ? UNKNOWN : (s ?? "");
}

function readOnlyOf(value: Value | undefined): boolean | Unknown {
  const b = bool(value);
  return b === UNKNOWN ? UNKNOWN : b === true;
}

/** `gpus`: "all", a count, `count=N`, `device=0,1`; empty or absent is none. */
export function dockerGpus(value: Value | undefined): number | "all" | Unknown {
  const s = str(value);
  if (s === UNKNOWN) return UNKNOWN;
  if (s === undefined || s.trim() === "") return 0;
  const text = s.trim().replace(/^"|"$/g, "");
  if (/(^|,)\s*(count=)?all\s*($|,)/i.test(text)) return "all";
  const count = /(?:^|,)\s*(?:count=)?(\d+)\s*(?:$|,)/i.exec(text);
  if (count) return Number(count[1]);
  const devices = /device=([^"]*)/i.exec(text);
  if (devices) return (devices[1] ?? "").split(",").filter((d) => d.trim() !== "").length;
  return 1;
}

function dockerStartup(value: Value | undefined): StartupGrace {
  if (value === UNKNOWN) return { kind: "docker-healthcheck", windowSeconds: UNKNOWN, detail: "healthcheck" };
  if (value === undefined || value === null) return { kind: "none", windowSeconds: undefined, detail: "no healthcheck" };
  const tests = list(at(value, "tests"));
  if (tests !== UNKNOWN && tests.length > 0 && str(tests[0]) === "NONE") {
    return { kind: "disabled", windowSeconds: undefined, detail: 'healthcheck.tests is ["NONE"]' };
  }
  const start = str(at(value, "startPeriod"));
  if (start === UNKNOWN) return { kind: "docker-healthcheck", windowSeconds: UNKNOWN, detail: "healthcheck.startPeriod" };
  const seconds = start === undefined ? 0 : parseGoDuration(start);
  return {
    kind: "docker-healthcheck",
    windowSeconds: seconds,
    detail: start === undefined ? "healthcheck.startPeriod unset (0s)" : `healthcheck.startPeriod ${start}`,
  };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go duration ("90s", "1m30s", "1.5m") in seconds; undefined if it is not one. */
export function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * (DURATION_UNITS[unit as string] as number);
  }
  return total;
}
