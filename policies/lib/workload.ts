/**
 * One shape for every workload the pack checks, whatever family wrote it: a Docker container, a
 * Kubernetes pod spec (inside a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or
 * Pod) or an ECS task definition. Readers (docker.ts, kubernetes.ts, ecs.ts) build it; rules only
 * ever see this shape, so a rule is written once for all families.
 */
import { isPathUnder, LABELS, LEGACY_CACHE_ENV_KEYS, REQUIRED_CACHE_ENV_KEYS, ROLES, type Role } from "./core";
import type { StorageRef } from "./storage";
import { UNKNOWN, type Unknown } from "./values";

export type Family = "docker" | "kubernetes" | "ecs";

/**
 * Where a value the pack cannot read directly stands:
 * - `pending`: a ConfigMap or Secret the stack check resolves (the resource check alone cannot);
 * - `outside`: a ConfigMap or Secret that is not part of the stack: unknown at deploy too;
 * - `preview-unknown`: known only once the resources it depends on exist (the update checks it);
 * - `unreadable`: never visible to the pack (ECS env files and secrets, fieldRef, the Docker host's environment);
 * - `resolved`: the stack check read it from a ConfigMap or Secret of the stack.
 */
export type RefState = "pending" | "outside" | "preview-unknown" | "unreadable" | "resolved";

/** A Kubernetes ConfigMap or Secret a variable or an envFrom names. */
export interface ObjectRef {
  kind: "configMap" | "secret";
  namespace: string | Unknown;
  name: string | Unknown;
  /** The key (configMapKeyRef/secretKeyRef); envFrom takes every key. */
  key?: string | Unknown;
  /** envFrom's prefix. */
  prefix?: string;
  optional: boolean;
}

export interface EnvRef {
  /** For messages: `secretKeyRef "hf"/token`, `envFrom configMapRef "settings"`. */
  description: string;
  secret: boolean;
  state: RefState;
  target?: ObjectRef;
}

export interface EnvVar {
  name: string;
  /** The value; UNKNOWN during preview; undefined while it stands behind an unresolved reference. */
  value: string | Unknown | undefined;
  /** Where a non-literal value comes from (kept once the stack resolved it, for messages). */
  ref?: EnvRef;
}

/** A whole set of variables from elsewhere: Kubernetes envFrom, ECS environmentFiles. Explicit variables win over it. */
export type EnvSource = EnvRef;

export interface Mount {
  /** Key into `Workload.volumes`. */
  volume: string;
  path: string | Unknown;
  /** An unset readOnly is read-write. */
  readOnly: boolean | Unknown;
  subPath?: string;
  /** Where it is written, for messages: `volumeMounts[0]`. */
  where: string;
}

export type StartupKind = "docker-healthcheck" | "startupProbe" | "livenessProbe" | "ecs-healthCheck";

export interface StartupGrace {
  kind: StartupKind | "none" | "disabled";
  /** Seconds the container may take to start before health checks can kill or fail it. */
  windowSeconds: number | Unknown | undefined;
  /** How the window was computed, for messages. */
  detail: string;
}

export interface Container {
  name: string;
  init: boolean;
  /** Position among its kind (init containers run in this order). */
  index: number;
  /** Where it is written, for messages: `initContainers[0] "verify"`. */
  where: string;
  /** Explicit variables; a later duplicate wins, as in Kubernetes and Docker. */
  env: Map<string, EnvVar>;
  /** The whole variable list is unknown during preview. */
  envUnknown: boolean;
  envSources: EnvSource[];
  mounts: Mount[];
  mountsUnknown: boolean;
  /** Container-level contract labels (ECS dockerLabels); Docker and Kubernetes use the workload's. */
  labels: Record<string, string> | Unknown;
  /** Memory limit in MiB; "invalid" when set but unparsable. */
  memoryLimitMiB: number | Unknown | "invalid" | undefined;
  memoryLimitSource: string;
  /** GPUs requested: a count, "all", UNKNOWN, or 0. */
  gpus: number | "all" | Unknown;
  gpuSource: string;
  startup: StartupGrace;
  /** ECS only. */
  essential?: boolean | Unknown;
  dependsOn?: { containerName: string; condition: string | Unknown }[] | Unknown;
}

