/**
 * The Docker family: containers (`docker:index/container:Container`) and Swarm services
 * (`docker:index/service:Service`) → Workloads; named volumes (`docker:index/volume:Volume`) → storage.
 */
import { DOCKER_ONE_SHOT_TYPE, LABELS } from "./core";
import type { FamilyResource, StorageResource } from "./family";
import { type StorageRef, storageKey } from "./storage";
import { at, bool, isObj, list, num, readOnlyOf, str, UNKNOWN, type Unknown, type Value } from "./values";
import type { Container, EnvVar, Mount, StartupGrace, Volume, VolumeKind, Workload } from "./workload";

export const DOCKER_CONTAINER = "docker:index/container:Container";
/** The program's one-shot download step: a dynamic resource with docker.Container's input names, read as one. */
export const DOCKER_ONE_SHOT = DOCKER_ONE_SHOT_TYPE;
export const DOCKER_SERVICE = "docker:index/service:Service";
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

export function readDockerWorkloads(r: FamilyResource): Workload[] {
  if (r.type === DOCKER_CONTAINER || r.type === DOCKER_ONE_SHOT) return [readDockerContainer(r)];
  if (r.type === DOCKER_SERVICE) return [readDockerService(r)];
  return [];
}

export function readDockerStorage(r: FamilyResource): StorageResource | undefined {
  if (r.type !== DOCKER_VOLUME) return undefined;
  const labels = dockerLabels(r.props["labels"]);
  const known = labels === UNKNOWN ? {} : labels;
  const name = str(r.props["name"]);
  const cacheName = known[LABELS.cache];
  return {
    labelled: known[LABELS.role] === "cache",
    cacheName: cacheName === undefined || cacheName === "" ? undefined : cacheName,
    keys: [storageKey.urn(r.urn), ...(typeof name === "string" ? [storageKey.dockerVolume(name)] : [])],
    links: [],
    description: `Docker volume "${typeof name === "string" ? name : r.name}"`,
  };
}

/** Mounts and volumes as Docker's `volumes` / `mounts` / `uploads` (and a service's mounts, secrets, configs) describe them. */
class DockerMounts {
  readonly volumes = new Map<string, Volume>();
  readonly mounts: Mount[] = [];
  unknown = false;

  add(key: string, kind: VolumeKind, source: StorageRef | Unknown | undefined, mount: Omit<Mount, "volume">): void {
    this.volumes.set(key, { name: key, kind, ...(source === undefined ? {} : { source }), where: mount.where });
    this.mounts.push({ volume: key, ...mount });
  }

  /** `mounts` of a container or a service: `{type, source, target, readOnly}`. */
  readMounts(items: Value[] | Unknown, field: string): void {
    if (items === UNKNOWN) {
      this.unknown = true;
      return;
    }
    items.forEach((item, i) => {
      const where = `${field}[${i}]`;
      const type = str(at(item, "type"));
      const source = str(at(item, "source"));
      const storage: StorageRef | Unknown | undefined =
        source === UNKNOWN
          ? UNKNOWN
          : source === undefined
            ? undefined
            : type === "bind"
              ? { kind: "host-path", path: source }
              : { kind: "docker-volume", name: source };
      const kind: VolumeKind =
        type === "tmpfs" ? "ephemeral" : type === "volume" || type === "bind" || type === UNKNOWN ? "storage" : "other";
      this.add(where, kind, kind === "storage" ? (type === UNKNOWN ? UNKNOWN : storage) : undefined, {
        path: pathOf(at(item, "target")),
        readOnly: readOnlyOf(at(item, "readOnly")),
        where,
      });
    });
  }

  /** Files placed in the container (uploads, service secrets and configs): where a token file could be. */
  readFiles(items: Value[] | Unknown, field: string, pathField: string, kind: VolumeKind, defaultDir?: string): void {
    if (items === UNKNOWN) return;
    items.forEach((item, i) => {
      const file = str(at(item, pathField));
      const name = str(at(item, "secretName")) ?? str(at(item, "configName"));
      const path = typeof file === "string" ? (file.startsWith("/") || !defaultDir ? file : `${defaultDir}/${file}`) : file;
      const where = `${field}[${i}]`;
      this.add(where, kind, undefined, {
        path: path === UNKNOWN ? UNKNOWN : (path ?? (typeof name === "string" && defaultDir ? `${defaultDir}/${name}` : "")),
        readOnly: true,
        where,
      });
    });
  }
}

