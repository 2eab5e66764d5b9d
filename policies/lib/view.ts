/**
 * Who is who in a workload: which of its volumes hold the cache, and which of its containers is a
 * downloader (may write the cache) or a consumer (mounts it, must read it offline and read-only).
 *
 * The resource view knows only the workload itself: a workload is in scope when it carries the
 * contract's role label, and its cache is where its cache environment points. The stack view adds
 * what only the whole stack tells (stack.ts): volumes that are a cache labelled elsewhere in the
 * stack, whatever the workload's own labels say.
 */
import { HUB_OFFLINE_KEY, isTruthyEnvValue, LABELS, MANIFEST_ENV, type Role } from "./core";
import type { Unknown } from "./values";
import { type Container, cacheVolumesByEnv, containerLabels, labelOf, type Mount, roleOf, type Workload } from "./workload";

export type ContainerRole = "downloader" | "consumer" | "none";

export interface ContainerView {
  container: Container;
  role: ContainerRole;
  /** Its mounts of the cache. */
  cacheMounts: Mount[];
}

export interface WorkloadView {
  workload: Workload;
  /** The cache volumes (keys of `w.volumes`). */
  cacheVolumes: Set<string>;
  containers: ContainerView[];
  /** The `model-cache.io/cache` and `/manifest` labels of the workload (or its consumer container). */
  cacheLabel: string | Unknown | undefined;
  manifestLabel: string | Unknown | undefined;
  /** The `model-cache.io/device` label: the device the stack sized the consumer for. */
  deviceLabel: string | Unknown | undefined;
}

/** The workload carries a contract role (on itself, or on one of its containers for ECS). */
export function isLabelled(w: Workload): boolean {
  return roleOf(w.labels) !== undefined || w.containers.some((c) => roleOf(containerLabels(w, c)) !== undefined);
}

export function resourceView(w: Workload): WorkloadView | undefined {
  if (!isLabelled(w)) return undefined;
  return buildView(w, cacheVolumesByEnv(w));
}

export function buildView(w: Workload, cacheVolumes: Set<string>): WorkloadView {
  const containers = w.containers.map((c): ContainerView => {
    const cacheMounts = c.mounts.filter((m) => cacheVolumes.has(m.volume));
    return { container: c, cacheMounts, role: containerRole(w, c, cacheMounts) };
  });
  const labelSource = containers.find((cv) => cv.role === "consumer")?.container ?? containers[0]?.container;
  const labels = labelSource ? containerLabels(w, labelSource) : w.labels;
  return {
    workload: w,
    cacheVolumes,
    containers,
    cacheLabel: labelOf(labels, LABELS.cache),
    manifestLabel: labelOf(labels, LABELS.manifest),
    deviceLabel: labelOf(labels, LABELS.device),
  };
}

function containerRole(w: Workload, c: Container, cacheMounts: Mount[]): ContainerRole {
  const role: Role | undefined = roleOf(containerLabels(w, c));
  if (role === "downloader") return "downloader";
  if (role === "service") {
    // The init-container pattern: a service pod whose init container fills the cache before the
    // server starts. It carries the manifest, mounts the cache read-write and reaches the hub;
    // a `verify` init container runs offline (and is a consumer, held to read-only mounts).
    if (
      w.family === "kubernetes" &&
      c.init &&
      c.env.has(MANIFEST_ENV) &&
      cacheMounts.some((m) => m.readOnly === false) &&
      !isTruthyEnvValue(typeof c.env.get(HUB_OFFLINE_KEY)?.value === "string" ? (c.env.get(HUB_OFFLINE_KEY)?.value as string) : undefined)
    ) {
      return "downloader";
    }
    return "consumer";
  }
  return cacheMounts.length > 0 ? "consumer" : "none";
}

/** Consumer containers that mount the cache; for a labelled service that mounts none, its main containers. */
export function consumerContainers(v: WorkloadView): ContainerView[] {
  const consumers = v.containers.filter((cv) => cv.role === "consumer");
  const mounting = consumers.filter((cv) => cv.cacheMounts.length > 0);
  if (mounting.length > 0) return mounting;
  return consumers.filter((cv) => !cv.container.init && roleOf(containerLabels(v.workload, cv.container)) === "service");
}

/** The serving containers: main (not init) consumer containers. */
export function servingContainers(v: WorkloadView): ContainerView[] {
  return consumerContainers(v).filter((cv) => !cv.container.init);
}

export function downloaderContainers(v: WorkloadView): ContainerView[] {
  return v.containers.filter((cv) => cv.role === "downloader");
}

export function isConsumer(v: WorkloadView): boolean {
  return consumerContainers(v).length > 0;
}
