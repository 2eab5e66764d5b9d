import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { type CachePaths, consumerEnv, contractAnnotations, GPU_RESOURCE, MANIFEST_ENV, toKubernetesEnv } from "../core/contract";
import type { MemorySizing } from "../core/sizing";
import { ComponentArgsError } from "./args-error";
import type { Toleration } from "./config-values";
import type { KubernetesCacheContext } from "./context";
import { appLabels, objectLabels, selectorLabels } from "./labels";
import { DOWNLOADER_COMMAND } from "./model-downloader";
import { CONTAINER_SECURITY_CONTEXT, MODELS_VOLUME, POD_SECURITY_CONTEXT, TMP_VOLUME, tmpVolume } from "./security";

export { GPU_RESOURCE };
export const STARTUP_PERIOD_SECONDS = 10;
export const PROBE_TIMEOUT_SECONDS = 5;
export const READINESS_PERIOD_SECONDS = 10;
export const PROBE_FAILURE_THRESHOLD = 3;
/**
 * Liveness is not readiness. Readiness GETs the health path (a busy or overloaded server leaves
 * the Service for a while and comes back); liveness only asks whether the process still accepts
 * TCP connections on its port, every 30 s, and restarts it after 3 minutes of refusals. The
 * kernel accepts connections even while every worker is busy on one long request, so such a
 * server is never killed, which would throw away minutes of loading gigabytes of models. The
 * trade-off: a process that hangs with its socket still open is not restarted by liveness; it
 * stops being Ready, so it gets no traffic, and shows up as an unready pod.
 */
export const LIVENESS_PERIOD_SECONDS = 30;
export const LIVENESS_TIMEOUT_SECONDS = 10;
export const LIVENESS_FAILURE_THRESHOLD = 6;
/** Seconds a new pod may take beyond the start period (scheduling, a multi-GB CUDA image pull, verify). */
export const POD_START_BUDGET_SECONDS = 600;
export const SERVICE_PORT = 80;
export const PORT_NAME = "http";

export interface ModelServiceArgs {
  /** The cache's name, namespace, paths, manifest and claim (`kubernetesCacheContext`). */
  context: KubernetesCacheContext;
  /** The model server's image; an image resource's output works. */
  image: pulumi.Input<string>;
  /** The server's arguments (the snapshot path already substituted). Default: none (the image's own). */
  args?: string[];
  /**
   * The server's env: the cache env and offline env (`core.consumerEnv(paths)`), plus your extras.
   * Never a hub credential (the pack rejects one).
   */
  env: Record<string, string>;
  /** The measured memory (`core.computeMemorySizing`): request = limit; its device decides GPU or not. */
  sizing: MemorySizing;
  /** Pods of the Deployment. Default: 1. */
  replicas?: number;
  /** The port the server listens on in the pod (the Service's port is 80). Default: 80. */
  containerPort?: number;
  /** The HTTP path that answers 200 once the models are loaded (startup and readiness probes). */
  healthPath: string;
  /** Seconds the server may take to load the models (`core.deriveStartPeriod`) before the startup probe fails it. */
  startPeriodSeconds: number;
  /** The CPU request of the server (and the verify init container). Default: "1". */
  cpuRequest?: pulumi.Input<string>;
  /** GPUs per pod on cuda (ignored on cpu). Default: 1. */
  gpuCount?: number;
  /** Where GPU pods go, e.g. `{"eks.amazonaws.com/nodegroup": "gpu"}`; ignored on cpu. Default: none. */
  nodeSelector?: Record<string, string>;
  /** Taints GPU pods tolerate; ignored on cpu. Default: none. */
  tolerations?: Toleration[];
  /**
   * Pods a node drain must leave running; less than `replicas`. Default: 1 with several replicas,
   * 0 with one (a drain may then evict it, and the single-replica rollout surges instead).
   */
  pdbMinAvailable?: number;
  /** The downloader image, whose `model-cache verify` checks the cache before the server starts. */
  verifyImage: pulumi.Input<string>;
}

/** The service's args with every default filled. */
export type ServiceSettings = Required<ModelServiceArgs>;

