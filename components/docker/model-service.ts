import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { CACHE_GID, CACHE_UID, toDockerEnv } from "../core/contract";
import type { MemorySizing } from "../core/sizing";
import type { DockerCacheContext } from "./context";
import { goDuration, httpHealthcheckTest } from "./healthcheck";
import { HealthyContainer } from "./healthy-container";
import { dockerLabels } from "./labels";

export const HEALTH_INTERVAL_SECONDS = 10;
export const HEALTH_TIMEOUT_SECONDS = 5;
export const HEALTH_RETRIES = 3;
/** How many of the service's last log lines a failed `pulumi up` shows. */
export const SERVICE_LOG_LINES = 30;

export interface ModelServiceArgs {
  context: DockerCacheContext;
  /** The models volume's Docker name, mounted read-only. */
  volumeName: pulumi.Input<string>;
  /** The model server's image. */
  image: pulumi.Input<string>;
  /** Its arguments (the snapshot path already substituted). */
  args: string[];
  /** Cache env + offline env (+ the stack's extras); never a hub credential. */
  env: Record<string, string>;
  sizing: MemorySizing;
  /** The port it listens on inside the container. */
  containerPort: number;
  /** The host port published for it. */
  hostPort: number;
  /** Seconds it may take to load the models before failed healthchecks count. */
  startPeriodSeconds: number;
  /** The HTTP path that answers 200 once the models are loaded. */
  healthPath: string;
  /** The Docker healthcheck test. Default: an HTTP GET of `healthPath` through bash (no curl needed). */
  healthcheck?: string[];
  /** The Docker network mode. Default: the engine's default network (ports are published). */
  networkMode?: pulumi.Input<string>;
}

const port = z.number().int().min(1).max(65535);
const argsSchema = z.object({
  containerPort: port,
  hostPort: port,
  startPeriodSeconds: z.number().int().min(0),
  healthPath: z.string().startsWith("/", "must be an absolute HTTP path such as /health"),
});

/**
 * The model service: mounts the cache read-only, runs offline with no hub credentials, has the
 * measured memory limit, a GPU on cuda, runs as the cache's non-root user, and is only considered
 * up once its healthcheck passes (`HealthyContainer`, which fails fast with its logs). Order it
 * after the downloader with `opts.dependsOn`.
 */
export class ModelService extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** Created once the container's healthcheck passed. */
  readonly healthy: HealthyContainer;
  readonly url: pulumi.Output<string>;
  /** The container's name, as `docker ps` and `docker logs` show it. */
  readonly containerName: string;

  constructor(name: string, args: ModelServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("model-cache:docker:ModelService", name, {}, opts);
    const checked = argsSchema.safeParse(args);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      throw new Error(
        `ModelService ${name}: ${issue.path.join(".")} ${issue.message} (got ${JSON.stringify(args[issue.path[0] as keyof ModelServiceArgs])})`,
      );
    }
    const { context } = args;
    const healthTest = args.healthcheck?.length ? args.healthcheck : httpHealthcheckTest(args.containerPort, args.healthPath);
    const cuda = args.sizing.device === "cuda";
    this.containerName = `${context.prefix}-service`;

    this.container = new docker.Container(
      name,
      {
        name: this.containerName,
        image: args.image,
        command: args.args,
        envs: toDockerEnv(args.env),
        user: `${CACHE_UID}:${CACHE_GID}`,
        volumes: [{ volumeName: args.volumeName, containerPath: context.paths.mountPath, readOnly: true }],
        labels: dockerLabels({
          role: "service",
          cacheName: context.cacheName,
          manifestDigest: context.manifest.digest,
          device: args.sizing.device,
        }),
        memory: args.sizing.limitMiB,
        // Equal to `memory`: no swap, so the measured limit is the real limit.
        memorySwap: args.sizing.limitMiB,
        ...(cuda ? { gpus: "all" } : {}),
        ports: [{ internal: args.containerPort, external: args.hostPort }],
        ...(args.networkMode !== undefined ? { networkMode: args.networkMode } : {}),
        // Durations spelled as the provider reads them back, so a refresh finds no diff.
        healthcheck: {
          tests: healthTest,
          interval: goDuration(HEALTH_INTERVAL_SECONDS),
          timeout: goDuration(HEALTH_TIMEOUT_SECONDS),
          retries: HEALTH_RETRIES,
          startPeriod: goDuration(args.startPeriodSeconds),
        },
        restart: "unless-stopped",
        mustRun: true,
      },
      {
        parent: this,
        // The component's dependsOn (the downloader) holds for the container itself.
        ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}),
        // The provider's Update ignores the healthcheck: a changed one must replace the container.
        replaceOnChanges: ["healthcheck"],
        deleteBeforeReplace: true,
      },
    );
    this.healthy = new HealthyContainer(
      `${name}-healthy`,
      {
        containerId: this.container.id,
        containerName: this.containerName,
        timeoutSeconds: args.startPeriodSeconds + HEALTH_INTERVAL_SECONDS * (HEALTH_RETRIES + 1),
        logLines: SERVICE_LOG_LINES,
        ...(context.dockerHost ? { dockerHost: context.dockerHost } : {}),
      },
      { parent: this },
    );
    // Known once the service is healthy.
    this.url = pulumi.interpolate`http://localhost:${args.hostPort}`.apply((url) => this.healthy.id.apply(() => url));
    this.registerOutputs({ url: this.url, containerName: this.containerName });
  }
}
