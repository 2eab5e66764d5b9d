import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  contractAnnotations,
  DEFAULT_DOWNLOAD_CONCURRENCY,
  DEFAULT_HUB_ENDPOINT,
  downloaderEnv,
  HUB_TOKEN_ENV,
  toKubernetesEnv,
} from "../core/contract";
import { ComponentArgsError } from "./args-error";
import type { KubernetesCacheContext } from "./context";
import { appLabels, objectLabels } from "./labels";
import { CONTAINER_SECURITY_CONTEXT, MODELS_VOLUME, POD_SECURITY_CONTEXT, TMP_VOLUME, tmpVolume } from "./security";

/** Hex digits of the manifest digest in the Job's name (40 bits: a collision needs ~10^6 manifests). */
export const JOB_NAME_DIGEST_CHARS = 10;
/** The downloader CLI (the image's entrypoint) and the key its hub token is read from. */
export const DOWNLOADER_COMMAND = "model-cache";
export const HUB_TOKEN_SECRET_KEY = HUB_TOKEN_ENV;
/**
 * Annotation of pulumi-kubernetes: when a previous `pulumi up` left this Job failed ("unready"),
 * the next `pulumi up` replaces it (a fresh run) instead of waiting on the failed one again.
 */
export const REPLACE_UNREADY_ANNOTATION = "pulumi.com/replaceUnready";
/** Extra seconds `pulumi up` waits past activeDeadlineSeconds, so Kubernetes' own deadline reports first. */
export const AWAIT_MARGIN_SECONDS = 120;

/** `<cacheName>-download-<first hex digits of the manifest digest>`: at most 62 characters. */
export function downloaderJobName(cacheName: string, manifestDigest: string): string {
  return `${cacheName}-download-${manifestDigest.slice(0, JOB_NAME_DIGEST_CHARS)}`;
}

/** Checked before anything is registered; the error names the arg and what it must be. */
export function validateDownloaderArgs(
  args: Pick<DownloaderJobArgs, "image" | "backoffLimit" | "activeDeadlineSeconds" | "memoryMiB" | "concurrency">,
): void {
  const fail = (arg: string, message: string) => {
    throw new ComponentArgsError(`ModelDownloader args.${arg}: ${message}`);
  };
  if (args.image === "")
    fail("image", "must name the downloader image in a registry the cluster pulls from (built from downloader/Dockerfile)");
  if (!Number.isInteger(args.backoffLimit) || args.backoffLimit < 0)
    fail("backoffLimit", `must be a whole number ≥ 0 (got ${args.backoffLimit})`);
  if (!Number.isInteger(args.activeDeadlineSeconds) || args.activeDeadlineSeconds < 1)
    fail("activeDeadlineSeconds", `must be a whole number of seconds ≥ 1 (got ${args.activeDeadlineSeconds})`);
  if (!Number.isInteger(args.memoryMiB) || args.memoryMiB < 1)
    fail("memoryMiB", `must be a whole number of MiB ≥ 1 (got ${args.memoryMiB})`);
  if (!Number.isInteger(args.concurrency) || args.concurrency < 1) fail("concurrency", `must be ≥ 1 (got ${args.concurrency})`);
}

export interface ModelDownloaderArgs {
  /** The cache's name, namespace, paths, manifest and claim (`kubernetesCacheContext`). */
  context: KubernetesCacheContext;
  /**
   * The downloader image (built from downloader/Dockerfile) in a registry the cluster pulls from;
   * an image resource's output works. No default: there is no public image.
   */
  image: pulumi.Input<string>;
  /** The hub the files come from. Default: `DEFAULT_HUB_ENDPOINT` (https://huggingface.co); a mirror works. */
  hubEndpoint?: string;
  /** Files downloaded at once. Default: `DEFAULT_DOWNLOAD_CONCURRENCY` (8). */
  concurrency?: number;
  /** The container's CPU request. Default: "1". */
  cpu?: pulumi.Input<string>;
  /** Its memory, request = limit, in MiB. Default: 1024. */
  memoryMiB?: number;
  /** Failed attempts retried before the Job (and `pulumi up`) fails. Default: 2. */
  backoffLimit?: number;
  /** The Job's deadline over all attempts; `pulumi up` waits 120 s longer. Default: 3600. */
  activeDeadlineSeconds?: number;
  /**
   * The hub token: stored (as a Pulumi secret) in a Kubernetes Secret only this Job reads, never
   * in the service's pods. Default: none (public models only).
   */
  hubToken?: pulumi.Input<string>;
}

