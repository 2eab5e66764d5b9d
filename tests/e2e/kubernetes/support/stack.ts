/**
 * The end-to-end stack: the prod stack's settings (Pulumi.prod.yaml as committed) except the AWS
 * volume, which nothing here can reach: `volumeProvisioning: static`, bound to a PersistentVolume
 * the suite creates the way an operator would (EFS CSI, reclaim policy Retain, reserved for the
 * claim). The cluster is reached through the kubeconfig secret, as prod.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { cacheClaimName } from "../../../../components/kubernetes/model-cache-volume";
import { REPO_ROOT } from "../../../../gate/stack-file";

export const NS = "model-cache";
const AWS_ONLY = ["aws:region", "model-cache:vpcId", "model-cache:efsSubnetIds", "model-cache:nodeSecurityGroupId"];

export function prodConfig(): Record<string, unknown> {
  return (parse(readFileSync(path.join(REPO_ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
}

export function e2eConfig(persistentVolumeName: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const config = Object.fromEntries(Object.entries(prodConfig()).filter(([k]) => !AWS_ONLY.includes(k)));
  return {
    ...config,
    "model-cache:volumeProvisioning": "static",
    "model-cache:persistentVolumeName": persistentVolumeName,
    ...overrides,
  };
}

/** A static models PersistentVolume as an operator creates one for `volumeProvisioning: static`. */
export function staticPersistentVolume(name: string, namespace: string, cacheName: string, storageClassName: string, size = "50Gi") {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name },
    spec: {
      capacity: { storage: size },
      accessModes: ["ReadWriteMany"],
      volumeMode: "Filesystem",
      persistentVolumeReclaimPolicy: "Retain",
      storageClassName,
      claimRef: { namespace, name: cacheClaimName(cacheName) },
      mountOptions: ["tls"],
      csi: { driver: "efs.csi.aws.com", volumeHandle: `fs-e2e${name.length}::fsap-e2e` },
    },
  };
}
