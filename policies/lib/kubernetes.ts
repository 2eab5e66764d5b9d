/**
 * The Kubernetes family: every kind that runs a pod (Pod, ReplicationController, ReplicaSet,
 * Deployment, StatefulSet, DaemonSet, Job, CronJob, in every API version pulumi-kubernetes has)
 * in its plain, `*Patch` and `*List` forms → Workloads; PersistentVolumeClaims and
 * PersistentVolumes → storage; ConfigMaps and Secrets → the variables they hold.
 */
import { GPU_RESOURCE, LABELS, parseQuantity, quantityToMiB } from "./core";
import type { EnvObject, FamilyResource, StorageResource } from "./family";
import { type StorageRef, storageKey, storageKeys } from "./storage";
import { at, list, num, type Obj, obj, readOnlyOf, str, stringMap, UNKNOWN, type Unknown, type Value } from "./values";
import {
  type Container,
  type EnvRef,
  type EnvSource,
  type EnvVar,
  type Mount,
  type ObjectRef,
  previewProblem,
  type ReadProblem,
  type StartupGrace,
  type Volume,
  type Workload,
} from "./workload";

export { GPU_RESOURCE };

export const K8S = {
  pvc: "kubernetes:core/v1:PersistentVolumeClaim",
  pv: "kubernetes:core/v1:PersistentVolume",
  configMap: "kubernetes:core/v1:ConfigMap",
  secret: "kubernetes:core/v1:Secret",
  helmRelease: "kubernetes:helm.sh/v3:Release",
} as const;

/** Where each workload kind keeps its pod template. */
const POD_TEMPLATES: Record<string, string[]> = {
  Pod: [],
  ReplicationController: ["spec", "template"],
  ReplicaSet: ["spec", "template"],
  Deployment: ["spec", "template"],
  StatefulSet: ["spec", "template"],
  DaemonSet: ["spec", "template"],
  Job: ["spec", "template"],
  CronJob: ["spec", "jobTemplate", "spec", "template"],
};

export type KubernetesForm = "" | "Patch" | "List";

/** `kubernetes:<group>/<version>:<Kind>[Patch|List]` → its parts (undefined for other types). */
export function kubernetesType(type: string): { apiVersion: string; kind: string; form: KubernetesForm } | undefined {
  const m = /^kubernetes:([^:]+):([A-Za-z0-9]+?)(Patch|List)?$/.exec(type);
  if (!m?.[1] || !m[2]) return undefined;
  return { apiVersion: m[1], kind: m[2], form: (m[3] ?? "") as KubernetesForm };
}

export function isKubernetesWorkload(type: string): boolean {
  const t = kubernetesType(type);
  return t !== undefined && Object.hasOwn(POD_TEMPLATES, t.kind);
}

/** The workloads a Kubernetes resource holds: one, or one per item of a `*List`. */
export function readKubernetesWorkloads(r: FamilyResource): Workload[] {
  const t = kubernetesType(r.type);
  if (!t || !Object.hasOwn(POD_TEMPLATES, t.kind)) return [];
  if (t.form === "List") {
    const items = list(r.props["items"]);
    if (items === UNKNOWN) return [{ ...emptyWorkload(r, t.kind), problems: [previewProblem("items")] }];
    return items.flatMap((item, i) =>
      item !== null && typeof item === "object" && !Array.isArray(item) ? [readOne(r, t.kind, item as Obj, "", `items[${i}]`)] : [],
    );
  }
  return [readOne(r, t.kind, r.props, t.form, undefined)];
}

function emptyWorkload(r: FamilyResource, kind: string): Workload {
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    family: "kubernetes",
    kind,
    labels: {},
    containers: [],
    volumes: new Map(),
    problems: [],
  };
}

