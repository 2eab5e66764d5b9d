import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerCacheContext } from "./context";
import { dockerLabels } from "./labels";

export interface ModelCacheVolumeArgs {
  context: DockerCacheContext;
  /** The Docker volume name. Default: the context's prefix, `<project>-<stack>-<cacheName>`. */
  volumeName?: pulumi.Input<string>;
}

/** The models volume: one named Docker volume, labelled as a cache so policies can find it. */
export class ModelCacheVolume extends pulumi.ComponentResource {
  readonly volume: docker.Volume;
  readonly volumeName: pulumi.Output<string>;

  constructor(name: string, args: ModelCacheVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("model-cache:docker:ModelCacheVolume", name, {}, opts);
    if (args.volumeName === "") throw new Error(`ModelCacheVolume ${name}: volumeName must not be empty; omit it for the default`);
    this.volume = new docker.Volume(
      name,
      {
        name: args.volumeName ?? args.context.prefix,
        labels: dockerLabels({ role: "cache", cacheName: args.context.cacheName }),
      },
      // The cache outlives the stack: `pulumi destroy` leaves it (a re-download of the seed's set is
      // 7.6 GB); Docker reuses a volume of the same name on the next `pulumi up`.
      { parent: this, retainOnDelete: true },
    );
    this.volumeName = this.volume.name;
    this.registerOutputs({ volumeName: this.volumeName });
  }
}
