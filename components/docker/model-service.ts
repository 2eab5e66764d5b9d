import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CACHE_GID, CACHE_UID, type CachePaths, LABEL_PREFIX, toDockerEnv } from "../core/contract";
import type { MemorySizing } from "../core/sizing";
import { httpHealthcheckTest } from "./healthcheck";
import { dockerLabels } from "./labels";

export const DOWNLOADED_BY_LABEL = `${LABEL_PREFIX}/downloaded-by`;
export const HEALTH_INTERVAL_SECONDS = 10;
export const HEALTH_TIMEOUT_SECONDS = 5;
export const HEALTH_RETRIES = 3;

export interface ModelServiceArgs {
  cacheName: string;
  manifestDigest: string;
  paths: CachePaths;
  volumeName: pulumi.Input<string>;
  image: string;
  args: string[];
  /** Cache env + offline env (+ the stack's extras); never a hub credential. */
  env: Record<string, string>;
  sizing: MemorySizing;
  containerPort: number;
  hostPort: number;
  startPeriodSeconds: number;
  /** The HTTP path that answers 200 once the models are loaded. */
  healthPath: string;
  /** The Docker healthcheck test; defaults to an HTTP GET of `healthPath`. */
  healthcheck?: string[];
  /** The downloader's `completed` output: the service is created only after a successful download. */
  downloaderCompleted: pulumi.Input<string>;
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * The model service: mounts the cache read-only, runs offline with no hub credentials, has the
 * measured memory limit, a GPU on cuda, runs as the cache's non-root user, and is only
 * considered up once its healthcheck passes.
 */
export class ModelService extends pulumi.ComponentResource {
  readonly container: docker.Container;
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: ModelServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("model-cache:docker:ModelService", name, {}, opts);
    const healthTest = args.healthcheck?.length ? args.healthcheck : httpHealthcheckTest(args.containerPort, args.healthPath);
    const cuda = args.sizing.device === "cuda";

    this.container = new docker.Container(
      name,
      {
        image: args.image,
        command: args.args,
        envs: toDockerEnv(args.env),
        user: `${CACHE_UID}:${CACHE_GID}`,
        volumes: [{ volumeName: args.volumeName, containerPath: args.paths.mountPath, readOnly: true }],
        labels: [
          ...dockerLabels({ role: "service", cacheName: args.cacheName, manifestDigest: args.manifestDigest, device: args.sizing.device }),
          // Resolves only after the downloader exited 0, so the service cannot be created before.
          // A label of its own: the contract labels above stay known during preview.
          { label: DOWNLOADED_BY_LABEL, value: args.downloaderCompleted },
        ],
        memory: args.sizing.limitMiB,
        // Equal to `memory`: no swap, so the measured limit is the real limit.
        memorySwap: args.sizing.limitMiB,
        ...(cuda ? { gpus: "all" } : {}),
        ports: [{ internal: args.containerPort, external: args.hostPort }],
        healthcheck: {
          tests: healthTest,
          interval: `${HEALTH_INTERVAL_SECONDS}s`,
          timeout: `${HEALTH_TIMEOUT_SECONDS}s`,
          retries: HEALTH_RETRIES,
          startPeriod: `${args.startPeriodSeconds}s`,
        },
        wait: true,
        waitTimeout: args.startPeriodSeconds + HEALTH_INTERVAL_SECONDS * (HEALTH_RETRIES + 1),
        restart: "unless-stopped",
        mustRun: true,
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    this.url = pulumi.interpolate`http://localhost:${args.hostPort}`;
    this.registerOutputs({ url: this.url });
  }
}