function readOne(r: FamilyResource, kind: string, props: Obj, form: KubernetesForm, item: string | undefined): Workload {
  const templatePath = POD_TEMPLATES[kind] ?? [];
  const pod = templatePath.length === 0 ? props : at(props, ...templatePath);
  const spec = at(pod, "spec");
  const metadataLabels = stringMap(at(props, "metadata", "labels"));
  const podLabels = templatePath.length === 0 ? metadataLabels : stringMap(at(pod, "metadata", "labels"));
  // The pod's own labels are what it runs with; the object's metadata labels fill in what it lacks.
  const labels = podLabels === UNKNOWN ? UNKNOWN : metadataLabels === UNKNOWN ? podLabels : { ...metadataLabels, ...podLabels };
  const metaName = str(at(props, "metadata", "name"));
  const display = typeof metaName === "string" ? metaName : item ? `${r.name} ${item}` : r.name;
  const rawNamespace = str(at(props, "metadata", "namespace"));
  const namespace = rawNamespace === undefined ? "default" : rawNamespace;

  const volumes = new Map<string, Volume>();
  const problems: ReadProblem[] = [];
  const volumeItems = list(at(spec, "volumes"));
  if (volumeItems === UNKNOWN) problems.push(previewProblem("spec.volumes"));
  else
    volumeItems.forEach((v, i) => {
      addPodVolume(volumes, v, i, namespace);
    });
  const claimTemplates = list(at(props, "spec", "volumeClaimTemplates"));
  if (kind === "StatefulSet" && claimTemplates !== UNKNOWN) {
    claimTemplates.forEach((template, i) => {
      const claim = str(at(template, "metadata", "name"));
      if (typeof claim === "string") volumes.set(claim, { name: claim, kind: "pvc-template", where: `spec.volumeClaimTemplates[${i}]` });
    });
  }

  const containers: Container[] = [];
  for (const [field, init] of [
    ["initContainers", true],
    ["containers", false],
  ] as const) {
    const items = list(at(spec, field));
    if (items === UNKNOWN) {
      problems.push(previewProblem(`spec.${field}`));
      continue;
    }
    items.forEach((container, i) => {
      containers.push(readContainer(container, i, init, field, namespace));
    });
  }

  let replicas: Workload["replicas"];
  if (kind === "DaemonSet") replicas = "per-node";
  else if (kind === "Job") replicas = countOf(at(props, "spec", "parallelism"));
  else if (kind === "CronJob") replicas = countOf(at(props, "spec", "jobTemplate", "spec", "parallelism"));
  else if (kind === "Pod") replicas = 1;
  else replicas = countOf(at(props, "spec", "replicas"));

  return {
    urn: r.urn,
    type: r.type,
    name: display,
    family: "kubernetes",
    kind,
    labels,
    containers,
    volumes,
    namespace,
    replicas,
    restartPolicy: str(at(spec, "restartPolicy")),
    problems,
    ...(form === "Patch" && typeof metaName === "string" && typeof namespace === "string"
      ? { patchOf: { kind, namespace, name: metaName } }
      : {}),
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
    const source: StorageRef | Unknown | undefined =
      claimName === UNKNOWN
        ? UNKNOWN
        : claimName === undefined
          ? undefined
          : // A namespace unknown during preview still names the claim: the stack matches it in any namespace.
            { kind: "pvc", namespace: namespace === UNKNOWN ? undefined : namespace, claim: claimName };
    const readOnly = claim === UNKNOWN ? UNKNOWN : readOnlyOf(claim["readOnly"]);
    volumes.set(name, { name, kind: "storage", ...(source === undefined ? {} : { source }), sourceReadOnly: readOnly, where });
    return;
  }
  for (const field of ["hostPath", "nfs", "csi"] as const) {
    const spec = at(v, field);
    if (spec === undefined) continue;
    volumes.set(name, {
      name,
      kind: "storage",
      source: volumeSource(field, spec),
      sourceReadOnly: readOnlyOf(at(spec, "readOnly")),
      where,
    });
    return;
  }
  if (at(v, "emptyDir") !== undefined || at(v, "ephemeral") !== undefined) {
    volumes.set(name, { name, kind: "ephemeral", where });
    return;
  }
  if (CONFIG_SOURCES.some((field) => at(v, field) !== undefined)) {
    volumes.set(name, { name, kind: at(v, "secret") !== undefined || at(v, "projected") !== undefined ? "secret" : "config", where });
    return;
  }
  // Any other source (awsElasticBlockStore, iscsi, ...) is storage the pack cannot identify.
  volumes.set(name, { name, kind: "other", where });
}

/** A pod volume's or a PersistentVolume's hostPath / nfs / csi source. */
function volumeSource(field: "hostPath" | "nfs" | "csi", spec: Value): StorageRef | Unknown {
  if (spec === UNKNOWN) return UNKNOWN;
  if (field === "hostPath") {
    const path = str(at(spec, "path"));
    return typeof path === "string" ? { kind: "host-path", path } : UNKNOWN;
  }
  if (field === "nfs") {
    const server = str(at(spec, "server"));
    const path = str(at(spec, "path"));
    return typeof server === "string" ? { kind: "nfs", server, path: typeof path === "string" ? path : "/" } : UNKNOWN;
  }
  const driver = str(at(spec, "driver"));
  // A PV names its volume in volumeHandle; an inline volume has only volumeAttributes (EFS: the
  // file system id among them). Either identifies the storage.
  const handle = str(at(spec, "volumeHandle")) ?? attributeHandle(at(spec, "volumeAttributes"));
  if (driver === UNKNOWN || handle === UNKNOWN) return UNKNOWN;
  return { kind: "csi", driver: driver ?? "", handle: handle ?? "" };
}

