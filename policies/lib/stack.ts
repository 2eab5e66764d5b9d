/**
 * The whole stack as the stack policies see it: the caches (volumes, claims, persistent volumes,
 * file systems labelled `model-cache.io/role=cache`), every workload with the cache volumes it
 * mounts, who downloads and who consumes each cache, and the dependency graph.
 */

import { LABELS } from "./core";
import { DOCKER_VOLUME, dockerLabels } from "./docker";
import { EFS_ACCESS_POINT, EFS_FILE_SYSTEM } from "./ecs";
import { K8S, pvcRef } from "./kubernetes";
import { readWorkload } from "./read";
import { at, materialize, type Obj, str, stringMap, UNKNOWN, type Unknown } from "./values";
import { buildView, type ContainerView, resourceView, type WorkloadView } from "./view";
import type { Mount, Volume, VolumeKind } from "./workload";

export interface StackResource {
  urn: string;
  type: string;
  name: string;
  props: Obj;
  parent: string | undefined;
  /** Resource and property dependencies. */
  deps: string[];
}

export interface CacheResource {
  res: StackResource;
  cacheName: string | undefined;
  /** Physical names other resources use to mount it. */
  refs: Set<string>;
  /** The volume kinds that can mount it. */
  mountedAs: VolumeKind[];
}

export interface CacheUse {
  view: WorkloadView;
  cv: ContainerView;
  mounts: Mount[];
}

export interface CacheGroup {
  key: string;
  /** For messages: `cache "models"`. */
  label: string;
  resources: CacheResource[];
  downloaders: CacheUse[];
  consumers: CacheUse[];
}

export interface StackWorkload {
  res: StackResource;
  /** What a resource policy sees of it (undefined when it carries no contract label). */
  resourceView: WorkloadView | undefined;
  /** What the stack tells about it. */
  view: WorkloadView;
  /** Cache key of each cache volume. */
  cacheOf: Map<string, string>;
}

export interface StackModel {
  resources: StackResource[];
  byUrn: Map<string, StackResource>;
  caches: CacheResource[];
  workloads: StackWorkload[];
  groups: Map<string, CacheGroup>;
  /** True when `from` depends on `to` (directly or through others), or on a component holding it. */
  dependsOn(from: string, to: string): boolean;
}

/** The minimum the pack needs of `@pulumi/policy`'s PolicyResource. */
export interface PolicyResourceLike {
  urn: string;
  type: string;
  name: string;
  props: unknown;
  parent?: { urn: string } | undefined;
  dependencies?: { urn: string }[];
  propertyDependencies?: Record<string, { urn: string }[]>;
}

export function toStackResource(r: PolicyResourceLike): StackResource {
  const deps = new Set<string>();
  for (const d of safeArray(r.dependencies)) if (typeof d?.urn === "string") deps.add(d.urn);
  for (const list of Object.values(r.propertyDependencies ?? {})) {
    for (const d of safeArray(list)) if (typeof d?.urn === "string") deps.add(d.urn);
  }
  return {
    urn: String(r.urn),
    type: String(r.type),
    name: String(r.name),
    props: materialize(r.props),
    parent: typeof r.parent?.urn === "string" ? r.parent.urn : undefined,
    deps: [...deps],
  };
}

function safeArray<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value : [];
}

const ROOT_TYPE = "pulumi:pulumi:Stack";

export function buildStack(input: readonly StackResource[]): StackModel {
  const resources = [...input];
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const caches = findCaches(resources);

  const workloads: StackWorkload[] = [];
  for (const res of resources) {
    const w = readWorkload(res.type, res.urn, res.name, res.props);
    if (!w) continue;
    const rv = resourceView(w);
    const cacheOf = new Map<string, string>();
    for (const [name, volume] of w.volumes) {
      const cache = matchCache(caches, volume, res, byUrn);
      if (cache) cacheOf.set(name, keyOf(cache));
      else if (rv?.cacheVolumes.has(name)) cacheOf.set(name, typeof rv.cacheLabel === "string" ? rv.cacheLabel : UNNAMED);
    }
    const view = buildView(w, new Set(cacheOf.keys()));
    workloads.push({ res, resourceView: rv, view, cacheOf });
  }

  const groups = new Map<string, CacheGroup>();
  const group = (key: string): CacheGroup => {
    let g = groups.get(key);
    if (!g) {
      const resourcesOf = caches.filter((c) => keyOf(c) === key);
      const first = resourcesOf[0];
      const label =
        key === UNNAMED
          ? "the cache (no model-cache.io/cache label)"
          : first && first.cacheName === undefined
            ? `cache ${first.res.type.split(":").pop()} "${first.res.name}"`
            : `cache "${key}"`;
      g = { key, label, resources: resourcesOf, downloaders: [], consumers: [] };
      groups.set(key, g);
    }
    return g;
  };
  for (const cache of caches) group(keyOf(cache));
  for (const sw of workloads) {
    for (const cv of sw.view.containers) {
      const byKey = new Map<string, Mount[]>();
      for (const m of cv.cacheMounts) {
        const key = sw.cacheOf.get(m.volume);
        if (key === undefined) continue;
        byKey.set(key, [...(byKey.get(key) ?? []), m]);
      }
      for (const [key, mounts] of byKey) {
        const use = { view: sw.view, cv, mounts };
        if (cv.role === "downloader") group(key).downloaders.push(use);
        else group(key).consumers.push(use);
      }
    }
  }

  const reach = new Map<string, Set<string>>();
  const closure = (from: string): Set<string> => {
    const cached = reach.get(from);
    if (cached) return cached;
    const seen = new Set<string>();
    const queue = [...(byUrn.get(from)?.deps ?? [])];
    while (queue.length > 0) {
      const urn = queue.pop() as string;
      if (seen.has(urn)) continue;
      seen.add(urn);
      queue.push(...(byUrn.get(urn)?.deps ?? []));
    }
    reach.set(from, seen);
    return seen;
  };
  const dependsOn = (from: string, to: string): boolean => {
    const deps = closure(from);
    const visited = new Set<string>();
    for (let cur: string | undefined = to; cur !== undefined && !visited.has(cur); cur = byUrn.get(cur)?.parent) {
      visited.add(cur);
      const r = byUrn.get(cur);
      if (r?.type === ROOT_TYPE) break;
      if (deps.has(cur)) return true;
    }
    return false;
  };

  return { resources, byUrn, caches, workloads, groups, dependsOn };
}

