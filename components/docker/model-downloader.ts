import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CACHE_GID, CACHE_UID, type CachePaths, downloaderEnv, HUB_TOKEN_ENV, toDockerEnv } from "../core/contract";
import type { BuiltManifest } from "../core/selection";
import { dockerLabels } from "./labels";

/** How many of the downloader's last log lines a failed `pulumi up` shows. */
export const FAILURE_LOG_LINES = 30;

export interface ModelDownloaderArgs {
  cacheName: string;
  paths: CachePaths;
  manifest: BuiltManifest;
  /** The models volume's Docker name (mounted read-write here, and only here). */
  volumeName: pulumi.Input<string>;
  /** A prebuilt image reference; when absent the image is built from `downloader/Dockerfile`. */
  image?: string;
  hubEndpoint: string;
  concurrency: number;
  /** The hub token: must be a Pulumi secret, and only the downloader ever receives it. */
  hubToken?: pulumi.Output<string>;
}

/**
 * The download init step: a one-shot container that runs attached to completion
 * (`mustRun: false`, `attach: true`, `restart: "no"`), writes the verified cache, and exits.
 * A non-zero exit fails the deploy with the container's last log lines.
 */
export class ModelDownloader extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly image: pulumi.Output<string>;
  /**
   * Resolves to the container id once the download exited 0; rejects (failing `pulumi up`)
   * with the last log lines otherwise. Consumers take it as an input so they can only be
   * created after a successful download.
   */
  readonly completed: pulumi.Output<string>;

  constructor(name: string, args: ModelDownloaderArgs, opts?: pulumi.ComponentResourceOptions) {
    super("model-cache:docker:ModelDownloader", name, {}, opts);

    this.image = args.image
      ? pulumi.output(args.image)
      : new docker.Image(
          `${name}-image`,
          {
            imageName: "model-cache-downloader:local",
            build: {
              context: repoRoot(),
              dockerfile: path.join(repoRoot(), "downloader", "Dockerfile"),
            },
            skipPush: true,
          },
          { parent: this },
        ).imageName;

    const plainEnv = toDockerEnv(
      downloaderEnv({ paths: args.paths, manifestJson: args.manifest.json, hubEndpoint: args.hubEndpoint, concurrency: args.concurrency }),
    );
    const envs: pulumi.Input<pulumi.Input<string>[]> = args.hubToken
      ? pulumi.secret(args.hubToken.apply((token) => [...plainEnv, `${HUB_TOKEN_ENV}=${token}`]))
      : plainEnv;

    this.container = new docker.Container(
      name,
      {
        image: this.image,
        command: ["download"],
        user: `${CACHE_UID}:${CACHE_GID}`,
        envs,
        volumes: [{ volumeName: args.volumeName, containerPath: args.paths.mountPath, readOnly: false }],
        labels: dockerLabels({ role: "downloader", cacheName: args.cacheName, manifestDigest: args.manifest.digest }),
        mustRun: false,
        attach: true,
        logs: true,
        restart: "no",
        rm: false,
      },
      { parent: this },
    );

    this.completed = pulumi
      .all([this.container.id, this.container.exitCode, this.container.containerLogs])
      .apply(([id, exitCode, logs]) => {
        if (exitCode !== 0) {
          throw new Error(downloaderFailureMessage(exitCode, logs));
        }
        return id;
      });

    this.registerOutputs({ image: this.image, completed: this.completed });
  }
}

export function downloaderFailureMessage(exitCode: number | undefined, logs: string | undefined): string {
  const lines = (logs ?? "").split(/\r?\n/).filter((line) => line.trim() !== "");
  const tail = lines.slice(-FAILURE_LOG_LINES);
  return [
    `the model downloader exited with code ${exitCode ?? "unknown"}; the model service was not started.`,
    tail.length > 0 ? `Its last ${tail.length} log lines:` : "It printed nothing.",
    ...tail.map((line) => `  | ${line}`),
    "Fix the cause above, then run `pulumi up` again: files already verified are kept and not downloaded again.",
  ].join("\n");
}

function repoRoot(): string {
  return path.resolve(__dirname, "..", "..");
}
