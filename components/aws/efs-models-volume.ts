import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CACHE_GID, CACHE_UID, EFS_CSI_DRIVER, LABELS } from "../core/contract";
import { objectLabels } from "../kubernetes/labels";
import { CACHE_PROTECTION } from "../kubernetes/model-cache-volume";

export const NFS_PORT = 2049;
export { EFS_CSI_DRIVER };
/** The cache's directory on the file system: created by the access point, owned by the cache's user. */
export const ACCESS_POINT_PERMISSIONS = "0755";

export interface EfsModelsVolumeArgs {
  cacheName: string;
  /** The cluster's VPC, where the NFS security group goes (another resource's output is fine). */
  vpcId: pulumi.Input<string>;
  /**
   * One per availability zone the nodes run in (EFS allows one mount target per zone). Plain
   * strings: each names its mount target, so the set must be known when the program runs.
   */
  subnetIds: string[];
  /** The cluster nodes' security group: the only source allowed to reach NFS. */
  nodeSecurityGroupId: pulumi.Input<string>;
  /** The PersistentVolume's name (cluster-scoped, so it includes the namespace). */
  persistentVolumeName: string;
  /** The claim the volume is reserved for (claimRef): no other claim can bind it. */
  claim: { namespace: pulumi.Input<string>; name: string };
  storageSize: string;
  storageClassName: string;
  tags?: Record<string, string>;
}

/**
 * The file system policy: deny any access without TLS, allow mounts (read and write) only through
 * a mount target. As JSON for `aws.efs.FileSystemPolicy`.
 */
export function tlsOnlyPolicy(fileSystemArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyUnencryptedTransport",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: "*",
        Resource: fileSystemArn,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      {
        Sid: "AllowMountThroughMountTargets",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        Resource: fileSystemArn,
        Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
      },
    ],
  });
}

/** The access point: every client is the cache's POSIX user, rooted at `/<cacheName>`, created owned by it. */
export function accessPointSettings(cacheName: string): Pick<aws.efs.AccessPointArgs, "posixUser" | "rootDirectory"> {
  return {
    posixUser: { uid: CACHE_UID, gid: CACHE_GID },
    rootDirectory: {
      path: `/${cacheName}`,
      creationInfo: { ownerUid: CACHE_UID, ownerGid: CACHE_GID, permissions: ACCESS_POINT_PERMISSIONS },
    },
  };
}

/**
 * The static PersistentVolume's spec: the EFS CSI driver with TLS, reclaim policy Retain (the cache
 * survives its claim), reserved for the cache's claim by `claimRef`.
 */
export function efsPersistentVolumeSpec(args: {
  volumeHandle: pulumi.Input<string>;
  storageSize: string;
  storageClassName: string;
  claim: { namespace: pulumi.Input<string>; name: string };
}): k8s.types.input.core.v1.PersistentVolumeSpec {
  return {
    capacity: { storage: args.storageSize },
    accessModes: ["ReadWriteMany"],
    volumeMode: "Filesystem",
    persistentVolumeReclaimPolicy: "Retain",
    storageClassName: args.storageClassName,
    claimRef: { namespace: args.claim.namespace, name: args.claim.name },
    mountOptions: ["tls"],
    csi: { driver: EFS_CSI_DRIVER, volumeHandle: args.volumeHandle },
  };
}

/** The volume handle the EFS CSI driver mounts: `<file system id>::<access point id>`. */
export function efsVolumeHandle(fileSystemId: string, accessPointId: string): string {
  return `${fileSystemId}::${accessPointId}`;
}

/**
 * The prod models volume: an encrypted EFS file system with a mount target in each configured
 * subnet, a security group that admits NFS only from the cluster nodes' security group, an access
 * point that pins every client to the cache's POSIX user (the downloader's uid/gid, so files it
 * writes are readable by every service pod), and the static PersistentVolume the cache's PVC binds
 * to. The cluster itself (and the EFS CSI driver on it) already exist; nothing here creates them.
 */