/** An inline CSI volume's identity: the attribute naming an EFS file system, else all attributes. */
function attributeHandle(attributes: Value | undefined): string | Unknown | undefined {
  if (attributes === UNKNOWN) return UNKNOWN;
  const values = Object.values(stringMap(attributes) as Record<string, string>);
  return values.find((value) => /\bfs-[0-9a-f]+/.test(value)) ?? (values.length > 0 ? values.join(",") : undefined);
}

/** `"name"`, or (unknown) during preview. */
function nameOf(value: string | Unknown | undefined): string {
  return value === UNKNOWN ? "(unknown)" : `"${value ?? ""}"`;
}

function objectRef(
  kind: "configMap" | "secret",
  source: Value,
  namespace: string | Unknown,
  extra: { key?: boolean; prefix?: string },
): ObjectRef {
  const name = str(at(source, "name"));
  const key = extra.key ? str(at(source, "key")) : undefined;
  return {
    kind,
    namespace,
    name: name ?? "",
    ...(extra.key ? { key: key ?? "" } : {}),
    ...(extra.prefix ? { prefix: extra.prefix } : {}),
    optional: at(source, "optional") === true,
  };
}

function readContainer(c: Value, index: number, init: boolean, field: string, namespace: string | Unknown): Container {
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
      env.set(key, { name: key, value: undefined, ref: valueFromRef(valueFrom, namespace) });
      continue;
    }
    const value = str(at(item, "value"));
    env.set(key, { name: key, value: value === undefined ? "" : value });
  }

  const envSources: EnvSource[] = [];
  const envFrom = list(at(c, "envFrom"));
  if (envFrom === UNKNOWN) envSources.push({ description: "envFrom", secret: true, state: "preview-unknown" });
  else
    for (const item of envFrom) {
      const prefix = str(at(item, "prefix"));
      const pre = typeof prefix === "string" && prefix !== "" ? prefix : undefined;
      const shown = pre ? ` (prefix ${pre})` : "";
      const secret = at(item, "secretRef");
      const config = at(item, "configMapRef");
      if (secret !== undefined) {
        const target = objectRef("secret", secret, namespace, pre ? { prefix: pre } : {});
        envSources.push({ description: `envFrom secretRef ${nameOf(target.name)}${shown}`, secret: true, state: "pending", target });
      } else if (config !== undefined) {
        const target = objectRef("configMap", config, namespace, pre ? { prefix: pre } : {});
        envSources.push({ description: `envFrom configMapRef ${nameOf(target.name)}${shown}`, secret: false, state: "pending", target });
      } else if (item === UNKNOWN) envSources.push({ description: "envFrom", secret: true, state: "preview-unknown" });
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

function valueFromRef(valueFrom: Obj | Unknown, namespace: string | Unknown): EnvRef {
  if (valueFrom === UNKNOWN) return { description: "valueFrom", secret: true, state: "preview-unknown" };
  for (const [field, kind] of [
    ["secretKeyRef", "secret"],
    ["configMapKeyRef", "configMap"],
  ] as const) {
    const source = valueFrom[field];
    if (source === undefined) continue;
    if (source === UNKNOWN) return { description: field, secret: kind === "secret", state: "preview-unknown" };
    const target = objectRef(kind, source, namespace, { key: true });
    return {
      description: `${field} ${nameOf(target.name)}/${nameOf(target.key)}`,
      secret: kind === "secret",
      state: "pending",
      target,
    };
  }
  // fieldRef / resourceFieldRef: the kubelet fills them in; the pack never sees the value.
  const kind = Object.keys(valueFrom)[0] ?? "valueFrom";
  return { description: kind, secret: false, state: "unreadable" };
}

// ---------------------------------------------------------------------------------------------
// Storage: PersistentVolumeClaims and PersistentVolumes, identified by what they bind to.

export function readKubernetesStorage(r: FamilyResource): StorageResource | undefined {
  const t = kubernetesType(r.type);
  if (!t || t.form === "List" || (t.kind !== "PersistentVolumeClaim" && t.kind !== "PersistentVolume")) return undefined;
  const labels = stringMap(at(r.props, "metadata", "labels"));
  const known = labels === UNKNOWN ? {} : labels;
  const name = str(at(r.props, "metadata", "name"));
  const keys = [storageKey.urn(r.urn)];
  const links: string[] = [];
  if (t.kind === "PersistentVolumeClaim") {
    const namespace = str(at(r.props, "metadata", "namespace")) ?? "default";
    if (typeof name === "string" && typeof namespace === "string") keys.push(storageKey.pvc(namespace, name));
    const volumeName = str(at(r.props, "spec", "volumeName"));
    if (typeof volumeName === "string") links.push(storageKey.pv(volumeName));
    // A claim that depends on a PersistentVolume binds it (its name may be unknown during preview).
    links.push(...r.deps.map((d) => `pv-urn:${d}`));
  } else {
    keys.push(`pv-urn:${r.urn}`);
    if (typeof name === "string") keys.push(storageKey.pv(name));
    const claim = str(at(r.props, "spec", "claimRef", "name"));
    const claimNs = str(at(r.props, "spec", "claimRef", "namespace")) ?? "default";
    if (typeof claim === "string" && typeof claimNs === "string") links.push(storageKey.pvc(claimNs, claim));
    for (const field of ["hostPath", "nfs", "csi"] as const) {
      const spec = at(r.props, "spec", field);
      if (spec === undefined) continue;
      const source = volumeSource(field, spec);
      if (source !== UNKNOWN) links.push(...storageKeys(source));
    }
    // A volume handle interpolated from an EFS file system or access point is unknown during preview; its dependencies say which.
    links.push(...r.deps.map(storageKey.urn));
  }
  const cacheName = known[LABELS.cache];
  return {
    labelled: known[LABELS.role] === "cache",
    cacheName: cacheName === undefined || cacheName === "" ? undefined : cacheName,
    keys,
    links,
    description: `${t.kind} "${typeof name === "string" ? name : r.name}"`,
  };
}

// ---------------------------------------------------------------------------------------------
// ConfigMaps and Secrets: the variables an envFrom or a key reference takes from them.

export function readKubernetesEnvObject(r: FamilyResource): EnvObject | undefined {
  if (r.type !== K8S.configMap && r.type !== K8S.secret) return undefined;
  const name = str(at(r.props, "metadata", "name"));
  const namespace = str(at(r.props, "metadata", "namespace")) ?? "default";
  if (typeof name !== "string" || typeof namespace !== "string") return undefined;
  const secret = r.type === K8S.secret;
  const data: Record<string, string | Unknown> = {};
  let unknown = false;
  for (const [field, base64] of [
    ["data", secret],
    ["binaryData", true],
    ["stringData", false],
  ] as const) {
    const entries = at(r.props, field);
    if (entries === UNKNOWN) {
      unknown = true;
      continue;
    }
    if (entries === null || typeof entries !== "object" || Array.isArray(entries)) continue;
    for (const [key, raw] of Object.entries(entries)) {
      const value = str(raw);
      if (value === undefined) continue;
      data[key] = value === UNKNOWN ? UNKNOWN : base64 ? decodeBase64(value) : value;
    }
  }
  return { kind: secret ? "secret" : "configMap", namespace, name, data: unknown ? UNKNOWN : data };
}

function decodeBase64(value: string): string {
  return Buffer.from(value, "base64").toString("utf8");
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

// ---------------------------------------------------------------------------------------------
// Patches: a `*Patch` of a workload of the stack runs as that workload with the patch applied.

/**
 * A `*Patch` of a workload in the stack is checked as that workload with the patch applied:
 * server-side apply merges containers, env, mounts and volumes by their keys, and replaces other lists.
 */
/** List fields server-side apply merges by a key (k8s.io/api's patchMergeKey); other lists are replaced. */
const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  ports: "containerPort",
  imagePullSecrets: "name",
};

export function mergePatch(base: unknown, patch: unknown, field?: string): unknown {
  if (patch === undefined) return base;
  if (Array.isArray(patch) && Array.isArray(base) && field !== undefined && MERGE_KEYS[field]) {
    const key = MERGE_KEYS[field] as string;
    const out = [...base];
    for (const item of patch) {
      const id = (item as Record<string, unknown> | null)?.[key];
      const at = out.findIndex((b) => (b as Record<string, unknown> | null)?.[key] === id && id !== undefined);
      if (at >= 0) out[at] = mergePatch(out[at], item);
      else out.push(item);
    }
    return out;
  }
  if (isPlain(patch) && isPlain(base)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = mergePatch(base[k], v, k);
    return out;
  }
  return patch;
}

function isPlain(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The workload a `*Patch` makes of its target: the target's props with the patch merged in, reported on the patch. */
export function applyKubernetesPatch(target: FamilyResource, patch: FamilyResource): Workload | undefined {
  const t = kubernetesType(patch.type);
  if (t?.form !== "Patch") return undefined;
  const [patched] = readKubernetesWorkloads({ ...target, props: mergePatch(target.props, patch.props) as Obj });
  if (!patched) return undefined;
  const of = readOne(patch, t.kind, patch.props, "Patch", undefined).patchOf;
  return { ...patched, urn: patch.urn, type: patch.type, ...(of ? { patchOf: of } : {}) };
}