const UNNAMED = "(unnamed)";

function keyOf(cache: CacheResource): string {
  return cache.cacheName ?? `resource:${cache.res.urn}`;
}

function findCaches(resources: StackResource[]): CacheResource[] {
  const out: CacheResource[] = [];
  const pvcs = resources.filter((r) => r.type === K8S.pvc);
  for (const res of resources) {
    const labels = labelsOf(res);
    if (labels === UNKNOWN || labels[LABELS.role] !== "cache") continue;
    const cacheName = labels[LABELS.cache];
    const refs = new Set<string>();
    let mountedAs: VolumeKind[] = [];
    if (res.type === DOCKER_VOLUME) {
      mountedAs = ["docker-volume"];
      const name = str(res.props["name"]);
      if (typeof name === "string") refs.add(`docker-volume:${name}`);
    } else if (res.type === K8S.pvc) {
      mountedAs = ["pvc"];
      addPvcRefs(refs, res);
    } else if (res.type === K8S.pv) {
      mountedAs = ["pvc"];
      const pvName = str(at(res.props, "metadata", "name"));
      const claim = str(at(res.props, "spec", "claimRef", "name"));
      const claimNs = str(at(res.props, "spec", "claimRef", "namespace"));
      if (typeof claim === "string") addPvcRef(refs, claimNs ?? "default", claim);
      for (const pvc of pvcs) {
        const volumeName = str(at(pvc.props, "spec", "volumeName"));
        if ((typeof pvName === "string" && volumeName === pvName) || pvc.deps.includes(res.urn)) addPvcRefs(refs, pvc);
      }
    } else if (res.type === EFS_FILE_SYSTEM) {
      mountedAs = ["efs"];
    } else {
      continue;
    }
    out.push({ res, cacheName: cacheName === undefined || cacheName === "" ? undefined : cacheName, refs, mountedAs });
  }
  return out;
}

function labelsOf(res: StackResource): Record<string, string> | Unknown {
  if (res.type === DOCKER_VOLUME) return dockerLabels(res.props["labels"]);
  if (res.type === EFS_FILE_SYSTEM || res.type === EFS_ACCESS_POINT) return stringMap(res.props["tags"]);
  return stringMap(at(res.props, "metadata", "labels"));
}

function addPvcRefs(refs: Set<string>, pvc: StackResource): void {
  const name = str(at(pvc.props, "metadata", "name"));
  if (typeof name !== "string") return;
  addPvcRef(refs, str(at(pvc.props, "metadata", "namespace")) ?? "default", name);
}

function addPvcRef(refs: Set<string>, namespace: string | Unknown, claim: string): void {
  refs.add(pvcRef("*", claim));
  if (namespace !== UNKNOWN) refs.add(pvcRef(namespace, claim));
}

function matchCache(
  caches: CacheResource[],
  volume: Volume,
  res: StackResource,
  byUrn: Map<string, StackResource>,
): CacheResource | undefined {
  const candidates = caches.filter((c) => c.mountedAs.includes(volume.kind));
  if (candidates.length === 0) return undefined;
  if (typeof volume.ref === "string") {
    const wildcard = volume.ref.replace(/^pvc:[^/]*\//, "pvc:*/");
    const hit = candidates.find((c) => c.refs.has(volume.ref as string) || c.refs.has(wildcard));
    if (hit) return hit;
    if (volume.kind !== "efs") return undefined;
  }
  // The name is unknown during preview (or the volume is an EFS file system): the workload's
  // dependencies say which cache it takes its volume from.
  const deps = new Set(res.deps);
  for (const urn of res.deps) for (const d of byUrn.get(urn)?.deps ?? []) deps.add(d);
  const byDeps = candidates.filter((c) => deps.has(c.res.urn));
  return byDeps.length === 1 ? byDeps[0] : undefined;
}