export function readDockerContainer(r: FamilyResource): Workload {
  const props = r.props;
  const containerName = str(props["name"]);
  const display = typeof containerName === "string" ? containerName : r.name;
  const m = new DockerMounts();

  const volumeItems = list(props["volumes"]);
  if (volumeItems === UNKNOWN) m.unknown = true;
  else
    volumeItems.forEach((item, i) => {
      const where = `volumes[${i}]`;
      const volumeName = str(at(item, "volumeName"));
      const hostPath = str(at(item, "hostPath"));
      const fromContainer = str(at(item, "fromContainer"));
      const mount: Omit<Mount, "volume"> = { path: pathOf(at(item, "containerPath")), readOnly: readOnlyOf(at(item, "readOnly")), where };
      // The provider gives hostPath precedence over volumeName.
      if (hostPath !== undefined) m.add(where, "storage", hostPath === UNKNOWN ? UNKNOWN : { kind: "host-path", path: hostPath }, mount);
      else if (volumeName !== undefined)
        m.add(where, "storage", volumeName === UNKNOWN ? UNKNOWN : { kind: "docker-volume", name: volumeName }, mount);
      else if (fromContainer !== undefined) {
        m.add(where, "storage", fromContainer === UNKNOWN ? UNKNOWN : { kind: "container-volumes", container: fromContainer }, {
          ...mount,
          where: `${where} (volumes from container ${fromContainer === UNKNOWN ? "(unknown)" : `"${fromContainer}"`})`,
        });
      } else m.add(where, "storage", undefined, { ...mount, where: `${where} (anonymous volume)` });
    });
  m.readMounts(list(props["mounts"]), "mounts");
  m.readFiles(list(props["uploads"]), "uploads", "file", "config");

  const envItems = list(props["envs"]);
  const env = new Map<string, EnvVar>();
  for (const item of envItems === UNKNOWN ? [] : envItems) {
    const entry = str(item);
    if (typeof entry !== "string") continue;
    const eq = entry.indexOf("=");
    // The Engine API removes a variable listed without "=" (ContainerCreate Config.Env); only the
    // docker CLI would fill it from its own environment, and the provider does not.
    if (eq < 0) env.delete(entry);
    else env.set(entry.slice(0, eq), { name: entry.slice(0, eq), value: entry.slice(eq + 1) });
  }
  const envUnknown = envItems === UNKNOWN || envItems.some((e) => e === UNKNOWN);

  const memory = num(props["memory"]);
  const container: Container = {
    name: display,
    init: false,
    index: 0,
    where: `container "${display}"`,
    env,
    envUnknown,
    envSources: [],
    mounts: m.mounts,
    mountsUnknown: m.unknown,
    labels: {},
    memoryLimitMiB: memory === UNKNOWN ? UNKNOWN : memory === undefined || memory <= 0 ? undefined : memory,
    memoryLimitSource: "memory",
    gpus: dockerGpus(props["gpus"]),
    gpuSource: "gpus",
    startup: dockerStartup(props["healthcheck"]),
  };
  return {
    urn: r.urn,
    type: r.type,
    name: display,
    family: "docker",
    kind: "Container",
    labels: dockerLabels(props["labels"]),
    containers: [container],
    volumes: m.volumes,
    docker: { mustRun: bool(props["mustRun"]), attach: bool(props["attach"]), restart: str(props["restart"]) },
    problems: [],
  };
}

