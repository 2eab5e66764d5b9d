import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { type CachePaths, contractAnnotations, downloaderEnv, HUB_TOKEN_ENV, toKubernetesEnv } from "../core/contract";
import type { BuiltManifest } from "../core/selection";
import { ComponentArgsError } from "./args-error";
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
  args: Pick<ModelDownloaderArgs, "image" | "backoffLimit" | "activeDeadlineSeconds" | "memoryMiB" | "concurrency">,
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
  cacheName: string;
  namespace: pulumi.Input<string>;
  paths: CachePaths;
  manifest: BuiltManifest;
  /** The models volume's claim (mounted read-write here, and only here). */
  claimName: string;
  /** The downloader image in a registry the cluster pulls from (built from downloader/Dockerfile). */
  image: string;
  hubEndpoint: string;
  concurrency: number;
  cpu: string;
  memoryMiB: number;
  backoffLimit: number;
  activeDeadlineSeconds: number;
  /** The hub token: a Pulumi secret, stored in a Kubernetes Secret only this Job reads. */
  hubToken?: pulumi.Output<string>;
  /** What every object here waits for (the namespace, the claim). */
  dependsOn?: pulumi.Resource[];
}

/**
 * The download init step: a batch/v1 Job named after the manifest digest. An unchanged manifest
 * keeps the same Job (nothing runs); a changed one (catalog, pins, model list) is a new name, so
 * Pulumi replaces the Job and waits for the new one to complete before anything that depends on
 * it (the service) is touched. pulumi-kubernetes awaits a Job until its `Complete` condition and
 * fails `pulumi up` as soon as it reports `Failed` (BackoffLimitExceeded, DeadlineExceeded).
 */
export class ModelDownloader extends pulumi.ComponentResource {
  readonly job: k8s.batch.v1.Job;
  readonly jobName: string;
  readonly tokenSecret?: k8s.core.v1.Secret;

  constructor(name: string, args: ModelDownloaderArgs, opts?: pulumi.ComponentResourceOptions) {
    validateDownloaderArgs(args);
    super("model-cache:kubernetes:ModelDownloader", name, {}, opts);
    this.jobName = downloaderJobName(args.cacheName, args.manifest.digest);
    const labels = objectLabels({ role: "downloader", cacheName: args.cacheName, manifestDigest: args.manifest.digest });
    const annotations = contractAnnotations({ manifestDigest: args.manifest.digest });

    const env: k8s.types.input.core.v1.EnvVar[] = toKubernetesEnv(
      downloaderEnv({ paths: args.paths, manifestJson: args.manifest.json, hubEndpoint: args.hubEndpoint, concurrency: args.concurrency }),
    );
    if (args.hubToken) {
      this.tokenSecret = new k8s.core.v1.Secret(
        `${name}-hub-token`,
        {
          metadata: {
            name: `${args.cacheName}-hub-token`,
            namespace: args.namespace,
            // Not a cache workload: no role label, so policies never mistake it for one.
            labels: appLabels({ cacheName: args.cacheName }),
          },
          type: "Opaque",
          stringData: { [HUB_TOKEN_SECRET_KEY]: pulumi.secret(args.hubToken) },
        },
        { parent: this, dependsOn: args.dependsOn ?? [] },
      );
      env.push({
        name: HUB_TOKEN_SECRET_KEY,
        valueFrom: { secretKeyRef: { name: this.tokenSecret.metadata.name, key: HUB_TOKEN_SECRET_KEY, optional: false } },
      });
    }

    const memory = `${args.memoryMiB}Mi`;
    this.job = new k8s.batch.v1.Job(
      name,
      {
        metadata: {
          name: this.jobName,
          namespace: args.namespace,
          labels,
          annotations: { ...annotations, [REPLACE_UNREADY_ANNOTATION]: "true" },
        },
        spec: {
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
            metadata: { labels, annotations },
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
                    { name: MODELS_VOLUME, mountPath: args.paths.mountPath, readOnly: false },
                    { name: TMP_VOLUME, mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [{ name: MODELS_VOLUME, persistentVolumeClaim: { claimName: args.claimName, readOnly: false } }, tmpVolume()],
            },
          },
        },
      },
      {
        parent: this,
        dependsOn: args.dependsOn ?? [],
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
          create: `${args.activeDeadlineSeconds + AWAIT_MARGIN_SECONDS}s`,
          update: `${args.activeDeadlineSeconds + AWAIT_MARGIN_SECONDS}s`,
        },
      },
    );
    this.registerOutputs({ jobName: this.jobName });
  }
}