/** `storage` has a source the pack can identify; `config`/`secret` hold files the pod spec lists (ConfigMap, Secret, projected). */
export type VolumeKind = "storage" | "pvc-template" | "ecs-docker-volume" | "ephemeral" | "config" | "secret" | "other";

export interface Volume {
  name: string;
  kind: VolumeKind;
  /** What backs it, when it is storage: UNKNOWN during preview, undefined when it names none (anonymous). */
  source?: StorageRef | Unknown;
  /** Kubernetes `persistentVolumeClaim.readOnly` (or another source's readOnly). */
  sourceReadOnly?: boolean | Unknown;
  where: string;
}

/** Something the reader could not read: unknown during preview (advisory) or not readable at all (mandatory). */
export interface ReadProblem {
  what: string;
  kind: "preview-unknown" | "unreadable";
}

export interface Workload {
  urn: string;
  type: string;
  name: string;
  family: Family;
  /** Container, Deployment, Job, Pod, TaskDefinition, ... */
  kind: string;
  /** The contract labels that apply to the whole workload (pod template labels for Kubernetes). */
  labels: Record<string, string> | Unknown;
  containers: Container[];
  volumes: Map<string, Volume>;
  namespace?: string | Unknown;
  /** Pods or tasks run at once (replicas, Job parallelism); "per-node" for DaemonSets. */
  replicas?: number | Unknown | "per-node";
  /** Kubernetes restartPolicy of the pod. */
  restartPolicy?: string | Unknown;
  docker?: { mustRun: boolean | Unknown | undefined; attach: boolean | Unknown | undefined; restart: string | Unknown | undefined };
  /** ECS task-level memory (MiB), used when a container sets none. */
  taskMemoryMiB?: number | Unknown | "invalid";
  /** What the reader could not read, e.g. containerDefinitions that is not JSON. */
  problems: ReadProblem[];
  /** A `*Patch` resource: the object it patches (kind, namespace, name). */
  patchOf?: { kind: string; namespace: string; name: string };
}

export function roleOf(labels: Record<string, string> | Unknown): Role | undefined {
  if (labels === UNKNOWN) return undefined;
  const role = labels[LABELS.role];
  return (ROLES as readonly string[]).includes(role ?? "") ? (role as Role) : undefined;
}

export function labelOf(labels: Record<string, string> | Unknown, key: string): string | Unknown | undefined {
  return labels === UNKNOWN ? UNKNOWN : labels[key];
}

/** A container's labels: its own (ECS) where it has contract labels, else the workload's. */
export function containerLabels(w: Workload, c: Container): Record<string, string> | Unknown {
  if (c.labels !== UNKNOWN && roleOf(c.labels) !== undefined) return c.labels;
  return w.labels;
}

/** The cache roots a container's environment points at (known literal values only). */
export function cacheRoots(c: Container): string[] {
  const roots = new Set<string>();
  for (const key of [...REQUIRED_CACHE_ENV_KEYS, ...LEGACY_CACHE_ENV_KEYS]) {
    const v = c.env.get(key)?.value;
    if (typeof v === "string" && v.startsWith("/")) roots.add(v);
  }
  return [...roots];
}

const NON_STORAGE: ReadonlySet<VolumeKind> = new Set(["ephemeral", "config", "secret"]);

export const previewProblem = (what: string): ReadProblem => ({ what, kind: "preview-unknown" });
export const unreadableProblem = (what: string): ReadProblem => ({ what, kind: "unreadable" });

/**
 * The volumes of a workload that hold the cache, as far as the workload alone tells: those mounted
 * where the cache environment points (the mount contains a cache root, or sits inside one); when no
 * container says where the cache is, every storage volume (not emptyDir/tmpfs/config/secret).
 */
export function cacheVolumesByEnv(w: Workload): Set<string> {
  const roots = w.containers.flatMap(cacheRoots);
  const out = new Set<string>();
  if (roots.length > 0) {
    for (const c of w.containers) {
      for (const m of c.mounts) {
        if (typeof m.path !== "string") continue;
        const path = m.path;
        if (roots.some((root) => isPathUnder(root, path) || isPathUnder(path, root))) out.add(m.volume);
      }
    }
    return out;
  }
  for (const [name, volume] of w.volumes) if (!NON_STORAGE.has(volume.kind)) out.add(name);
  return out;
}