/** The defaults the args' TSDoc gives. */
export const DOWNLOADER_DEFAULTS = {
  concurrency: DEFAULT_DOWNLOAD_CONCURRENCY,
  cpu: "1",
  memoryMiB: 1024,
  backoffLimit: 2,
  activeDeadlineSeconds: 3600,
} as const;

/** What `downloaderJobSpec` reads: the downloader's args with the defaults filled, and the token's Secret. */
export interface DownloaderJobArgs {
  context: KubernetesCacheContext;
  image: pulumi.Input<string>;
  hubEndpoint: string;
  concurrency: number;
  cpu: pulumi.Input<string>;
  memoryMiB: number;
  backoffLimit: number;
  activeDeadlineSeconds: number;
  /** The Secret holding the hub token under `HUB_TOKEN_SECRET_KEY`; none: no token env at all. */
  tokenSecretName?: pulumi.Input<string>;
}

/** The labels of the Job and its pods: this manifest's downloader of this cache. */
export function downloaderLabels(context: KubernetesCacheContext): Record<string, string> {
  return objectLabels({ role: "downloader", cacheName: context.cacheName, manifestDigest: context.manifest.digest });
}

/**
 * The Job's spec: one pod, retried `backoffLimit` times within `activeDeadlineSeconds`, hardened,
 * the cache mounted read-write (the only such mount anywhere), the manifest and hub in its env and
 * the token, if any, from its Secret.
 */
export function downloaderJobSpec(args: DownloaderJobArgs): k8s.types.input.batch.v1.JobSpec {
  const { context } = args;
  const env: k8s.types.input.core.v1.EnvVar[] = toKubernetesEnv(
    downloaderEnv({
      paths: context.paths,
      manifestJson: context.manifest.json,
      hubEndpoint: args.hubEndpoint,
      concurrency: args.concurrency,
    }),
  );
  if (args.tokenSecretName !== undefined) {
    env.push({
      name: HUB_TOKEN_SECRET_KEY,
      valueFrom: { secretKeyRef: { name: args.tokenSecretName, key: HUB_TOKEN_SECRET_KEY, optional: false } },
    });
  }
  const memory = `${args.memoryMiB}Mi`;
  return {
    completions: 1,
    parallelism: 1,
    backoffLimit: args.backoffLimit,
    activeDeadlineSeconds: args.activeDeadlineSeconds,
    // No ttlSecondsAfterFinished: the finished Job stays until the next manifest's Job
    // replaces it (Pulumi deletes the old one), so there is at most one, and the stack's state
    // never names a Job the cluster deleted by itself (pulumi-kubernetes #3089: every later
    // in-place change of such a Job fails `up` and `preview` with "unable to get cluster
    // state", and `up --refresh` recreates it each time the TTL ran out).
    template: {
      metadata: { labels: downloaderLabels(context), annotations: contractAnnotations({ manifestDigest: context.manifest.digest }) },
      spec: {
        // Never: every failed attempt is its own pod (with its logs) and counts against backoffLimit.
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        securityContext: POD_SECURITY_CONTEXT,
        containers: [
          {
            name: "downloader",
            image: args.image,
            command: [DOWNLOADER_COMMAND],
            args: ["download", "--json"],
            env,
            resources: {
              requests: { cpu: args.cpu, memory },
              limits: { memory },
            },
            securityContext: CONTAINER_SECURITY_CONTEXT,
            // The downloader's last lines (e.g. the checksum that failed) become the pod's
            // termination message, which `pulumi up` and `kubectl describe` show.
            terminationMessagePolicy: "FallbackToLogsOnError",
            volumeMounts: [
              // The only read-write mount of the cache anywhere.
              { name: MODELS_VOLUME, mountPath: context.paths.mountPath, readOnly: false },
              { name: TMP_VOLUME, mountPath: "/tmp" },
            ],
          },
        ],
        volumes: [{ name: MODELS_VOLUME, persistentVolumeClaim: { claimName: context.claimName, readOnly: false } }, tmpVolume()],
      },
    },
  };
}

