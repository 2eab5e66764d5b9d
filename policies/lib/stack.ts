/**
 * The whole stack as the stack policies see it: which storage is a cache, every workload with
 * the cache volumes it mounts (by any route), who downloads and who consumes each cache, and the
 * dependency graph.
 *
 * A cache is found by its storage: a volume, claim, persistent volume or EFS file system labelled
 * (tagged) as a cache, and whatever a labelled downloader or consumer mounts where its cache
 * environment points. Everything that reaches the same storage (storage.ts: the same Docker volume
 * or its data directory, the same claim, a PV with the same volume handle, the same EFS file
 * system by id, access point or DNS name) is the same cache, whatever labels it carries.
 */

import { type EnvObjects, envObjectKey, resolveEnv } from "./env";
import type { FamilyResource, StorageResource } from "./family";
import { FAMILIES, readEnvObject, readStorage, readWorkloads } from "./read";
import { ALL_DOCKER_VOLUMES, storageKey, storageKeys } from "./storage";
import { MAX_VALUES, materialize, type Obj } from "./values";
import { buildView, type ContainerView, resourceView, type WorkloadView } from "./view";
import { cacheRoots as cacheRootsOf, type Mount, unreadableProblem, type Volume, type Workload } from "./workload";

export interface StackResource {
  urn: string;
  type: string;
  name: string;
  props: Obj;
  /** The resource held more values than the pack reads. */
  cut: boolean;
  parent: string | undefined;
  /** Resource and property dependencies. */
  deps: string[];
}

export interface CacheResource {
  resource: StackResource;
  storage: StorageResource;
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
  resource: StackResource;
  /** What a resource policy sees of it (undefined when it carries no contract label). */
  resourceView: WorkloadView | undefined;
  /** What the stack tells about it. */
  view: WorkloadView;
  /** A `*Patch` of a workload of the stack: that workload's view, whose findings the patch does not repeat. */
  baseline?: WorkloadView;
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
  const { props, cut } = materialize(r.props);
  return {
    urn: String(r.urn),
    type: String(r.type),
    name: String(r.name),
    props,
    cut,
    parent: typeof r.parent?.urn === "string" ? r.parent.urn : undefined,
    deps: [...deps],
  };
}

function safeArray<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value : [];
}

/** The workloads of a resource as the family modules read them, with what a cut resource hides. */
export function workloadsOf(r: FamilyResource & { cut: boolean }): Workload[] {
  const workloads = readWorkloads(r);
  if (r.cut) {
    for (const w of workloads) {
      w.problems.push(
        unreadableProblem(`the resource holds more than ${MAX_VALUES.toLocaleString("en")} values, more than the pack reads`),
      );
    }
  }
  return workloads;
}

const ROOT_TYPE = "pulumi:pulumi:Stack";
const UNNAMED = "(unnamed)";

