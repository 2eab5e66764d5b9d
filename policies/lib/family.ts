/**
 * What each family module (docker.ts, kubernetes.ts, ecs.ts) reads out of a resource: the
 * workloads it runs, the storage it is, and (Kubernetes) the variables it holds. read.ts asks
 * every family; nothing else branches on families.
 */
import type { Obj, Unknown } from "./values";
import type { Workload } from "./workload";

/** A resource as a family reads it. */
export interface FamilyResource {
  urn: string;
  type: string;
  name: string;
  props: Obj;
  /** Resource and property dependencies (empty in the per-resource check). */
  deps: string[];
}

/**
 * Storage a workload can mount: a Docker volume, a PersistentVolumeClaim or PersistentVolume, an
 * EFS file system or access point. Two storage resources are the same storage when one's `keys`
 * meet the other's `keys` or `links` (storage.ts).
 */
export interface StorageResource {
  /** Labelled (tagged) as a cache: `model-cache.io/role=cache`, or for EFS the `model-cache.io/cache` tag. */
  labelled: boolean;
  cacheName: string | undefined;
  /** Identities of the storage itself. */
  keys: string[];
  /** Identities of what it binds to or is backed by (a PV's claim and source, an access point's file system). */
  links: string[];
  /** For messages: `PersistentVolumeClaim "models-cache"`. */
  description: string;
}

/** A ConfigMap or Secret of the stack. */
export interface EnvObject {
  kind: "configMap" | "secret";
  namespace: string;
  name: string;
  /** Key → value (Secret data decoded); UNKNOWN during preview. */
  data: Record<string, string | Unknown> | Unknown;
}

export interface Family {
  readWorkloads(r: FamilyResource): Workload[];
  readStorage(r: FamilyResource): StorageResource | undefined;
  readEnvObject?(r: FamilyResource): EnvObject | undefined;
  /** A patch resource's workload, applied to its target in the stack (Kubernetes `*Patch`). */
  applyPatch?(target: FamilyResource, patch: FamilyResource): Workload | undefined;
  /** What one workload takes from another of the stack (Docker volumesFrom), in place. */
  linkWorkloads?(workloads: Workload[]): void;
}
