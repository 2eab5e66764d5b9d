/**
 * The AWS family: ECS task definitions (`aws:ecs/taskDefinition:TaskDefinition`) → Workloads,
 * EFS file systems and access points → storage. A task's containers live in
 * `containerDefinitions`, a JSON string; each carries its own contract labels in `dockerLabels`
 * (a task may hold the downloader and its consumers).
 */
import { LABELS } from "./core";
import type { FamilyResource, StorageResource } from "./family";
import { type StorageRef, storageKey } from "./storage";
import { at, bool, isObj, list, num, obj, readOnlyOf, str, stringMap, toValue, UNKNOWN, type Unknown, type Value } from "./values";
import {
  type Container,
  type EnvSource,
  type EnvVar,
  type Mount,
  previewProblem,
  type ReadProblem,
  type StartupGrace,
  unreadableProblem,
  type Volume,
  type Workload,
} from "./workload";

export const ECS_TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
export const EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem";
export const EFS_ACCESS_POINT = "aws:efs/accessPoint:AccessPoint";

/** Container definitions larger than this are not parsed (ECS itself caps a task definition at 64 KiB). */
const MAX_DEFINITIONS_CHARS = 4 * 1024 * 1024;

export function readEcsWorkloads(r: FamilyResource): Workload[] {
  return r.type === ECS_TASK_DEFINITION ? [readEcsTaskDefinition(r)] : [];
}

export function readEcsTaskDefinition(r: FamilyResource): Workload {
  const props = r.props;
  const family = str(props["family"]);
  const display = typeof family === "string" ? family : r.name;
  const problems: ReadProblem[] = [];
  const volumes = new Map<string, Volume>();
  const volumeItems = list(props["volumes"]);
  if (volumeItems === UNKNOWN) problems.push(previewProblem("volumes"));
  else
    volumeItems.forEach((v, i) => {
      addVolume(volumes, v, i);
    });

  const definitions = parseDefinitions(props["containerDefinitions"], problems);
  const containers = definitions.map((d, i) => readContainer(d, i));
  expandVolumesFrom(definitions, containers);

  const taskMemory = props["memory"];
  let taskMemoryMiB: Workload["taskMemoryMiB"];
  if (taskMemory === UNKNOWN) taskMemoryMiB = UNKNOWN;
  else if (taskMemory !== undefined && taskMemory !== null) {
    const n = num(taskMemory);
    taskMemoryMiB = typeof n === "number" && n > 0 ? n : "invalid";
  }

  return {
    urn: r.urn,
    type: ECS_TASK_DEFINITION,
    name: display,
    family: "ecs",
    kind: "TaskDefinition",
    labels: stringMap(props["tags"]),
    containers,
    volumes,
    ...(taskMemoryMiB === undefined ? {} : { taskMemoryMiB }),
    problems,
  };
}

/**
 * An EFS file system tagged with the cache's name (or role=cache), or an access point of one:
 * identified by its id, its DNS name and (during preview, when the id is unknown) its URN.
 */
export function readEfsStorage(r: FamilyResource): StorageResource | undefined {
  if (r.type !== EFS_FILE_SYSTEM && r.type !== EFS_ACCESS_POINT) return undefined;
  const tags = stringMap(r.props["tags"]);
  const known = tags === UNKNOWN ? {} : tags;
  const id = str(r.props["id"]);
  const keys = [storageKey.urn(r.urn)];
  const links: string[] = [];
  if (r.type === EFS_FILE_SYSTEM) {
    if (typeof id === "string") keys.push(storageKey.efs(id));
    const dns = str(r.props["dnsName"]);
    if (typeof dns === "string") keys.push(storageKey.nfsServer(dns));
  } else {
    if (typeof id === "string") keys.push(storageKey.efsAccessPoint(id));
    const fs = str(r.props["fileSystemId"]);
    if (typeof fs === "string") links.push(storageKey.efs(fs));
    links.push(...r.deps.map(storageKey.urn));
  }
  const cacheName = known[LABELS.cache];
  return {
    labelled: known[LABELS.role] === "cache" || (cacheName !== undefined && cacheName !== ""),
    cacheName: cacheName === undefined || cacheName === "" ? undefined : cacheName,
    keys,
    links,
    description: `${r.type === EFS_FILE_SYSTEM ? "EFS file system" : "EFS access point"} "${r.name}"`,
  };
}

function parseDefinitions(value: Value | undefined, problems: ReadProblem[]): Value[] {
  if (value === UNKNOWN) {
    problems.push(previewProblem("containerDefinitions"));
    return [];
  }
  if (Array.isArray(value)) return value;
  if (typeof value !== "string") {
    if (value !== undefined && value !== null) problems.push(unreadableProblem("containerDefinitions is neither a JSON string nor a list"));
    return [];
  }
  if (value.length > MAX_DEFINITIONS_CHARS) {
    problems.push(unreadableProblem(`containerDefinitions is ${value.length} characters long; not parsed`));
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    problems.push(unreadableProblem(`containerDefinitions is not valid JSON (${err instanceof Error ? err.message : String(err)})`));
    return [];
  }
  if (!Array.isArray(parsed)) {
    problems.push(unreadableProblem("containerDefinitions is not a JSON list of container definitions"));
    return [];
  }
  const { value: definitions, cut } = toValue(parsed);
  if (cut) problems.push(unreadableProblem("containerDefinitions holds more values than the pack reads"));
  return Array.isArray(definitions) ? definitions : [];
}

