/**
 * Hand-written stacks that keep the contract, one per family, built from the contract and the
 * catalog (never from the components, so the pack is tested against what any author may write).
 * Tests clone one, break exactly one rule, and expect exactly that policy to fail.
 */

import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { builtinCatalog, type CatalogEntry } from "../../../components/core/catalog";
import {
  cacheEnv,
  cachePaths,
  consumerEnv,
  contractLabels,
  LABELS,
  MANIFEST_ENV,
  type Role,
  toDockerEnv,
  toKubernetesEnv,
} from "../../../components/core/contract";
import { formatMiB } from "../../../components/core/quantity";
import { type BuiltManifest, buildManifest, selectModels } from "../../../components/core/selection";
import { computeMemorySizing, type MemorySizing } from "../../../components/core/sizing";
import type { AnalyzerResourceInput } from "../../../gate/analyzer-client";
import { AWS, DOCKER, K8S } from "./types";

/** Fixtures are free-form resource JSON that tests take apart and mutate. */
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type Json = any;

export type Resource = AnalyzerResourceInput & { props: Record<string, Json> };

export const CACHE = "models";
export const PATHS = cachePaths();
/** The engine's unknown sentinel (the SDK's own). */
export const UNKNOWN: string = unknownValue;

export const urn = (type: string, name: string, parentType?: string): string =>
  `urn:pulumi:test::model-cache::${parentType ? `${parentType}$` : ""}${type}::${name}`;

export interface ModelSet {
  models: CatalogEntry[];
  manifest: BuiltManifest;
  sizing: MemorySizing;
}

export function modelSet(ids: string[], device: "cuda" | "cpu", allowUnverified = false): ModelSet {
  const models = selectModels(ids, builtinCatalog(), { allowUnverified });
  return {
    models,
    manifest: buildManifest(models, { allowUnverified }),
    sizing: computeMemorySizing({ models, device, headroom: 1.25 }),
  };
}

/** GPU stacks serve BGE-M3 and YuNet (both fully checksummed in the catalog). */
export const GPU_SET = modelSet(["bge-m3", "yunet"], "cuda");

function labels(role: Role, set: ModelSet | undefined): Record<string, string> {
  return contractLabels({ role, cacheName: CACHE, ...(set ? { manifestDigest: set.manifest.digest } : {}) });
}

export const dockerLabelList = (l: Record<string, string>) => Object.entries(l).map(([label, value]) => ({ label, value }));

export function clone<T>(value: T): T {
  return structuredClone(value);
}

// ---------------------------------------------------------------------------------------------
// Docker: a labelled volume, a one-shot downloader, a GPU service that depends on it.

export const DOCKER_CONTAINER = DOCKER.container;
export const DOCKER_VOLUME = DOCKER.volume;

export function dockerStack(set: ModelSet = GPU_SET) {
  const volume: Resource = {
    urn: urn(DOCKER_VOLUME, "models"),
    type: DOCKER_VOLUME,
    name: "models",
    props: { name: "model-cache-models", labels: dockerLabelList(labels("cache", undefined)) },
  };
  const downloader: Resource = {
    urn: urn(DOCKER_CONTAINER, "models-downloader"),
    type: DOCKER_CONTAINER,
    name: "models-downloader",
    props: {
      name: "models-downloader",
      image: "model-cache-downloader:local",
      command: ["download", "--json"],
      envs: toDockerEnv({ ...cacheEnv(PATHS), [MANIFEST_ENV]: set.manifest.json }),
      volumes: [{ volumeName: "model-cache-models", containerPath: PATHS.mountPath, readOnly: false }],
      labels: dockerLabelList(labels("downloader", set)),
      mustRun: false,
      attach: true,
      restart: "no",
    },
    dependencies: [urn(DOCKER_VOLUME, "models")],
    propertyDependencies: { volumes: [urn(DOCKER_VOLUME, "models")] },
  };
  const service: Resource = {
    urn: urn(DOCKER_CONTAINER, "models-service"),
    type: DOCKER_CONTAINER,
    name: "models-service",
    props: {
      name: "models-service",
      image: "ghcr.io/example/model-server:1",
      envs: toDockerEnv(consumerEnv(PATHS)),
      volumes: [{ volumeName: "model-cache-models", containerPath: PATHS.mountPath, readOnly: true }],
      labels: dockerLabelList(labels("service", set)),
      memory: set.sizing.limitMiB,
      gpus: "all",
      healthcheck: { tests: ["CMD", "true"], interval: "10s", retries: 3, startPeriod: "90s" },
      mustRun: true,
    },
    dependencies: [urn(DOCKER_CONTAINER, "models-downloader"), urn(DOCKER_VOLUME, "models")],
    propertyDependencies: { volumes: [urn(DOCKER_VOLUME, "models")] },
  };
  return { volume, downloader, service, all: [volume, downloader, service], set };
}

/** Set (or remove, with undefined) a variable of a Docker `envs` list. */
export function setDockerEnv(r: Resource, name: string, value: string | undefined): void {
  const envs = (r.props["envs"] as string[]).filter((e) => !e.startsWith(`${name}=`));
  if (value !== undefined) envs.push(`${name}=${value}`);
  r.props["envs"] = envs;
}