/** Fills the defaults the args' TSDoc gives. */
export function serviceSettings(args: ModelServiceArgs): ServiceSettings {
  const replicas = args.replicas ?? 1;
  return {
    ...args,
    args: args.args ?? [],
    replicas,
    containerPort: args.containerPort ?? SERVICE_PORT,
    cpuRequest: args.cpuRequest ?? "1",
    gpuCount: args.gpuCount ?? 1,
    nodeSelector: args.nodeSelector ?? {},
    tolerations: args.tolerations ?? [],
    pdbMinAvailable: args.pdbMinAvailable ?? (replicas > 1 ? 1 : 0),
  };
}

/**
 * The startup probe's failure threshold: the pod gets at least the start period
 * (periodSeconds × failureThreshold + initialDelaySeconds ≥ startPeriodSeconds), plus one period.
 */
export function startupFailureThreshold(startPeriodSeconds: number): number {
  return Math.max(1, Math.ceil(startPeriodSeconds / STARTUP_PERIOD_SECONDS)) + 1;
}

/** See LIVENESS_PERIOD_SECONDS: a TCP check of the server's port, with its own period and thresholds. */
export function livenessProbe(): k8s.types.input.core.v1.Probe {
  return {
    tcpSocket: { port: PORT_NAME },
    periodSeconds: LIVENESS_PERIOD_SECONDS,
    timeoutSeconds: LIVENESS_TIMEOUT_SECONDS,
    failureThreshold: LIVENESS_FAILURE_THRESHOLD,
  };
}

/**
 * The rollout's capacity, a deliberate choice (docs/kubernetes.md, "Rollout capacity"). GPU pods
 * usually fill their node, so a surge pod would need a spare GPU the node group may not have (it
 * would stay Pending until the progress deadline fails the rollout). With several replicas: roll
 * one pod at a time with no surge (maxSurge 0, maxUnavailable 1). The cost: during an upgrade
 * serving capacity drops by one pod (half of the prod stack's 2), for one pod start (image pull,
 * verify, model load) per replica; the PodDisruptionBudget still keeps pdbMinAvailable pods up
 * during drains. With one replica: surge instead (maxSurge 1, maxUnavailable 0), so the service
 * never goes down, at the price of needing a second GPU for the duration of the rollout.
 */
export function rollingUpdate(replicas: number): { maxSurge: number; maxUnavailable: number } {
  return replicas > 1 ? { maxSurge: 0, maxUnavailable: 1 } : { maxSurge: 1, maxUnavailable: 0 };
}

/** Checked before anything is registered, so a reader's own program fails on the arg, not in the cluster. */
export function validateServiceArgs(
  args: Pick<ServiceSettings, "replicas" | "pdbMinAvailable" | "gpuCount" | "sizing" | "image" | "verifyImage">,
): void {
  const fail = (arg: string, message: string) => {
    throw new ComponentArgsError(`ModelService args.${arg}: ${message}`);
  };
  if (!Number.isInteger(args.replicas) || args.replicas < 1) fail("replicas", `must be a whole number ≥ 1 (got ${args.replicas})`);
  if (args.pdbMinAvailable < 0 || (args.pdbMinAvailable > 0 && args.pdbMinAvailable >= args.replicas))
    fail(
      "pdbMinAvailable",
      `must be less than replicas (${args.replicas}), or a node drain can never evict a pod (got ${args.pdbMinAvailable})`,
    );
  if (args.sizing.device === "cuda" && (!Number.isInteger(args.gpuCount) || args.gpuCount < 1))
    fail("gpuCount", `must be ≥ 1 on cuda (got ${args.gpuCount})`);
  if (args.image === "") fail("image", "must name the model server image");
  if (args.verifyImage === "") fail("verifyImage", "must name the downloader image whose `model-cache verify` checks the cache");
}

/** What the pod builders read: the service's settings without the Deployment's. */
export type ServicePodArgs = Omit<ServiceSettings, "replicas" | "pdbMinAvailable">;

