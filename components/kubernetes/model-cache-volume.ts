import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { objectLabels } from "./labels";

export interface ModelCacheVolumeArgs {
  cacheName: string;
  namespace: pulumi.Input<string>;
  /** The claim's name; see `cacheClaimName`. */
  claimName: string;
  /** Requested size (nominal on EFS, which is elastic). */
  storageSize: string;
  /** The StorageClass; "" means none (static binding only, never the cluster's default class). */
  storageClassName: string;
  /** Bind to this PersistentVolume (static provisioning) instead of asking the class for one. */
  volumeName?: pulumi.Input<string>;
  /** What the claim waits for (its namespace, the PersistentVolume it binds to). */
  dependsOn?: pulumi.Resource[];
}

/**
 * What keeps the models (gigabytes, minutes to download) when the stack changes or goes away:
 * `protect` makes the engine refuse to delete or replace the resource (a replacement would bind
 * the cache to a new, empty volume), `retainOnDelete` leaves it in place even once someone
 * unprotects and deletes it. `pulumi destroy --exclude-protected` removes everything else.
 */
export const CACHE_PROTECTION = { protect: true, retainOnDelete: true } as const;

/** The claim name of a cache: also what a static PersistentVolume's claimRef names. */
export function cacheClaimName(cacheName: string): string {
  return `${cacheName}-cache`;
}

/**
 * The models volume: one ReadWriteMany PersistentVolumeClaim, labelled as the cache. It carries no
 * manifest digest: it outlives manifests, so a model upgrade never touches it (no PVC is ever
 * deleted to change models; the downloader adds the new files next to the old ones).
 */
export class ModelCacheVolume extends pulumi.ComponentResource {
  readonly claim: k8s.core.v1.PersistentVolumeClaim;
  readonly claimName: pulumi.Output<string>;

  constructor(name: string, args: ModelCacheVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("model-cache:kubernetes:ModelCacheVolume", name, {}, opts);
    this.claim = new k8s.core.v1.PersistentVolumeClaim(
      name,
      {
        metadata: {
          name: args.claimName,
          namespace: args.namespace,
          labels: objectLabels({ role: "cache", cacheName: args.cacheName }),
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
        dependsOn: args.dependsOn ?? [],
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
