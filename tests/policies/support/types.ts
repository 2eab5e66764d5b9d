/**
 * Resource type tokens as the providers' own SDKs register them (each class's `__pulumiType`), so
 * the tests send exactly what the engine would, never a copy that could drift.
 */

import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition";
import { AccessPoint } from "@pulumi/aws/efs/accessPoint";
import { FileSystem } from "@pulumi/aws/efs/fileSystem";
import { Container } from "@pulumi/docker/container";
import { Service } from "@pulumi/docker/service";
import { Volume } from "@pulumi/docker/volume";
import { DaemonSet } from "@pulumi/kubernetes/apps/v1/daemonSet";
import { Deployment } from "@pulumi/kubernetes/apps/v1/deployment";
import { DeploymentList } from "@pulumi/kubernetes/apps/v1/deploymentList";
import { DeploymentPatch } from "@pulumi/kubernetes/apps/v1/deploymentPatch";
import { ReplicaSet } from "@pulumi/kubernetes/apps/v1/replicaSet";
import { StatefulSet } from "@pulumi/kubernetes/apps/v1/statefulSet";
import { StatefulSetPatch } from "@pulumi/kubernetes/apps/v1/statefulSetPatch";
import { CronJob } from "@pulumi/kubernetes/batch/v1/cronJob";
import { Job } from "@pulumi/kubernetes/batch/v1/job";
import { JobPatch } from "@pulumi/kubernetes/batch/v1/jobPatch";
import { ConfigMap } from "@pulumi/kubernetes/core/v1/configMap";
import { PersistentVolume } from "@pulumi/kubernetes/core/v1/persistentVolume";
import { PersistentVolumeClaim } from "@pulumi/kubernetes/core/v1/persistentVolumeClaim";
import { Pod } from "@pulumi/kubernetes/core/v1/pod";
import { PodList } from "@pulumi/kubernetes/core/v1/podList";
import { ReplicationController } from "@pulumi/kubernetes/core/v1/replicationController";
import { Secret } from "@pulumi/kubernetes/core/v1/secret";
import { Release } from "@pulumi/kubernetes/helm/v3/release";

function token(resourceClass: unknown): string {
  const value = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
  if (typeof value !== "string") throw new Error("a resource class without __pulumiType");
  return value;
}

export const K8S = {
  deployment: token(Deployment),
  deploymentPatch: token(DeploymentPatch),
  deploymentList: token(DeploymentList),
  statefulSet: token(StatefulSet),
  statefulSetPatch: token(StatefulSetPatch),
  daemonSet: token(DaemonSet),
  replicaSet: token(ReplicaSet),
  replicationController: token(ReplicationController),
  job: token(Job),
  jobPatch: token(JobPatch),
  cronJob: token(CronJob),
  pod: token(Pod),
  podList: token(PodList),
  pvc: token(PersistentVolumeClaim),
  pv: token(PersistentVolume),
  configMap: token(ConfigMap),
  secret: token(Secret),
  helmRelease: token(Release),
} as const;

export const DOCKER = { container: token(Container), service: token(Service), volume: token(Volume) } as const;
export const AWS = { taskDefinition: token(TaskDefinition), fileSystem: token(FileSystem), accessPoint: token(AccessPoint) } as const;