export function buildStack(input: readonly StackResource[]): StackModel {
  const resources = [...input];
  const byUrn = new Map(resources.map((r) => [r.urn, r]));

  const caches: CacheResource[] = [];
  const objects: EnvObjects = new Map();
  for (const res of resources) {
    const storage = readStorage(res);
    if (storage) caches.push({ resource: res, storage });
    const object = readEnvObject(res);
    if (object) objects.set(envObjectKey(object.kind, object.namespace, object.name), { ...object, cut: res.cut });
  }

  // Each workload as written (for the resource check) and as the stack runs it (env resolved,
  // patches applied, Docker volumesFrom expanded).
  interface Entry {
    resource: StackResource;
    written: Workload;
    running: Workload;
    /** A `*Patch`'s target in the stack. */
    target?: Entry;
  }
  const entries: Entry[] = [];
  const targets = new Map<string, Entry>();
  for (const res of resources) {
    const written = workloadsOf(res);
    const running = workloadsOf(res);
    written.forEach((w, i) => {
      const entry: Entry = { resource: res, written: w, running: running[i] as Workload };
      entries.push(entry);
      // What a patch can name: a workload with a namespace (Kubernetes objects).
      if (!w.patchOf && typeof w.namespace === "string") targets.set(targetKey(w.kind, w.namespace, w.name), entry);
    });
  }
  // A `*Patch` of a workload of the stack runs as that workload with the patch applied.
  for (const e of entries) {
    const of = e.running.patchOf;
    const target = of && targets.get(targetKey(of.kind, of.namespace, of.name));
    if (!target) continue;
    const patched = FAMILIES.map((f) => f.applyPatch?.(target.resource, e.resource)).find((w) => w !== undefined);
    if (!patched) continue;
    e.running = patched;
    e.target = target;
  }
  for (const f of FAMILIES) f.linkWorkloads?.(entries.map((e) => e.running));
  for (const e of entries) for (const c of e.running.containers) resolveEnv(c, objects);

  // Storage identity: one union-find over the identities every storage resource and volume names.
  const sets = new UnionFind();
  for (const cache of caches) sets.union([...cache.storage.keys, ...cache.storage.links]);
  const claimsByName = new Map<string, string[]>();
  for (const cache of caches) {
    for (const key of cache.storage.keys) {
      const m = /^pvc:[^/]*\/(.+)$/.exec(key);
      if (m?.[1]) claimsByName.set(m[1], [...(claimsByName.get(m[1]) ?? []), key]);
    }
  }
  const volumeKeys = (volume: Volume): string[] => {
    const source = volume.source;
    if (source === undefined || typeof source === "symbol") return [];
    if (source.kind === "pvc" && source.namespace === undefined) return claimsByName.get(source.claim) ?? [];
    return storageKeys(source);
  };
  for (const e of entries) for (const volume of e.running.volumes.values()) sets.union(volumeKeys(volume));

  // Which sets are a cache, and the name of each.
  const cacheNames = new Map<string, string>();
  const nameSet = (root: string, name: string | undefined) => {
    if (name !== undefined && !cacheNames.has(root)) cacheNames.set(root, name);
  };
  const cacheRoots = new Set<string>();
  for (const cache of caches) {
    if (!cache.storage.labelled) continue;
    const root = sets.find(cache.storage.keys[0] as string);
    cacheRoots.add(root);
    nameSet(root, cache.storage.cacheName);
  }
  const views = entries.map((e) => resourceView(e.written));
  entries.forEach((e, i) => {
    const rv = views[i];
    if (!rv) return;
    // A labelled workload names its cache where its cache variables point, or (a downloader) by
    // writing it. A labelled service that sets no cache variable only guesses (every storage
    // volume it mounts): that guess is its own, and makes no other workload's volume a cache.
    const pointed = rv.workload.containers.some((c) => cacheRootsOf(c).length > 0);
    const writtenByDownloader = (name: string) =>
      rv.containers.some((cv) => cv.role === "downloader" && cv.cacheMounts.some((m) => m.volume === name && m.readOnly === false));
    for (const name of rv.cacheVolumes) {
      if (!pointed && !writtenByDownloader(name)) continue;
      const volume = e.running.volumes.get(name);
      const keys = volume ? volumeKeys(volume) : [];
      if (keys.length === 0) continue;
      const root = sets.find(keys[0] as string);
      cacheRoots.add(root);
      nameSet(root, typeof rv.cacheLabel === "string" ? rv.cacheLabel : undefined);
    }
  });
  const firstStorage = new Map<string, CacheResource>();
  for (const cache of caches) {
    const root = sets.find(cache.storage.keys[0] as string);
    if (!firstStorage.has(root) || (cache.storage.labelled && !firstStorage.get(root)?.storage.labelled)) firstStorage.set(root, cache);
  }
  const groupKeyOf = (root: string): string => {
    const name = cacheNames.get(root);
    if (name !== undefined) return name;
    const first = firstStorage.get(root);
    return first ? `resource:${first.resource.urn}` : `storage:${root}`;
  };
  const dockerCacheRoots = [...cacheRoots].filter((root) =>
    sets.members(root).some((k) => k.startsWith("docker-volume:") && k !== ALL_DOCKER_VOLUMES),
  );
  const cacheKeyOfVolume = (volume: Volume, res: StackResource): string | undefined => {
    const keys = volumeKeys(volume);
    for (const key of keys) {
      if (key === ALL_DOCKER_VOLUMES) {
        const root = dockerCacheRoots[0];
        if (root !== undefined) return groupKeyOf(root);
        continue;
      }
      const root = sets.find(key);
      if (cacheRoots.has(root)) return groupKeyOf(root);
    }
    if (keys.length > 0 || volume.kind !== "storage") return undefined;
    // The source is unknown during preview (or names nothing): the workload's dependencies say
    // which cache it takes its volume from.
    const deps = new Set(res.deps);
    for (const urn of res.deps) for (const d of byUrn.get(urn)?.deps ?? []) deps.add(d);
    const roots = new Set(
      caches
        .filter((c) => deps.has(c.resource.urn))
        .map((c) => sets.find(c.storage.keys[0] as string))
        .filter((root) => cacheRoots.has(root)),
    );
    return roots.size === 1 ? groupKeyOf([...roots][0] as string) : undefined;
  };

  const workloads: StackWorkload[] = [];
  entries.forEach((e, i) => {
    const rv = views[i];
    // A patch runs in the workload it patches, ordered as that workload is.
    const res = e.target ? { ...e.resource, deps: [...e.resource.deps, e.target.resource.urn] } : e.resource;
    const cacheOf = new Map<string, string>();
    for (const [name, volume] of e.running.volumes) {
      const key = cacheKeyOfVolume(volume, res);
      if (key !== undefined) cacheOf.set(name, key);
      else if (rv?.cacheVolumes.has(name)) cacheOf.set(name, typeof rv.cacheLabel === "string" ? rv.cacheLabel : UNNAMED);
    }
    workloads.push({ resource: res, resourceView: rv, view: buildView(e.running, new Set(cacheOf.keys())), cacheOf });
  });
  // A patch is checked on the workload it patches; its baseline is that workload's own check.
  entries.forEach((e, i) => {
    const sw = workloads[i] as StackWorkload;
    const target = e.target && workloads[entries.indexOf(e.target)];
    if (!target) return;
    sw.baseline = target.view;
    byUrn.set(sw.resource.urn, sw.resource);
  });

  const groups = new Map<string, CacheGroup>();
  const group = (key: string): CacheGroup => {
    let g = groups.get(key);
    if (!g) {
      const resourcesOf = caches.filter((c) => {
        const root = sets.find(c.storage.keys[0] as string);
        return cacheRoots.has(root) && groupKeyOf(root) === key;
      });
      const first = resourcesOf.find((c) => c.storage.labelled) ?? resourcesOf[0];
      const label =
        key === UNNAMED
          ? "the cache (no model-cache.io/cache label)"
          : first && first.storage.cacheName === undefined
            ? `cache ${first.storage.description}`
            : key.startsWith("storage:")
              ? "the cache"
              : `cache "${key}"`;
      g = { key, label, resources: resourcesOf, downloaders: [], consumers: [] };
      groups.set(key, g);
    }
    return g;
  };
  for (const root of cacheRoots) group(groupKeyOf(root));
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
        // A patch never adds a second downloader: the workload it patches is the one that runs.
        if (cv.role === "downloader") {
          if (!sw.baseline) group(key).downloaders.push(use);
        } else group(key).consumers.push(use);
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

  return {
    resources,
    byUrn,
    caches: caches.filter((c) => cacheRoots.has(sets.find(c.storage.keys[0] as string))),
    workloads,
    groups,
    dependsOn,
  };
}

function targetKey(kind: string, namespace: string, name: string): string {
  return `${kind}:${namespace}/${name}`;
}

class UnionFind {
  private readonly parent = new Map<string, string>();

  find(key: string): string {
    let root = key;
    for (let next = this.parent.get(root); next !== undefined && next !== root; next = this.parent.get(root)) root = next;
    if (!this.parent.has(key)) this.parent.set(key, key);
    // Path compression.
    let cur = key;
    while (cur !== root) {
      const next = this.parent.get(cur) as string;
      this.parent.set(cur, root);
      cur = next;
    }
    return root;
  }

  union(keys: string[]): void {
    const [first, ...rest] = keys;
    if (first === undefined) return;
    const root = this.find(first);
    for (const key of rest) {
      const other = this.find(key);
      if (other !== root) this.parent.set(other, root);
    }
  }

  members(root: string): string[] {
    return [...this.parent.keys()].filter((k) => this.find(k) === root);
  }
}

export { storageKey };