/**
 * The download init step: a batch/v1 Job named after the manifest digest. An unchanged manifest
 * keeps the same Job (nothing runs); a changed one (catalog, pins, model list) is a new name, so
 * Pulumi replaces the Job and waits for the new one to complete before anything that depends on
 * it (the service) is touched. pulumi-kubernetes awaits a Job until its `Complete` condition and
 * fails `pulumi up` as soon as it reports `Failed` (BackoffLimitExceeded, DeadlineExceeded).
 * Order it after the volume with `opts.dependsOn` (recorded on the Job and the token's Secret), and
 * the service after it with the service's `opts.dependsOn: [downloader.job]`.
 */
export class ModelDownloader extends pulumi.ComponentResource {
  readonly job: k8s.batch.v1.Job;
  readonly jobName: string;
  readonly tokenSecret?: k8s.core.v1.Secret;

  constructor(name: string, args: ModelDownloaderArgs, opts?: pulumi.ComponentResourceOptions) {
    const filled = { ...DOWNLOADER_DEFAULTS, hubEndpoint: DEFAULT_HUB_ENDPOINT, ...definedOnly(args) };
    validateDownloaderArgs(filled);
    super("model-cache:kubernetes:ModelDownloader", name, {}, opts);
    const { context } = args;
    this.jobName = downloaderJobName(context.cacheName, context.manifest.digest);
    // A child waits for its parent's dependsOn (the claim), but the engine records the edge only where it is given.
    const dependsOn = opts?.dependsOn ? { dependsOn: opts.dependsOn } : {};

    if (args.hubToken !== undefined) {
      this.tokenSecret = new k8s.core.v1.Secret(
        `${name}-hub-token`,
        {
          metadata: {
            name: `${context.cacheName}-hub-token`,
            namespace: context.namespace,
            // Not a cache workload: no role label, so policies never mistake it for one.
            labels: appLabels({ cacheName: context.cacheName }),
          },
          type: "Opaque",
          stringData: { [HUB_TOKEN_SECRET_KEY]: pulumi.secret(args.hubToken) },
        },
        { parent: this, ...dependsOn },
      );
    }

    this.job = new k8s.batch.v1.Job(
      name,
      {
        metadata: {
          name: this.jobName,
          namespace: context.namespace,
          labels: downloaderLabels(context),
          annotations: { ...contractAnnotations({ manifestDigest: context.manifest.digest }), [REPLACE_UNREADY_ANNOTATION]: "true" },
        },
        spec: downloaderJobSpec({ ...filled, ...(this.tokenSecret ? { tokenSecretName: this.tokenSecret.metadata.name } : {}) }),
      },
      {
        parent: this,
        ...dependsOn,
        // The name is fixed by the digest: replacing the same digest's Job (after a failure, or a new
        // image) must delete the old one first. A new digest is a new name and a new Job. The
        // engine deletes a delete-before-replace resource's dependents first only when one of their
        // inputs comes from it; the Deployment only `dependsOn` the Job, so it is never taken down.
        deleteBeforeReplace: true,
        // Never patched in place: any change (image, resources, retries) is a fresh run. A Job's pod
        // template is immutable anyway, and a Job someone deleted by hand is then re-created instead
        // of failing the update of an object that is gone.
        replaceOnChanges: ["*"],
        customTimeouts: {
          create: `${filled.activeDeadlineSeconds + AWAIT_MARGIN_SECONDS}s`,
          update: `${filled.activeDeadlineSeconds + AWAIT_MARGIN_SECONDS}s`,
        },
      },
    );
    this.registerOutputs({ jobName: this.jobName });
  }
}

/** The args without the keys set to undefined, so they do not override the defaults. */
function definedOnly<T extends object>(args: T): T {
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined)) as T;
}