export function setDockerLabel(r: Resource, label: string, value: string | undefined): void {
  const list = (r.props["labels"] as { label: string; value: string }[]).filter((l) => l.label !== label);
  if (value !== undefined) list.push({ label, value });
  r.props["labels"] = list;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes: a labelled claim, a download Job, a GPU Deployment with a read-only verify init
// container, ordered after the Job.

export { K8S };

const NS = "ml";
export const CLAIM = "models-cache";

export function kubernetesStack(set: ModelSet = GPU_SET) {
  const memory = formatMiB(set.sizing.limitMiB);
  const pvc: Resource = {
    urn: urn(K8S.pvc, "models"),
    type: K8S.pvc,
    name: "models",
    props: {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: CLAIM, namespace: NS, labels: labels("cache", undefined) },
      spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "50Gi" } }, storageClassName: "" },
    },
  };
  const job: Resource = {
    urn: urn(K8S.job, "models-download"),
    type: K8S.job,
    name: "models-download",
    props: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "models-download", namespace: NS, labels: labels("downloader", set) },
      spec: {
        backoffLimit: 3,
        template: {
          metadata: { labels: labels("downloader", set) },
          spec: {
            restartPolicy: "Never",
            containers: [
              {
                name: "download",
                image: "model-cache-downloader:1",
                args: ["download"],
                env: toKubernetesEnv({ ...cacheEnv(PATHS), [MANIFEST_ENV]: set.manifest.json }),
                resources: { limits: { memory: "1Gi" } },
                volumeMounts: [{ name: "models", mountPath: PATHS.mountPath }],
              },
            ],
            volumes: [{ name: "models", persistentVolumeClaim: { claimName: CLAIM } }],
          },
        },
      },
    },
    dependencies: [urn(K8S.pvc, "models")],
  };
  const deployment: Resource = {
    urn: urn(K8S.deployment, "models-service"),
    type: K8S.deployment,
    name: "models-service",
    props: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "models-service", namespace: NS, labels: labels("service", set) },
      spec: {
        replicas: 2,
        selector: { matchLabels: { "model-cache.io/role": "service" } },
        template: {
          metadata: { labels: labels("service", set) },
          spec: {
            initContainers: [
              {
                name: "verify",
                image: "model-cache-downloader:1",
                args: ["verify"],
                env: toKubernetesEnv({ ...consumerEnv(PATHS), [MANIFEST_ENV]: set.manifest.json }),
                resources: { limits: { memory } },
                volumeMounts: [{ name: "models", mountPath: PATHS.mountPath, readOnly: true }],
              },
            ],
            containers: [
              {
                name: "model-server",
                image: "ghcr.io/example/model-server:1",
                env: toKubernetesEnv(consumerEnv(PATHS)),
                resources: { requests: { memory }, limits: { memory, "nvidia.com/gpu": "1" } },
                startupProbe: { httpGet: { path: "/health", port: 80 }, periodSeconds: 10, failureThreshold: 10 },
                livenessProbe: { httpGet: { path: "/health", port: 80 }, periodSeconds: 20, failureThreshold: 3 },
                volumeMounts: [
                  { name: "models", mountPath: PATHS.mountPath, readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volumes: [
              { name: "models", persistentVolumeClaim: { claimName: CLAIM, readOnly: true } },
              { name: "tmp", emptyDir: {} },
            ],
          },
        },
      },
    },
    dependencies: [urn(K8S.job, "models-download"), urn(K8S.pvc, "models")],
  };
  return { pvc, job, deployment, all: [pvc, job, deployment], set };
}

/** The pod spec of a Kubernetes workload fixture. */
export function podSpec(r: Resource): Json {
  if (r.type === K8S.pod) return r.props["spec"];
  if (r.type === K8S.cronJob) return r.props["spec"].jobTemplate.spec.template.spec;
  return r.props["spec"].template.spec;
}

export function setK8sEnv(
  container: { env: { name: string; value?: string; valueFrom?: unknown }[] },
  name: string,
  value: string | undefined,
): void {
  container.env = container.env.filter((e) => e.name !== name);
  if (value !== undefined) container.env.push({ name, value });
}

// ---------------------------------------------------------------------------------------------
// ECS: an EFS file system labelled as the cache, one task: a non-essential downloader and a GPU
// server that dependsOn it with SUCCESS.

export const ECS_TASK = AWS.taskDefinition;
export const EFS = AWS.fileSystem;

export function ecsContainers(set: ModelSet = GPU_SET): Json[] {
  const env = (vars: Record<string, string>) => Object.entries(vars).map(([name, value]) => ({ name, value }));
  return [
    {
      name: "download",
      image: "model-cache-downloader:1",
      essential: false,
      command: ["download"],
      environment: env({ ...cacheEnv(PATHS), [MANIFEST_ENV]: set.manifest.json }),
      mountPoints: [{ sourceVolume: "models", containerPath: PATHS.mountPath, readOnly: false }],
      dockerLabels: labels("downloader", set),
      memory: 1024,
    },
    {
      name: "model-server",
      image: "ghcr.io/example/model-server:1",
      essential: true,
      environment: env(consumerEnv(PATHS)),
      mountPoints: [{ sourceVolume: "models", containerPath: PATHS.mountPath, readOnly: true }],
      dockerLabels: labels("service", set),
      memory: set.sizing.limitMiB,
      resourceRequirements: [{ type: "GPU", value: "1" }],
      dependsOn: [{ containerName: "download", condition: "SUCCESS" }],
      healthCheck: { command: ["CMD-SHELL", "curl -f http://localhost/health"], interval: 10, retries: 3, startPeriod: 120 },
    },
  ];
}

export function ecsStack(set: ModelSet = GPU_SET) {
  const efs: Resource = {
    urn: urn(EFS, "models"),
    type: EFS,
    name: "models",
    props: { encrypted: true, tags: labels("cache", undefined) },
  };
  const task: Resource = {
    urn: urn(ECS_TASK, "models"),
    type: ECS_TASK,
    name: "models",
    props: {
      family: "models",
      requiresCompatibilities: ["EC2"],
      containerDefinitions: JSON.stringify(ecsContainers(set)),
      volumes: [
        {
          name: "models",
          efsVolumeConfiguration: { fileSystemId: "fs-0123456789abcdef0", rootDirectory: "/", transitEncryption: "ENABLED" },
        },
      ],
    },
    dependencies: [urn(EFS, "models")],
    propertyDependencies: { volumes: [urn(EFS, "models")] },
  };
  return { efs, task, all: [efs, task], set };
}

/** Rewrite an ECS task's containerDefinitions. */
export function editContainers(task: Resource, edit: (containers: Json[]) => void): void {
  const containers = JSON.parse(task.props["containerDefinitions"] as string);
  edit(containers);
  task.props["containerDefinitions"] = JSON.stringify(containers);
}

// ---------------------------------------------------------------------------------------------
// Kubernetes on EFS (the prod shape): the claim binds a static PersistentVolume whose CSI handle
// names an EFS file system and access point tagged with the cache's name. The engine shows the
// file system's and access point's outputs (id, dnsName) in AnalyzeStack.

export const FS_ID = "fs-0123456789abcdef0";
export const AP_ID = "fsap-0123456789abcdef0";
export const OTHER_FS_ID = "fs-0fedcba9876543210";
export const EFS_DNS = `${FS_ID}.efs.eu-west-1.amazonaws.com`;
export const PV_NAME = "models-cache-pv";

export function efsKubernetesStack(set: ModelSet = GPU_SET) {
  const k = kubernetesStack(set);
  const tags = { [LABELS.cache]: CACHE, Name: "models" };
  const fileSystem: Resource = {
    urn: urn(AWS.fileSystem, "models"),
    type: AWS.fileSystem,
    name: "models",
    props: { id: FS_ID, dnsName: EFS_DNS, encrypted: true, tags },
  };
  const accessPoint: Resource = {
    urn: urn(AWS.accessPoint, "models"),
    type: AWS.accessPoint,
    name: "models",
    props: { id: AP_ID, fileSystemId: FS_ID, rootDirectory: { path: "/models" }, tags },
    dependencies: [fileSystem.urn],
  };
  const pv: Resource = {
    urn: urn(K8S.pv, "models"),
    type: K8S.pv,
    name: "models",
    props: {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: PV_NAME, labels: labels("cache", undefined) },
      spec: {
        capacity: { storage: "50Gi" },
        accessModes: ["ReadWriteMany"],
        storageClassName: "",
        claimRef: { namespace: "ml", name: CLAIM },
        csi: { driver: "efs.csi.aws.com", volumeHandle: `${FS_ID}::${AP_ID}` },
      },
    },
    dependencies: [fileSystem.urn, accessPoint.urn],
  };
  k.pvc.props["spec"].volumeName = PV_NAME;
  k.pvc.dependencies = [pv.urn];
  return { ...k, fileSystem, accessPoint, pv, all: [fileSystem, accessPoint, pv, ...k.all] };
}

/**
 * A workload written by hand that reaches a volume and breaks the contract three ways at once:
 * it mounts it read-write, switches the hub on and holds a token. Checked as a consumer, it must
 * fail consumer-read-only-mount, consumer-offline and consumer-no-hub-credentials.
 */
export function intruderPodSpec(volume: Json, mountPath = "/data"): Json {
  return {
    containers: [
      {
        name: "intruder",
        image: "python:3.12",
        env: [
          { name: "HF_HUB_OFFLINE", value: "0" },
          { name: "HF_TOKEN", value: "hf_not_a_real_token" },
        ],
        volumeMounts: [{ name: "cache", mountPath }],
      },
    ],
    volumes: [{ name: "cache", ...volume }],
  };
}

export const INTRUSION = ["consumer-no-hub-credentials", "consumer-offline", "consumer-read-only-mount"];