function addVolume(volumes: Map<string, Volume>, v: Value, i: number): void {
  const name = str(at(v, "name"));
  if (typeof name !== "string") return;
  const where = `volumes[${i}] "${name}"`;
  const efs = obj(at(v, "efsVolumeConfiguration"));
  if (efs !== undefined) {
    const fs = efs === UNKNOWN ? UNKNOWN : str(efs["fileSystemId"]);
    const ap = efs === UNKNOWN ? undefined : str(at(efs, "authorizationConfig", "accessPointId"));
    const source: StorageRef | Unknown =
      fs === UNKNOWN || typeof fs !== "string"
        ? UNKNOWN
        : { kind: "efs", fileSystemId: fs, ...(typeof ap === "string" ? { accessPointId: ap } : {}) };
    volumes.set(name, { name, kind: "storage", source, where });
    return;
  }
  if (obj(at(v, "dockerVolumeConfiguration")) !== undefined) {
    volumes.set(name, { name, kind: "ecs-docker-volume", where });
    return;
  }
  const host = str(at(v, "hostPath"));
  if (host !== undefined) {
    volumes.set(name, { name, kind: "storage", source: host === UNKNOWN ? UNKNOWN : { kind: "host-path", path: host }, where });
    return;
  }
  // A volume with no source is a Docker-managed scratch volume that lives as long as the task.
  volumes.set(name, { name, kind: "ephemeral", where });
}

function readContainer(d: Value, index: number): Container {
  const rawName = str(at(d, "name"));
  const name = typeof rawName === "string" ? rawName : `containerDefinitions[${index}]`;
  const env = new Map<string, EnvVar>();
  for (const item of known(list(at(d, "environment")))) {
    const key = str(at(item, "name"));
    if (typeof key !== "string") continue;
    const value = str(at(item, "value"));
    env.set(key, { name: key, value: value ?? "" });
  }
  for (const item of known(list(at(d, "secrets")))) {
    const key = str(at(item, "name"));
    if (typeof key !== "string") continue;
    const from = str(at(item, "valueFrom"));
    env.set(key, {
      name: key,
      value: undefined,
      ref: { description: `secrets valueFrom ${typeof from === "string" ? from : "?"}`, secret: true, state: "unreadable" },
    });
  }
  // Env files live in S3: neither the pack nor anything at deploy reads them. Explicit variables win over them.
  const envSources: EnvSource[] = known(list(at(d, "environmentFiles"))).map((f) => {
    const value = str(at(f, "value"));
    return { description: `environmentFiles ${typeof value === "string" ? value : "?"}`, secret: true, state: "unreadable" };
  });

  const mounts: Mount[] = known(list(at(d, "mountPoints"))).flatMap((m, i): Mount[] => {
    const volume = str(at(m, "sourceVolume"));
    if (typeof volume !== "string") return [];
    const path = str(at(m, "containerPath"));
    return [
      {
        volume,
        path: path === UNKNOWN ? UNKNOWN : (path ?? ""),
        readOnly: readOnlyOf(at(m, "readOnly")),
        where: `mountPoints[${i}]`,
      },
    ];
  });

  const memory = num(at(d, "memory"));
  let gpus = 0;
  for (const r of known(list(at(d, "resourceRequirements")))) {
    if (str(at(r, "type")) === "GPU") gpus += Number(str(at(r, "value")) ?? 0) || 0;
  }
  const dependsOn = known(list(at(d, "dependsOn"))).flatMap((dep): { containerName: string; condition: string | Unknown }[] => {
    const containerName = str(at(dep, "containerName"));
    const condition = str(at(dep, "condition"));
    return typeof containerName === "string" ? [{ containerName, condition: condition ?? "START" }] : [];
  });
  const labels = stringMap(at(d, "dockerLabels"));
  const essential = bool(at(d, "essential"));

  return {
    name,
    init: false,
    index,
    where: `containerDefinitions[${index}] "${name}"`,
    env,
    envUnknown: false,
    envSources,
    mounts,
    mountsUnknown: false,
    labels,
    memoryLimitMiB: memory === UNKNOWN ? UNKNOWN : memory === undefined || memory <= 0 ? undefined : memory,
    memoryLimitSource: "memory",
    gpus,
    gpuSource: 'resourceRequirements [{type: "GPU"}]',
    startup: healthCheck(at(d, "healthCheck")),
    // ECS: a container is essential unless it says otherwise.
    essential: essential === undefined ? true : essential,
    dependsOn,
  };
}

function known(items: Value[] | Unknown): Value[] {
  return items === UNKNOWN ? [] : items.filter((i) => i !== UNKNOWN && isObj(i));
}

/** `volumesFrom` mounts every volume of another container; read-write unless it says readOnly. */
function expandVolumesFrom(definitions: Value[], containers: Container[]): void {
  const byName = new Map(containers.map((c) => [c.name, c]));
  definitions.forEach((d, i) => {
    const target = containers[i];
    if (!target) return;
    known(list(at(d, "volumesFrom"))).forEach((vf, j) => {
      const source = byName.get(String(str(at(vf, "sourceContainer")) ?? ""));
      if (!source || source === target) return;
      const readOnly = readOnlyOf(at(vf, "readOnly"));
      for (const m of source.mounts) {
        target.mounts.push({ ...m, readOnly, where: `volumesFrom[${j}] "${source.name}" (${m.where})` });
      }
    });
  });
}

function healthCheck(value: Value | undefined): StartupGrace {
  if (value === undefined || value === null) return { kind: "none", windowSeconds: undefined, detail: "no healthCheck" };
  const start = num(at(value, "startPeriod"));
  if (start === UNKNOWN) return { kind: "ecs-healthCheck", windowSeconds: UNKNOWN, detail: "healthCheck.startPeriod" };
  return {
    kind: "ecs-healthCheck",
    windowSeconds: start ?? 0,
    detail: start === undefined ? "healthCheck.startPeriod unset (0 s)" : `healthCheck.startPeriod ${start}`,
  };
}
