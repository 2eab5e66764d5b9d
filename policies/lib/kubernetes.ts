/**
 * Kubernetes workloads → Workload: the pod spec inside a Deployment, StatefulSet, DaemonSet,
 * ReplicaSet, Job, CronJob or Pod, with its containers and init containers, volumes, labels.
 */
import { parseQuantity, quantityToMiB } from "./core";
import { at, list, num, type Obj, obj, str, stringMap, UNKNOWN, type Unknown, type Value } from "./values";
import type { Container, EnvSource, EnvVar, Mount, StartupGrace, Volume, VolumeKind, Workload } from "./workload";

export const GPU_RESOURCE = "nvidia.com/gpu";

export const K8S = {
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  replicaSet: "kubernetes:apps/v1:ReplicaSet",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
  pod: "kubernetes:core/v1:Pod",
  pvc: "kubernetes:core/v1:PersistentVolumeClaim",
  pv: "kubernetes:core/v1:PersistentVolume",
} as const;

/** Where each workload type keeps its pod template: [path to the template, kind]. */
const POD_TEMPLATES: Record<string, { path: string[]; kind: string }> = {
  [K8S.deployment]: { path: ["spec", "template"], kind: "Deployment" },
  [K8S.statefulSet]: { path: ["spec", "template"], kind: "StatefulSet" },
  [K8S.daemonSet]: { path: ["spec", "template"], kind: "DaemonSet" },
  [K8S.replicaSet]: { path: ["spec", "template"], kind: "ReplicaSet" },
  [K8S.job]: { path: ["spec", "template"], kind: "Job" },
  [K8S.cronJob]: { path: ["spec", "jobTemplate", "spec", "template"], kind: "CronJob" },
  [K8S.pod]: { path: [], kind: "Pod" },
};

export function isKubernetesWorkload(type: string): boolean {
  return type in POD_TEMPLATES;
}

export function readKubernetesWorkload(type: string, urn: string, name: string, props: Obj): Workload | undefined {
  const template = POD_TEMPLATES[type];
  if (!template) return undefined;
  const pod = template.path.length === 0 ? props : at(props, ...template.path);
  const spec = at(pod, "spec");
  const metadataLabels = stringMap(at(props, "metadata", "labels"));
  const podLabels = template.path.length === 0 ? metadataLabels : stringMap(at(pod, "metadata", "labels"));
  // The pod's own labels are what it runs with; the object's metadata labels fill in what it lacks.
  const labels = podLabels === UNKNOWN ? UNKNOWN : metadataLabels === UNKNOWN ? podLabels : { ...metadataLabels, ...podLabels };
  const metaName = str(at(props, "metadata", "name"));
  const display = typeof metaName === "string" ? metaName : name;
  const namespace = str(at(props, "metadata", "namespace"));

  const volumes = new Map<string, Volume>();
  const ns = namespace === undefined ? "default" : namespace;
  const volumeItems = list(at(spec, "volumes"));
  if (volumeItems !== UNKNOWN)
    volumeItems.forEach((v, i) => {
      addPodVolume(volumes, v, i, ns);
    });
  const claimTemplates = list(at(props, "spec", "volumeClaimTemplates"));
  if (type === K8S.statefulSet && claimTemplates !== UNKNOWN) {
    claimTemplates.forEach((t, i) => {
      const claim = str(at(t, "metadata", "name"));
      if (typeof claim === "string") {
        volumes.set(claim, { name: claim, kind: "pvc-template", ref: undefined, where: `spec.volumeClaimTemplates[${i}]` });
      }
    });
  }

  const containers: Container[] = [];
  const problems: string[] = [];
  for (const [field, init] of [
    ["initContainers", true],
    ["containers", false],
  ] as const) {
    const items = list(at(spec, field));
    if (items === UNKNOWN) {
      problems.push(`spec.${field} is unknown during preview`);
      continue;
    }
    items.forEach((c, i) => {
      containers.push(readContainer(c, i, init, field));
    });
  }

  let replicas: Workload["replicas"];
  if (type === K8S.daemonSet) replicas = "per-node";
  else if (type === K8S.job) replicas = countOf(at(props, "spec", "parallelism"));
  else if (type === K8S.cronJob) replicas = countOf(at(props, "spec", "jobTemplate", "spec", "parallelism"));
  else if (type === K8S.pod) replicas = 1;
  else replicas = countOf(at(props, "spec", "replicas"));

  return {
    urn,
    type,
    name: display,
    family: "kubernetes",
    kind: template.kind,
    labels,
    containers,
    volumes,
    namespace: ns,
    replicas,
    restartPolicy: str(at(spec, "restartPolicy")),
    problems,
  };
}

/** replicas/parallelism default to 1. */
function countOf(value: Value | undefined): number | Unknown {
  const n = num(value);
  return n === undefined ? 1 : n;
}