const modelsMount = (paths: CachePaths) => ({ name: MODELS_VOLUME, mountPath: paths.mountPath, readOnly: true });
const memoryOf = (args: Pick<ServicePodArgs, "sizing">) => `${args.sizing.limitMiB}Mi`;

function healthProbe(healthPath: string, periodSeconds: number, failureThreshold: number): k8s.types.input.core.v1.Probe {
  return { httpGet: { path: healthPath, port: PORT_NAME }, periodSeconds, timeoutSeconds: PROBE_TIMEOUT_SECONDS, failureThreshold };
}

/**
 * The `verify` init container: `model-cache verify` on the manifest, read-only, offline; the
 * server never starts on an incomplete cache. The same memory and CPU as the server: a pod's
 * effective request is the larger of its init and app containers', so this costs no capacity.
 */
export function verifyInitContainer(args: ServicePodArgs): k8s.types.input.core.v1.Container {
  const memory = memoryOf(args);
  return {
    name: "verify",
    image: args.verifyImage,
    command: [DOWNLOADER_COMMAND],
    args: ["verify"],
    env: toKubernetesEnv({ ...consumerEnv(args.context.paths), [MANIFEST_ENV]: args.context.manifest.json }),
    resources: { requests: { cpu: args.cpuRequest, memory }, limits: { memory } },
    securityContext: CONTAINER_SECURITY_CONTEXT,
    // "missing model <id>" becomes the termination message `kubectl describe pod` shows.
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [modelsMount(args.context.paths), { name: TMP_VOLUME, mountPath: "/tmp" }],
  };
}

/** The model server: offline env, measured memory (request = limit), a GPU on cuda, the probes. */
export function serverContainer(args: ServicePodArgs): k8s.types.input.core.v1.Container {
  const memory = memoryOf(args);
  const cuda = args.sizing.device === "cuda";
  return {
    name: "model-server",
    image: args.image,
    ...(args.args.length > 0 ? { args: args.args } : {}),
    env: toKubernetesEnv(args.env),
    ports: [{ name: PORT_NAME, containerPort: args.containerPort, protocol: "TCP" }],
    resources: {
      requests: { cpu: args.cpuRequest, memory },
      limits: { memory, ...(cuda ? { [GPU_RESOURCE]: String(args.gpuCount) } : {}) },
    },
    startupProbe: healthProbe(args.healthPath, STARTUP_PERIOD_SECONDS, startupFailureThreshold(args.startPeriodSeconds)),
    readinessProbe: healthProbe(args.healthPath, READINESS_PERIOD_SECONDS, PROBE_FAILURE_THRESHOLD),
    livenessProbe: livenessProbe(),
    securityContext: CONTAINER_SECURITY_CONTEXT,
    terminationMessagePolicy: "FallbackToLogsOnError",
    volumeMounts: [modelsMount(args.context.paths), { name: TMP_VOLUME, mountPath: "/tmp" }],
  };
}

/**
 * The service's pod template. The digest label and the verify container's manifest make it change
 * exactly when the manifest does: a model upgrade rolls the pods, nothing else does.
 */
export function servicePodTemplate(args: ServicePodArgs): k8s.types.input.core.v1.PodTemplateSpec {
  const { cacheName, manifest, claimName } = args.context;
  const digest = manifest.digest;
  const cuda = args.sizing.device === "cuda";
  const selector = selectorLabels("service", cacheName);
  return {
    metadata: {
      labels: objectLabels({ role: "service", cacheName, manifestDigest: digest, device: args.sizing.device }),
      annotations: contractAnnotations({ manifestDigest: digest }),
    },
    spec: {
      automountServiceAccountToken: false,
      securityContext: POD_SECURITY_CONTEXT,
      ...(cuda && Object.keys(args.nodeSelector).length > 0 ? { nodeSelector: args.nodeSelector } : {}),
      ...(cuda && args.tolerations.length > 0 ? { tolerations: args.tolerations } : {}),
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: "ScheduleAnyway",
          labelSelector: { matchLabels: selector },
        },
      ],
      initContainers: [verifyInitContainer(args)],
      containers: [serverContainer(args)],
      volumes: [{ name: MODELS_VOLUME, persistentVolumeClaim: { claimName, readOnly: true } }, tmpVolume()],
    },
  };
}

