/**
 * What a volume is backed by, as a typed value, and the storage identities it reaches.
 *
 * The cache is identified by its storage, not by labels: two volumes are the same storage when
 * they share an identity (`efs:fs-…` for every route to one EFS file system — a CSI volume
 * handle, an NFS server that is its DNS name, an ECS efsVolumeConfiguration; `docker-volume:<name>`
 * for a named Docker volume and a bind of its data directory; `pvc:<ns>/<claim>`, ...).
 */
import { DOCKER_DEFAULT_DATA_ROOT, EFS_CSI_DRIVER, EFS_FILE_SYSTEM_ID_RE, isPathUnder } from "./core";

export type StorageRef =
  | { kind: "docker-volume"; name: string }
  /** A Docker bind mount or a hostPath volume: a directory of the host. */
  | { kind: "host-path"; path: string }
  /** Docker volumesFrom: every volume of another container. */
  | { kind: "container-volumes"; container: string }
  | { kind: "pvc"; namespace: string | undefined; claim: string }
  | { kind: "csi"; driver: string; handle: string }
  | { kind: "nfs"; server: string; path: string }
  | { kind: "efs"; fileSystemId: string; accessPointId?: string };

/** An identity that matches every named Docker volume (a bind of the engine's data-root or above it). */
export const ALL_DOCKER_VOLUMES = "docker-volume:*";

export const storageKey = {
  dockerVolume: (name: string) => `docker-volume:${name}`,
  pvc: (namespace: string, claim: string) => `pvc:${namespace}/${claim}`,
  pv: (name: string) => `pv:${name}`,
  efs: (fileSystemId: string) => `efs:${fileSystemId}`,
  efsAccessPoint: (id: string) => `efs-ap:${id}`,
  nfsServer: (server: string) => `nfs-server:${server.toLowerCase().replace(/\.$/, "")}`,
  urn: (urn: string) => `urn:${urn}`,
};

/** The storage identities a volume reaches. */
export function storageKeys(ref: StorageRef): string[] {
  switch (ref.kind) {
    case "docker-volume":
      return [storageKey.dockerVolume(ref.name)];
    case "host-path":
      return hostPathKeys(ref.path);
    case "container-volumes":
      return [];
    case "pvc":
      return ref.namespace === undefined ? [] : [storageKey.pvc(ref.namespace, ref.claim)];
    case "csi": {
      const keys = [`csi:${ref.driver}:${ref.handle}`];
      const fs = ref.driver === EFS_CSI_DRIVER ? efsIdIn(ref.handle.split(":")[0] ?? "") : undefined;
      if (fs) keys.push(storageKey.efs(fs));
      const ap = ref.driver === EFS_CSI_DRIVER ? ref.handle.split(":")[2] : undefined;
      if (ap) keys.push(storageKey.efsAccessPoint(ap));
      return keys;
    }
    case "nfs": {
      const keys = [`nfs:${ref.server}:${ref.path}`, storageKey.nfsServer(ref.server)];
      const fs = efsIdIn(ref.server);
      if (fs) keys.push(storageKey.efs(fs));
      return keys;
    }
    case "efs":
      return [storageKey.efs(ref.fileSystemId), ...(ref.accessPointId ? [storageKey.efsAccessPoint(ref.accessPointId)] : [])];
  }
}

/** The EFS file system id in a volume handle or a DNS name (`fs-…` or `<az>.fs-….efs.<region>.amazonaws.com`). */
export function efsIdIn(text: string): string | undefined {
  return EFS_FILE_SYSTEM_ID_RE.exec(text)?.[0];
}

/**
 * A host directory reaches a named Docker volume when it is the volume's directory under the
 * engine's data-root (`…/docker/volumes/<name>[/_data[/…]]`), and every volume when it contains
 * the engine's volumes folder (the default data-root or any directory above it).
 */
function hostPathKeys(path: string): string[] {
  const normalized = path.replace(/\/+$/, "") || "/";
  const named = /^(?:.*\/)?docker\/volumes\/([^/]+)(?:\/.*)?$/.exec(normalized);
  if (named?.[1]) return [storageKey.dockerVolume(named[1]), `host:${normalized}`];
  if (isPathUnder(`${DOCKER_DEFAULT_DATA_ROOT}/volumes`, normalized) || /(^|\/)docker(\/volumes)?$/.test(normalized)) {
    return [ALL_DOCKER_VOLUMES, `host:${normalized}`];
  }
  return [`host:${normalized}`];
}

export function describeStorage(ref: StorageRef): string {
  switch (ref.kind) {
    case "docker-volume":
      return `Docker volume "${ref.name}"`;
    case "host-path":
      return `host path ${ref.path}`;
    case "container-volumes":
      return `the volumes of container "${ref.container}"`;
    case "pvc":
      return `PersistentVolumeClaim ${ref.namespace ?? "(unknown namespace)"}/${ref.claim}`;
    case "csi":
      return `CSI volume ${ref.driver} ${ref.handle}`;
    case "nfs":
      return `NFS ${ref.server}:${ref.path}`;
    case "efs":
      return `EFS ${ref.fileSystemId}${ref.accessPointId ? ` (access point ${ref.accessPointId})` : ""}`;
  }
}
