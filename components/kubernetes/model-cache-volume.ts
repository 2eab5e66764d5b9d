import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { KubernetesCacheContext } from "./context";
import { objectLabels } from "./labels";

export { cacheClaimName } from "./context";

export interface ModelCacheVolumeArgs {
  /** The cache's name, namespace and claim name (`kubernetesCacheContext`). */
  context: KubernetesCacheContext;
  /** Requested size, e.g. "50Gi" (nominal on EFS, which is elastic). */
  storageSize: pulumi.Input<string>;
  /**
   * The StorageClass. "" means none: static binding to `volumeName` only, never the cluster's
   * default class. It must provide ReadWriteMany (the downloader and every service pod mount it).
   */
  storageClassName: pulumi.Input<string>;
  /**
   * Bind to this PersistentVolume (static provisioning, e.g. `EfsModelsVolume`'s) instead of asking
   * the class for one. Default: none (the class provisions one). Order the claim after the volume
   * with `opts.dependsOn`.
   */
  volumeName?: pulumi.Input<string>;
}

/**
 * What keeps the models (gigabytes, minutes to download) when the stack changes or goes away:
 * `protect` makes the engine refuse to delete or replace the resource (a replacement would bind
 * the cache to a new, empty volume), `retainOnDelete` leaves it in place even once someone
 * unprotects and deletes it. `pulumi destroy --exclude-protected` removes everything else.
 */
export const CACHE_PROTECTION = { protect: true, retainOnDelete: true } as const;

/**
 * The models volume: one ReadWriteMany PersistentVolumeClaim, labelled as the cache. It carries no
 * manifest digest: it outlives manifests, so a model upgrade never touches it (no PVC is ever
 * deleted to change models; the downloader adds the new files next to the old ones).
 * `opts.dependsOn` (e.g. the PersistentVolume it binds to) is recorded on the claim.
 */
export class ModelCacheVolume extends pulumi.ComponentResource {
  readonly claim: k8s.core.v1.PersistentVolumeClaim;
  readonly claimName: pulumi.Output<string>;

  constructor(name: string, args: ModelCacheVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("model-cache:kubernetes:ModelCacheVolume", name, {}, opts);
    const { context } = args;
    this.claim = new k8s.core.v1.PersistentVolumeClaim(
      name,
      {
        metadata: {
          name: context.claimName,
          namespace: context.namespace,
          labels: objectLabels({ role: "cache", cacheName: context.cacheName }),
        },
        spec: {
          accessModes: ["ReadWriteMany"],
          volumeMode: "Filesystem",
          storageClassName: args.storageClassName,
          resources: { requests: { storage: args.storageSize } },
          ...(args.volumeName === undefined ? {} : { volumeName: args.volumeName }),
        },
      },
      {
        parent: this,
        // A child waits for its parent's dependsOn, but the engine records the edge only where it is given.
        ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}),
        ...CACHE_PROTECTION,
        // A claim bound to a given volume is not resized through its request (Kubernetes allows that
        // only for a dynamically provisioned claim whose class expands): a larger storageSize then
        // grows the PersistentVolume (EFS is elastic anyway) and leaves the claim's request alone.
        ...(args.volumeName === undefined ? {} : { ignoreChanges: ["spec.resources.requests.storage"] }),
      },
    );
    this.claimName = this.claim.metadata.name;
    this.registerOutputs({ claimName: this.claimName });
  }
}
