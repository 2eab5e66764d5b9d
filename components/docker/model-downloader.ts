import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { CACHE_GID, CACHE_UID, downloaderEnv, HUB_TOKEN_ENV, toDockerEnv } from "../core/contract";
import type { Manifest } from "../core/manifest";
import type { DockerCacheContext } from "./context";
import { dockerLabels } from "./labels";
import { OneShotContainer } from "./one-shot-container";

/** How many of the downloader's last log lines a failed `pulumi up` shows. */
export const FAILURE_LOG_LINES = 30;
/** The slowest link the download's create timeout allows for: 2 MiB/s (about 17 Mbit/s). */
export const MIN_DOWNLOAD_MIB_PER_SECOND = 2;
/** Added to every download's timeout: start-up and verifying what the volume already holds. */
export const BASE_DOWNLOAD_TIMEOUT_SECONDS = 600;
/** The tag the built downloader image also gets (the container runs it by image id). */
export const LOCAL_DOWNLOADER_TAG = "model-cache-downloader:local";

export interface ModelDownloaderArgs {
  context: DockerCacheContext;
  /** The models volume's Docker name (mounted read-write here, and only here), e.g. a `ModelCacheVolume`'s `volumeName`. */
  volumeName: pulumi.Input<string>;
  /**
   * A prebuilt image reference (best a digest, `repo@sha256:…`). Default: built from
   * `downloader/Dockerfile` on the target engine and run by its image id, so a rebuilt image is
   * always the one that runs.
   */
  image?: pulumi.Input<string>;
  /** The hub (or a mirror of it) the files come from. */
  hubEndpoint: pulumi.Input<string>;
  /** Parallel downloads, 1–64. */
  concurrency: number;
  /** The hub token: must be a Pulumi secret, and only the downloader ever receives it. Default: none. */
  hubToken?: pulumi.Output<string>;
  /** The Docker network mode (e.g. `host` for a hub mirror on the host's loopback). Default: the engine's default network. */
  networkMode?: pulumi.Input<string>;
}

const argsSchema = z.object({
  concurrency: z.number().int().min(1).max(64),
  image: z.string().min(1, "must not be empty; omit it to build downloader/Dockerfile").optional(),
});

/** The manifest's known bytes (files without a size count 0). */
export function manifestBytes(manifest: Manifest): number {
  let total = 0;
  for (const model of manifest.models) {
    if (model.kind === "huggingface") for (const file of model.files) total += file.size ?? 0;
    else total += model.size ?? 0;
  }
  return total;
}

/** The download's create timeout: the base plus the manifest's bytes at the minimum throughput. */
export function downloadTimeoutSeconds(manifest: Manifest): number {
  return BASE_DOWNLOAD_TIMEOUT_SECONDS + Math.ceil(manifestBytes(manifest) / (MIN_DOWNLOAD_MIB_PER_SECOND * 1024 * 1024));
}

/**
 * The download init step: a container run once to completion (`OneShotContainer`) that writes the
 * verified cache and exits. A non-zero exit (or a timeout) fails `pulumi up` with its last log
 * lines and leaves nothing in state, so the next `pulumi up` runs it again.
 */
export class ModelDownloader extends pulumi.ComponentResource {
  readonly container: OneShotContainer;
  /** The image the downloader runs: the built image's id, or `args.image`. */
  readonly image: pulumi.Output<string>;
  /** The container's name, as `docker ps -a` and `docker logs` show it. */
  readonly containerName: string;

  constructor(name: string, args: ModelDownloaderArgs, opts?: pulumi.ComponentResourceOptions) {
    super("model-cache:docker:ModelDownloader", name, {}, opts);
    const checked = argsSchema.safeParse({ concurrency: args.concurrency, image: typeof args.image === "string" ? args.image : undefined });
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      throw new Error(`ModelDownloader ${name}: ${issue.path.join(".")} ${issue.message}`);
    }
    const { context } = args;

    this.image =
      args.image !== undefined
        ? pulumi.output(args.image)
        : new docker.Image(
            `${name}-image`,
            {
              imageName: LOCAL_DOWNLOADER_TAG,
              build: {
                context: repoRoot(),
                dockerfile: path.join(repoRoot(), "downloader", "Dockerfile"),
              },
              skipPush: true,
            },
            { parent: this },
            // With skipPush the provider sets repoDigest to the built image's id (pulumi-docker
            // provider/image.go, dockerBuild: `outputs["repoDigest"] = imageInspect.ID`).
          ).repoDigest;

    const plainEnv = pulumi
      .output(args.hubEndpoint)
      .apply((hubEndpoint) =>
        toDockerEnv(
          downloaderEnv({ paths: context.paths, manifestJson: context.manifest.json, hubEndpoint, concurrency: args.concurrency }),
        ),
      );
    const envs = args.hubToken
      ? pulumi.secret(pulumi.all([plainEnv, args.hubToken]).apply(([env, token]) => [...env, `${HUB_TOKEN_ENV}=${token}`]))
      : plainEnv;
    const timeoutSeconds = downloadTimeoutSeconds(context.manifest.manifest);
    this.containerName = `${context.prefix}-downloader`;

    this.container = new OneShotContainer(
      name,
      {
        name: this.containerName,
        image: this.image,
        command: ["download"],
        user: `${CACHE_UID}:${CACHE_GID}`,
        envs,
        volumes: [{ volumeName: args.volumeName, containerPath: context.paths.mountPath, readOnly: false }],
        labels: dockerLabels({ role: "downloader", cacheName: context.cacheName, manifestDigest: context.manifest.digest }),
        mustRun: false,
        attach: true,
        restart: "no",
        ...(args.networkMode !== undefined ? { networkMode: args.networkMode } : {}),
        timeoutSeconds,
        logLines: FAILURE_LOG_LINES,
        description: "the model downloader",
        failureHint:
          "The model service was not started. Fix the cause above, then run `pulumi up` again: it runs the download again, " +
          "and files already verified are kept and not downloaded again.",
        timeoutHint:
          `The timeout is ${BASE_DOWNLOAD_TIMEOUT_SECONDS}s plus the manifest's ${manifestBytes(context.manifest.manifest)} bytes ` +
          `at ${MIN_DOWNLOAD_MIB_PER_SECOND} MiB/s; on a slower link, fill the volume once with \`docker run\` (README, troubleshooting).`,
        ...(context.dockerHost ? { dockerHost: context.dockerHost } : {}),
      },
      { parent: this, ...(args.hubToken ? { additionalSecretOutputs: ["envs"] } : {}) },
    );
    this.registerOutputs({ image: this.image, containerName: this.containerName });
  }
}

function repoRoot(): string {
  return path.resolve(__dirname, "..", "..");
}