/** A Swarm service: its task's container spec, run `replicas` times (or once per node in global mode). */
export function readDockerService(r: FamilyResource): Workload {
  const props = r.props;
  const serviceName = str(props["name"]);
  const display = typeof serviceName === "string" ? serviceName : r.name;
  const spec = at(props, "taskSpec", "containerSpec");
  const m = new DockerMounts();
  m.readMounts(list(at(spec, "mounts")), "taskSpec.containerSpec.mounts");
  m.readFiles(list(at(spec, "secrets")), "taskSpec.containerSpec.secrets", "fileName", "secret", "/run/secrets");
  m.readFiles(list(at(spec, "configs")), "taskSpec.containerSpec.configs", "fileName", "config", "/");

  const envMap = at(spec, "env");
  const env = new Map<string, EnvVar>();
  if (isObj(envMap)) {
    for (const [key, value] of Object.entries(envMap)) {
      const s = str(value);
      env.set(key, { name: key, value: s === undefined ? "" : s });
    }
  }
  const memoryBytes = num(at(props, "taskSpec", "resources", "limits", "memoryBytes"));
  const mode = at(props, "mode");
  const global = bool(at(mode, "global"));
  const replicas = num(at(mode, "replicated", "replicas"));
  const serviceLabels = dockerLabels(at(props, "labels"));
  const containerLabels = dockerLabels(at(spec, "labels"));
  const labels = serviceLabels === UNKNOWN || containerLabels === UNKNOWN ? UNKNOWN : { ...serviceLabels, ...containerLabels };

  const container: Container = {
    name: display,
    init: false,
    index: 0,
    where: `service "${display}"`,
    env,
    envUnknown: envMap === UNKNOWN || spec === UNKNOWN,
    envSources: [],
    mounts: m.mounts,
    mountsUnknown: m.unknown,
    labels: {},
    memoryLimitMiB:
      memoryBytes === UNKNOWN ? UNKNOWN : memoryBytes === undefined || memoryBytes <= 0 ? undefined : memoryBytes / (1024 * 1024),
    memoryLimitSource: "taskSpec.resources.limits.memoryBytes",
    gpus: swarmGpus(at(props, "taskSpec", "resources", "reservation", "genericResources")),
    gpuSource: 'taskSpec.resources.reservation.genericResources (e.g. discreteResourcesSpecs ["NVIDIA-GPU=1"])',
    startup: dockerStartup(at(spec, "healthcheck")),
  };
  return {
    urn: r.urn,
    type: r.type,
    name: display,
    family: "docker",
    kind: "Service",
    labels,
    containers: [container],
    volumes: m.volumes,
    replicas: global === UNKNOWN || replicas === UNKNOWN ? UNKNOWN : global === true ? "per-node" : (replicas ?? 1),
    problems: [],
  };
}

/** Swarm generic resources: `discreteResourcesSpecs` "NVIDIA-GPU=2", `namedResourcesSpecs` "NVIDIA-GPU=GPU-uuid" (one each). */
function swarmGpus(value: Value | undefined): number | Unknown {
  if (value === UNKNOWN) return UNKNOWN;
  let count = 0;
  for (const field of ["discreteResourcesSpecs", "namedResourcesSpecs"] as const) {
    const items = list(at(value, field));
    if (items === UNKNOWN) return UNKNOWN;
    for (const item of items) {
      const s = str(item);
      if (typeof s !== "string" || !/gpu/i.test(s.split("=")[0] ?? "")) continue;
      count += field === "discreteResourcesSpecs" ? Number(s.split("=")[1]) || 0 : 1;
    }
  }
  return count;
}

function pathOf(value: Value | undefined): string | Unknown {
  const s = str(value);
  return s === UNKNOWN ? UNKNOWN : (s ?? "");
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

/** Docker volumesFrom: the container mounts every volume of the other one, at the same paths. */
export function expandVolumesFrom(workloads: Workload[]): void {
  const byName = new Map<string, Workload>();
  for (const w of workloads) if (w.family === "docker" && w.kind === "Container") byName.set(w.name, w);
  for (const w of workloads) {
    for (const [key, volume] of [...w.volumes]) {
      const source = volume.source;
      if (source === undefined || typeof source === "symbol" || source.kind !== "container-volumes") continue;
      const from = byName.get(source.container);
      const container = w.containers[0];
      if (!from || from === w || !container) continue;
      const via = container.mounts.find((m) => m.volume === key);
      for (const m of from.containers[0]?.mounts ?? []) {
        const theirs = from.volumes.get(m.volume);
        if (!theirs || theirs.source === undefined || (typeof theirs.source !== "symbol" && theirs.source.kind === "container-volumes"))
          continue;
        const name = `${key} → ${m.volume}`;
        w.volumes.set(name, { ...theirs, name, where: `${volume.where} (${m.where} of container "${from.name}")` });
        // `:ro` makes every mount read-only; without it each keeps the source container's mode.
        const readOnly = via?.readOnly === true ? true : m.readOnly;
        container.mounts.push({
          volume: name,
          path: m.path,
          readOnly,
          where: `${via?.where ?? volume.where} → ${m.where} of "${from.name}"`,
        });
      }
    }
  }
}
