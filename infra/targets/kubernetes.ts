/**
 * The `prod` target: an existing Kubernetes cluster (EKS), the models volume on EFS (or a given
 * storage class / PersistentVolume), the download Job, then the model service. The order is the
 * dependency graph: EFS → PV → PVC → Job → Deployment, so `pulumi up` only rolls the service once
 * the Job for the current manifest completed.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { EfsModelsVolume } from "../../components/aws";
import {
  appLabels,
  kubernetesCacheContext,
  ModelCacheVolume,
  ModelDownloader,
  ModelService,
  parseNodeSelector,
  parseToleration,
} from "../../components/kubernetes";
import { CONFIG_NAMESPACE, ConfigError } from "../config";
import type { StackPlan } from "../plan";
import type { LoadedConfig } from "../pulumi-config";

export interface KubernetesStackOutputs {
  namespace: string;
  claimName: string;
  /** Unless the volume is provisioned dynamically. */
  persistentVolumeName?: string;
  jobName: string;
  deploymentName: string;
  serviceName: string;
  serviceUrl: pulumi.Output<string>;
  downloaderImage: string;
  /** volumeProvisioning efs only. */
  efsFileSystemId?: pulumi.Output<string>;
  efsAccessPointId?: pulumi.Output<string>;
}

/** The Pod Security Standard the namespace enforces: every pod here already meets `restricted`. */
export const POD_SECURITY_LABELS = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/warn": "restricted",
} as const;

export function deployKubernetes(plan: StackPlan, secrets: Pick<LoadedConfig, "hubToken" | "kubeconfig"> = {}): KubernetesStackOutputs {
  const { config } = plan;
  const provider = clusterProvider(config.useAmbientKubeconfig, secrets.kubeconfig);
  // Components pass the provider on to their Kubernetes children (AWS children use the default).
  const k8sOpts: pulumi.ComponentResourceOptions = provider ? { providers: [provider] } : {};

  const namespace = config.namespace;
  // A NamespacePatch, not a Namespace: server-side apply creates the namespace when it is missing
  // and only adds these labels to one that exists (a Namespace resource fails there with
  // AlreadyExists since pulumi-kubernetes 4.29, which no longer upserts). Retained on delete: the
  // namespace holds the retained models claim, and may have been there before the stack.
  const namespaceResource = config.createNamespace
    ? new k8s.core.v1.NamespacePatch(
        namespace,
        { metadata: { name: namespace, labels: { ...appLabels(), ...POD_SECURITY_LABELS } } },
        { ...(provider ? { provider } : {}), retainOnDelete: true },
      )
    : undefined;
  // The namespace's output, not the bare name: every object waits for the namespace through it.
  const context = kubernetesCacheContext({
    cacheName: config.cacheName,
    namespace: namespaceResource ? namespaceResource.metadata.name : namespace,
    paths: plan.paths,
    manifest: plan.manifest,
  });
  const { claimName } = context;

  let efs: EfsModelsVolume | undefined;
  let volumeName: string | undefined;
  switch (config.volumeProvisioning) {
    case "efs":
      volumeName = `${namespace}-${config.cacheName}-models`;
      efs = new EfsModelsVolume(
        `${config.cacheName}-efs`,
        {
          cacheName: config.cacheName,
          vpcId: config.vpcId,
          subnetIds: config.efsSubnetIds,
          nodeSecurityGroupId: config.nodeSecurityGroupId,
          persistentVolumeName: volumeName,
          claim: { namespace, name: claimName },
          storageSize: config.storageSize,
          storageClassName: config.storageClassName,
          tags: { "pulumi:project": pulumi.getProject(), "pulumi:stack": pulumi.getStack() },
        },
        k8sOpts,
      );
      break;
    case "static":
      volumeName = config.persistentVolumeName;
      break;
    case "dynamic":
      volumeName = undefined;
      break;
  }

  const volume = new ModelCacheVolume(
    config.cacheName,
    {
      context,
      storageSize: config.storageSize,
      storageClassName: config.storageClassName,
      ...(volumeName === undefined ? {} : { volumeName }),
    },
    { ...k8sOpts, dependsOn: efs ? [efs.persistentVolume] : [] },
  );

  const downloader = new ModelDownloader(
    `${config.cacheName}-downloader`,
    {
      context,
      image: config.downloaderImage,
      hubEndpoint: config.hubEndpoint,
      concurrency: config.downloadConcurrency,
      cpu: config.downloaderCpu,
      memoryMiB: config.downloaderMemoryMiB,
      backoffLimit: config.jobBackoffLimit,
      activeDeadlineSeconds: config.jobActiveDeadlineSeconds,
      ...(secrets.hubToken ? { hubToken: secrets.hubToken } : {}),
    },
    { ...k8sOpts, dependsOn: [volume.claim] },
  );

  const service = new ModelService(
    `${config.cacheName}-service`,
    {
      context,
      image: config.serviceImage,
      args: plan.serviceArgs,
      env: plan.serviceEnv,
      sizing: plan.sizing,
      replicas: config.replicas,
      containerPort: config.servicePort,
      healthPath: config.healthPath,
      startPeriodSeconds: plan.startPeriod.seconds,
      cpuRequest: config.cpuRequest,
      gpuCount: config.gpuCount,
      nodeSelector: parseNodeSelector(config.gpuNodeSelector),
      tolerations: config.gpuTolerations.map(parseToleration),
      pdbMinAvailable: config.pdbMinAvailable,
      verifyImage: config.downloaderImage,
    },
    // The Job for this manifest must have completed: Pulumi awaits it before creating or rolling the Deployment.
    { ...k8sOpts, dependsOn: [downloader.job, volume.claim] },
  );

  return {
    namespace,
    claimName,
    ...(volumeName === undefined ? {} : { persistentVolumeName: volumeName }),
    jobName: downloader.jobName,
    deploymentName: service.serviceName,
    serviceName: service.serviceName,
    serviceUrl: service.url,
    downloaderImage: config.downloaderImage,
    ...(efs ? { efsFileSystemId: efs.fileSystemId, efsAccessPointId: efs.accessPointId } : {}),
  };
}

/**
 * The cluster is reached through the kubeconfig secret; the ambient kubeconfig (KUBECONFIG,
 * ~/.kube/config, `kubernetes:context`) only when the stack opts in, so a prod deploy never lands
 * on whatever cluster the operator's shell happens to point at.
 */
function clusterProvider(useAmbient: boolean, kubeconfig: pulumi.Output<string> | undefined): k8s.Provider | undefined {
  if (kubeconfig) return new k8s.Provider("cluster", { kubeconfig });
  if (useAmbient) return undefined;
  const key = `${CONFIG_NAMESPACE}:kubeconfig`;
  throw new ConfigError(
    `${key}: target kubernetes needs the cluster's kubeconfig as a secret; set it with ` +
      `pulumi config set --secret ${key} "$(cat kubeconfig)" (EKS: aws eks update-kubeconfig --name <cluster> --kubeconfig kubeconfig), ` +
      `or set ${CONFIG_NAMESPACE}:useAmbientKubeconfig true to use the ambient kubeconfig`,
  );
}