/** The ClusterIP Service: selects the pods by role and cache, never by digest (old and new pods are one set). */
export function serviceSpec(cacheName: string): k8s.types.input.core.v1.ServiceSpec {
  return {
    type: "ClusterIP",
    selector: selectorLabels("service", cacheName),
    ports: [{ name: PORT_NAME, port: SERVICE_PORT, targetPort: PORT_NAME, protocol: "TCP" }],
  };
}

/** The PodDisruptionBudget: node drains keep `minAvailable` pods of the service. */
export function disruptionBudgetSpec(cacheName: string, minAvailable: number): k8s.types.input.policy.v1.PodDisruptionBudgetSpec {
  return { minAvailable, selector: { matchLabels: selectorLabels("service", cacheName) } };
}

/**
 * The model service: a Deployment whose pods mount the cache read-only, run offline with no hub
 * credentials, first verify the cache (`model-cache verify`, read-only, failing with the missing
 * model's name), get the measured memory (request = limit) and a GPU on cuda, run hardened as the
 * cache's user, and count as started only when the health endpoint answers. Plus its Service and
 * PodDisruptionBudget.
 *
 * Order it after the download with `opts.dependsOn: [downloader.job]` (and the claim). The edge is
 * recorded on the Deployment, so Pulumi awaits the Job before creating or rolling it; it is
 * ordering only (no input comes from the Job), so replacing the Job never takes the Deployment
 * down. The Service and the PodDisruptionBudget record no edge to the Job (like every child they
 * are registered after the component, hence after its dependsOn, but a later Job replacement or
 * deletion never involves them).
 */
export class ModelService extends pulumi.ComponentResource {
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
  readonly serviceName: string;
  /** The in-cluster URL of the service. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: ModelServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    const settings = serviceSettings(args);
    validateServiceArgs(settings);
    super("model-cache:kubernetes:ModelService", name, {}, opts);
    const { cacheName, namespace, manifest } = args.context;
    const digest = manifest.digest;
    const labels = objectLabels({ role: "service", cacheName, manifestDigest: digest, device: args.sizing.device });
    const annotations = contractAnnotations({ manifestDigest: digest });
    const selector = selectorLabels("service", cacheName);
    this.serviceName = `${cacheName}-service`;
    const progressDeadlineSeconds = args.startPeriodSeconds + POD_START_BUDGET_SECONDS;
    const strategy = rollingUpdate(settings.replicas);
    // Pods roll at most `maxUnavailable || maxSurge` at a time, each within the progress deadline.
    const rolloutSeconds = Math.ceil(settings.replicas / Math.max(strategy.maxUnavailable, strategy.maxSurge)) * progressDeadlineSeconds;

    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: { name: this.serviceName, namespace, labels, annotations },
        spec: {
          replicas: settings.replicas,
          selector: { matchLabels: selector },
          strategy: { type: "RollingUpdate", rollingUpdate: strategy },
          progressDeadlineSeconds,
          template: servicePodTemplate(settings),
        },
      },
      {
        parent: this,
        // A child waits for its parent's dependsOn, but the engine records the edge only where it is
        // given: here, so the Deployment's state names the Job it waits for.
        ...(opts?.dependsOn ? { dependsOn: opts.dependsOn } : {}),
        customTimeouts: { create: `${rolloutSeconds}s`, update: `${rolloutSeconds}s` },
      },
    );

    const metadata = { name: this.serviceName, namespace, labels: appLabels({ cacheName }) };
    this.service = new k8s.core.v1.Service(`${name}-svc`, { metadata, spec: serviceSpec(cacheName) }, { parent: this });
    this.disruptionBudget = new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      { metadata, spec: disruptionBudgetSpec(cacheName, settings.pdbMinAvailable) },
      { parent: this },
    );

    this.url = pulumi.interpolate`http://${this.serviceName}.${namespace}.svc.cluster.local:${SERVICE_PORT}`;
    this.registerOutputs({ url: this.url });
  }
}