export class EfsModelsVolume extends pulumi.ComponentResource {
  readonly fileSystem: aws.efs.FileSystem;
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly mountTargets: aws.efs.MountTarget[];
  readonly accessPoint: aws.efs.AccessPoint;
  readonly persistentVolume: k8s.core.v1.PersistentVolume;
  readonly fileSystemId: pulumi.Output<string>;
  readonly accessPointId: pulumi.Output<string>;
  readonly persistentVolumeName: string;

  constructor(name: string, args: EfsModelsVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("model-cache:aws:EfsModelsVolume", name, {}, opts);
    // The role tag too: the pack discovers caches by role=cache, on EFS as on Kubernetes objects.
    const tags = { [LABELS.role]: "cache", [LABELS.cache]: args.cacheName, ...args.tags };

    this.fileSystem = new aws.efs.FileSystem(
      `${name}-fs`,
      {
        encrypted: true,
        performanceMode: "generalPurpose",
        // Pod starts read gigabytes at once and then nothing: elastic throughput bills for
        // what is read instead of throttling to a baseline earned by stored size.
        throughputMode: "elastic",
        tags: { ...tags, Name: `${args.cacheName}-models` },
      },
      { parent: this, ...CACHE_PROTECTION },
    );

    // Encryption in transit too: the file system refuses any client that does not mount with TLS.
    new aws.efs.FileSystemPolicy(
      `${name}-tls-only`,
      {
        fileSystemId: this.fileSystem.id,
        policy: this.fileSystem.arn.apply(tlsOnlyPolicy),
      },
      { parent: this },
    );

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-nfs`,
      {
        vpcId: args.vpcId,
        description: `NFS to the ${args.cacheName} models file system, from the cluster nodes only`,
        tags: { ...tags, Name: `${args.cacheName}-models-nfs` },
      },
      { parent: this },
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-nfs-from-nodes`,
      {
        securityGroupId: this.securityGroup.id,
        referencedSecurityGroupId: args.nodeSecurityGroupId,
        ipProtocol: "tcp",
        fromPort: NFS_PORT,
        toPort: NFS_PORT,
        description: "NFS from the cluster nodes' security group",
      },
      { parent: this },
    );

    this.mountTargets = args.subnetIds.map(
      (subnetId) =>
        new aws.efs.MountTarget(
          `${name}-mt-${subnetId}`,
          { fileSystemId: this.fileSystem.id, subnetId, securityGroups: [this.securityGroup.id] },
          { parent: this },
        ),
    );

    this.accessPoint = new aws.efs.AccessPoint(
      `${name}-ap`,
      {
        fileSystemId: this.fileSystem.id,
        ...accessPointSettings(args.cacheName),
        tags: { ...tags, Name: `${args.cacheName}-models` },
      },
      { parent: this },
    );

    this.persistentVolumeName = args.persistentVolumeName;
    this.persistentVolume = new k8s.core.v1.PersistentVolume(
      `${name}-pv`,
      {
        metadata: { name: args.persistentVolumeName, labels: objectLabels({ role: "cache", cacheName: args.cacheName }) },
        spec: efsPersistentVolumeSpec({
          volumeHandle: pulumi.all([this.fileSystem.id, this.accessPoint.id]).apply(([fs, ap]) => efsVolumeHandle(fs, ap)),
          storageSize: args.storageSize,
          storageClassName: args.storageClassName,
          claim: args.claim,
        }),
      },
      // Pods can only mount once a mount target answers in their zone.
      { parent: this, dependsOn: this.mountTargets, ...CACHE_PROTECTION },
    );

    this.fileSystemId = this.fileSystem.id;
    this.accessPointId = this.accessPoint.id;
    this.registerOutputs({
      fileSystemId: this.fileSystemId,
      accessPointId: this.accessPointId,
      persistentVolumeName: this.persistentVolumeName,
    });
  }
}
