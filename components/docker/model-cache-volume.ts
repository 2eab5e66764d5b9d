import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerLabels } from "./labels";

export interface ModelCacheVolumeArgs {
  /** The cache's name (the `model-cache.io/cache` label). */
  cacheName: string;
  /** The Docker volume name; defaults to `<project>-<stack>-<cacheName>`. */
  volumeName?: string;
}

/** The models volume: one named Docker volume, labelled as a cache so policies can find it. */
export class ModelCacheVolume extends pulumi.ComponentResource {
  readonly volume: docker.Volume;
  readonly volumeName: pulumi.Output<string>;

  constructor(name: string, args: ModelCacheVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("model-cache:docker:ModelCacheVolume", name, {}, opts);
    this.volume = new docker.Volume(
      name,
      {
        name: args.volumeName ?? `${pulumi.getProject()}-${pulumi.getStack()}-${args.cacheName}`,
        labels: dockerLabels({ role: "cache", cacheName: args.cacheName }),
      },
      // The cache outlives the stack: `pulumi destroy` leaves it (a re-download of the seed's set is
      // 7.6 GB); Docker reuses a volume of the same name on the next `pulumi up`.
      { parent: this, retainOnDelete: true },
    );
    this.volumeName = this.volume.name;
    this.registerOutputs({ volumeName: this.volumeName });
  }
}