const CONFIG_SOURCES = ["configMap", "secret", "downwardAPI", "projected", "serviceAccountToken"];

function addPodVolume(volumes: Map<string, Volume>, v: Value, i: number, namespace: string | Unknown): void {
  const name = str(at(v, "name"));
  if (typeof name !== "string") return;
  const where = `spec.volumes[${i}] "${name}"`;
  const claim = obj(at(v, "persistentVolumeClaim"));
  if (claim !== undefined) {
    const claimName = claim === UNKNOWN ? UNKNOWN : str(claim["claimName"]);
    // A namespace unknown during preview still names the claim: `pvc:*/<claim>` matches any namespace.
    const ref =
      claimName === UNKNOWN ? UNKNOWN : claimName === undefined ? undefined : pvcRef(namespace === UNKNOWN ? "*" : namespace, claimName);
    const readOnly = claim === UNKNOWN ? UNKNOWN : readOnlyOf(claim["readOnly"]);
    volumes.set(name, { name, kind: "pvc", ref, sourceReadOnly: readOnly, where });
    return;
  }
  const kinds: [string, VolumeKind][] = [
    ["emptyDir", "ephemeral"],
    ["ephemeral", "ephemeral"],
    ["hostPath", "host"],
    ["nfs", "nfs"],
    ["csi", "csi"],
    ...CONFIG_SOURCES.map((s): [string, VolumeKind] => [s, "config"]),
  ];
  for (const [field, kind] of kinds) {
    const source = at(v, field);
    if (source === undefined) continue;
    let ref: string | Unknown | undefined;
    if (kind === "host") ref = prefixed("host", str(at(source, "path")));
    if (kind === "nfs") ref = prefixed("nfs", joinKnown(str(at(source, "server")), str(at(source, "path"))));
    if (kind === "csi") ref = prefixed("csi", joinKnown(str(at(source, "driver")), str(at(source, "volumeAttributes", "path"))));
    const sourceReadOnly = kind === "nfs" || kind === "csi" ? readOnlyOf(at(source, "readOnly")) : undefined;
    volumes.set(name, { name, kind, ref, ...(sourceReadOnly === undefined ? {} : { sourceReadOnly }), where });
    return;
  }
  volumes.set(name, { name, kind: "other", ref: undefined, where });
}

export function pvcRef(namespace: string, claimName: string): string {
  return `pvc:${namespace}/${claimName}`;
}

function prefixed(prefix: string, value: string | Unknown | undefined): string | Unknown | undefined {
  return value === UNKNOWN ? UNKNOWN : value === undefined ? undefined : `${prefix}:${value}`;
}

function joinKnown(a: string | Unknown | undefined, b: string | Unknown | undefined): string | Unknown | undefined {
  if (a === UNKNOWN || b === UNKNOWN) return UNKNOWN;
  if (a === undefined) return undefined;
  return b === undefined ? a : `${a}:${b}`;
}

function readOnlyOf(value: Value | undefined): boolean | Unknown {
  if (value === UNKNOWN) return UNKNOWN;
  return value === true || value === "true";
}

function readContainer(c: Value, index: number, init: boolean, field: string): Container {
  const rawName = str(at(c, "name"));
  const name = typeof rawName === "string" ? rawName : `${field}[${index}]`;
  const where = `spec.${field}[${index}] "${name}"`;

  const env = new Map<string, EnvVar>();
  const envItems = list(at(c, "env"));
  let envUnknown = envItems === UNKNOWN;
  for (const item of envItems === UNKNOWN ? [] : envItems) {
    if (item === UNKNOWN) {
      envUnknown = true;
      continue;
    }
    const key = str(at(item, "name"));
    if (typeof key !== "string") continue;
    const valueFrom = obj(at(item, "valueFrom"));
    if (valueFrom !== undefined) {
      env.set(key, { name: key, value: undefined, ...describeValueFrom(valueFrom) });
      continue;
    }
    const value = str(at(item, "value"));
    env.set(key, { name: key, value: value === undefined ? "" : value });
  }

  const envSources: EnvSource[] = [];
  const envFrom = list(at(c, "envFrom"));
  if (envFrom === UNKNOWN) envSources.push({ description: "envFrom (unknown during preview)", secret: true });
  else
    for (const item of envFrom) {
      const secret = str(at(item, "secretRef", "name"));
      const config = str(at(item, "configMapRef", "name"));
      const prefix = str(at(item, "prefix"));
      const pre = typeof prefix === "string" && prefix !== "" ? ` (prefix ${prefix})` : "";
      if (secret !== undefined) envSources.push({ description: `envFrom secretRef ${nameOf(secret)}${pre}`, secret: true });
      else if (config !== undefined) envSources.push({ description: `envFrom configMapRef ${nameOf(config)}${pre}`, secret: false });
      else envSources.push({ description: "envFrom", secret: false });
    }

  const mounts: Mount[] = [];
  const mountItems = list(at(c, "volumeMounts"));
  if (mountItems !== UNKNOWN)
    mountItems.forEach((m, i) => {
      const volume = str(at(m, "name"));
      if (typeof volume !== "string") return;
      const path = str(at(m, "mountPath"));
      const subPath = str(at(m, "subPath")) ?? str(at(m, "subPathExpr"));
      mounts.push({
        volume,
        path: path === UNKNOWN ? UNKNOWN : (path ?? ""),
        readOnly: readOnlyOf(at(m, "readOnly")),
        ...(typeof subPath === "string" && subPath !== "" ? { subPath } : {}),
        where: `volumeMounts[${i}]`,
      });
    });

  const memory = at(c, "resources", "limits", "memory");
  let memoryLimitMiB: Container["memoryLimitMiB"];
  if (memory === UNKNOWN) memoryLimitMiB = UNKNOWN;
  else if (memory === undefined || memory === null) memoryLimitMiB = undefined;
  else {
    const text = typeof memory === "number" ? memory : str(memory);
    const mib = text === undefined || text === UNKNOWN ? undefined : quantityToMiB(text);
    memoryLimitMiB = mib === undefined ? "invalid" : mib;
  }

  const gpu = at(c, "resources", "limits", GPU_RESOURCE);
  let gpus: Container["gpus"] = 0;
  if (gpu === UNKNOWN) gpus = UNKNOWN;
  else if (gpu !== undefined && gpu !== null) {
    const text = typeof gpu === "number" ? gpu : str(gpu);
    const q = text === undefined || text === UNKNOWN ? undefined : parseQuantity(text);
    gpus = q === undefined || q.numerator <= 0n ? 0 : Number(q.numerator) / Number(q.denominator);
  }

  return {
    name,
    init,
    index,
    where,
    env,
    envUnknown,
    envSources,
    mounts,
    mountsUnknown: mountItems === UNKNOWN,
    labels: {},
    memoryLimitMiB,
    memoryLimitSource: "resources.limits.memory",
    gpus,
    gpuSource: `resources.limits["${GPU_RESOURCE}"]`,
    startup: probeWindow(c),
  };
}

function text(value: Value | undefined): string {
  const s = str(value);
  return typeof s === "string" ? s : "?";
}

function nameOf(value: string | Unknown): string {
  return value === UNKNOWN ? "(unknown)" : `"${value}"`;
}

function describeValueFrom(valueFrom: Obj | Unknown): { ref: string; secretRef: boolean } {
  if (valueFrom === UNKNOWN) return { ref: "valueFrom (unknown during preview)", secretRef: true };
  const secret = obj(valueFrom["secretKeyRef"]);
  if (secret !== undefined) {
    const ref = secret === UNKNOWN ? "secretKeyRef" : `secretKeyRef ${text(secret["name"])}/${text(secret["key"])}`;
    return { ref, secretRef: true };
  }
  const config = obj(valueFrom["configMapKeyRef"]);
  if (config !== undefined) {
    const ref = config === UNKNOWN ? "configMapKeyRef" : `configMapKeyRef ${text(config["name"])}/${text(config["key"])}`;
    return { ref, secretRef: false };
  }
  if (valueFrom["fieldRef"] !== undefined) return { ref: "fieldRef", secretRef: false };
  if (valueFrom["resourceFieldRef"] !== undefined) return { ref: "resourceFieldRef", secretRef: false };
  return { ref: "valueFrom", secretRef: false };
}

/** The startup window: startupProbe, else livenessProbe (which kills a slow loader), each `initialDelay + period × failures`. */
function probeWindow(c: Value): StartupGrace {
  for (const kind of ["startupProbe", "livenessProbe"] as const) {
    const probe = at(c, kind);
    if (probe === undefined || probe === null) continue;
    if (probe === UNKNOWN) return { kind, windowSeconds: UNKNOWN, detail: kind };
    const initial = num(at(probe, "initialDelaySeconds")) ?? 0;
    const period = num(at(probe, "periodSeconds")) ?? 10;
    const failures = num(at(probe, "failureThreshold")) ?? 3;
    if (initial === UNKNOWN || period === UNKNOWN || failures === UNKNOWN) return { kind, windowSeconds: UNKNOWN, detail: kind };
    return {
      kind,
      windowSeconds: initial + period * failures,
      detail: `${kind} initialDelaySeconds ${initial} + periodSeconds ${period} × failureThreshold ${failures}`,
    };
  }
  return { kind: "none", windowSeconds: undefined, detail: "no startupProbe" };
}
