/**
 * The model service's named builders (pod template, verify init container, server container,
 * Service and PodDisruptionBudget specs), called directly as a reader's own program would.
 */
import { describe, expect, it } from "vitest";
import { accessPointSettings, efsPersistentVolumeSpec, efsVolumeHandle, tlsOnlyPolicy } from "../../components/aws";
import { CACHE_GID, CACHE_UID, LABELS, MANIFEST_ENV } from "../../components/core/contract";
import {
  ComponentArgsError,
  disruptionBudgetSpec,
  GPU_RESOURCE,
  parseNodeSelector,
  parseToleration,
  type ServicePodArgs,
  serverContainer,
  servicePodTemplate,
  serviceSpec,
  validateDownloaderArgs,
  validateServiceArgs,
  verifyInitContainer,
} from "../../components/kubernetes";
import { prodPlan } from "./support";

type Obj = Record<string, any>;

function podArgs(overrides: Record<string, string> = {}): ServicePodArgs {
  const plan = prodPlan(overrides);
  const { config } = plan;
  return {
    cacheName: config.cacheName,
    manifest: plan.manifest,
    paths: plan.paths,
    claimName: `${config.cacheName}-cache`,
    image: config.serviceImage,
    args: plan.serviceArgs,
    env: plan.serviceEnv,
    sizing: plan.sizing,
    containerPort: config.servicePort,
    healthPath: config.healthPath,
    startPeriodSeconds: config.startPeriodSeconds,
    cpuRequest: config.cpuRequest,
    gpuCount: config.gpuCount,
    nodeSelector: parseNodeSelector(config.gpuNodeSelector),
    tolerations: config.gpuTolerations.map(parseToleration),
    verifyImage: config.downloaderImage,
  };
}

describe("the service's builders", () => {
  it("verifyInitContainer: `model-cache verify` of the manifest, the cache mounted read-only", () => {
    const args = podArgs();
    const c = verifyInitContainer(args) as Obj;
    expect(c["command"]).toEqual(["model-cache"]);
    expect(c["args"]).toEqual(["verify"]);
    expect(c["image"]).toBe(args.verifyImage);
    expect(c["env"]).toContainEqual({ name: MANIFEST_ENV, value: args.manifest.json });
    expect(c["volumeMounts"]).toContainEqual({ name: "models", mountPath: args.paths.mountPath, readOnly: true });
  });

  it("serverContainer: a GPU limit on cuda only, memory request = limit", () => {
    const cuda = serverContainer(podArgs()) as Obj;
    expect(cuda["resources"]["limits"][GPU_RESOURCE]).toBe("1");
    expect(cuda["resources"]["requests"]["memory"]).toBe(cuda["resources"]["limits"]["memory"]);
    const cpu = serverContainer(podArgs({ "model-cache:device": "cpu" })) as Obj;
    expect(cpu["resources"]["limits"][GPU_RESOURCE]).toBeUndefined();
  });

  it("servicePodTemplate: GPU node selector and tolerations on cuda only, the digest as label and annotation", () => {
    const args = podArgs();
    const t = servicePodTemplate(args) as Obj;
    expect(t["spec"]["nodeSelector"]).toEqual({ "eks.amazonaws.com/nodegroup": "gpu" });
    expect(t["spec"]["tolerations"]).toEqual([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    expect(t["metadata"]["labels"][LABELS.manifest]).toBeDefined();
    expect(Object.values(t["metadata"]["annotations"])).toContain(args.manifest.digest);
    const cpu = servicePodTemplate(podArgs({ "model-cache:device": "cpu" })) as Obj;
    expect(cpu["spec"]["nodeSelector"]).toBeUndefined();
    expect(cpu["spec"]["tolerations"]).toBeUndefined();
  });

  it("serviceSpec and disruptionBudgetSpec select the pods by role and cache, never by digest", () => {
    const svc = serviceSpec("models") as Obj;
    const pdb = disruptionBudgetSpec("models", 1) as Obj;
    const selector = { [LABELS.role]: "service", [LABELS.cache]: "models" };
    expect(svc["selector"]).toEqual(selector);
    expect(pdb["selector"]["matchLabels"]).toEqual(selector);
    expect(pdb["minAvailable"]).toBe(1);
  });
});

describe("the EFS volume's builders", () => {
  it("tlsOnlyPolicy denies every access without TLS and allows mounts only through a mount target", () => {
    const policy = JSON.parse(tlsOnlyPolicy("arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-1")) as { Statement: Obj[] };
    const deny = policy.Statement.find((s) => s["Effect"] === "Deny");
    expect(deny).toMatchObject({ Action: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    const allow = policy.Statement.find((s) => s["Effect"] === "Allow");
    expect(allow?.["Condition"]).toEqual({ Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } });
    expect(policy.Statement.every((s) => s["Resource"] === "arn:aws:elasticfilesystem:us-east-1:1:file-system/fs-1")).toBe(true);
  });

  it("accessPointSettings pins every client to the cache's user under /<cacheName>", () => {
    expect(accessPointSettings("models")).toEqual({
      posixUser: { uid: CACHE_UID, gid: CACHE_GID },
      rootDirectory: { path: "/models", creationInfo: { ownerUid: CACHE_UID, ownerGid: CACHE_GID, permissions: "0755" } },
    });
  });

  it("efsPersistentVolumeSpec: EFS CSI over TLS, Retain, reserved for the claim", () => {
    const spec = efsPersistentVolumeSpec({
      volumeHandle: efsVolumeHandle("fs-1", "fsap-2"),
      storageSize: "50Gi",
      storageClassName: "efs-sc",
      claim: { namespace: "ml", name: "models-cache" },
    }) as Obj;
    expect(spec).toMatchObject({
      persistentVolumeReclaimPolicy: "Retain",
      accessModes: ["ReadWriteMany"],
      claimRef: { namespace: "ml", name: "models-cache" },
      mountOptions: ["tls"],
      csi: { driver: "efs.csi.aws.com", volumeHandle: "fs-1::fsap-2" },
    });
  });
});

describe("the components check their args before registering anything, naming the arg", () => {
  const downloader = { image: "ghcr.io/x/downloader:1", backoffLimit: 2, activeDeadlineSeconds: 3600, memoryMiB: 1024, concurrency: 4 };
  it("ModelDownloader", () => {
    expect(() => validateDownloaderArgs(downloader)).not.toThrow();
    expect(() => validateDownloaderArgs({ ...downloader, image: "" })).toThrow(
      /^ModelDownloader args\.image: must name the downloader image/,
    );
    expect(() => validateDownloaderArgs({ ...downloader, backoffLimit: -1 })).toThrow(ComponentArgsError);
    expect(() => validateDownloaderArgs({ ...downloader, activeDeadlineSeconds: 0 })).toThrow(/args\.activeDeadlineSeconds: .*\(got 0\)/);
  });

  it("ModelService", () => {
    const args = { ...podArgs(), replicas: 2, pdbMinAvailable: 1 };
    expect(() => validateServiceArgs(args)).not.toThrow();
    expect(() => validateServiceArgs({ ...args, pdbMinAvailable: 2 })).toThrow(
      /^ModelService args\.pdbMinAvailable: must be less than replicas \(2\)/,
    );
    expect(() => validateServiceArgs({ ...args, replicas: 0, pdbMinAvailable: 0 })).toThrow(/args\.replicas/);
    expect(() => validateServiceArgs({ ...args, gpuCount: 0 })).toThrow(/args\.gpuCount: must be ≥ 1 on cuda/);
    expect(() => validateServiceArgs({ ...args, verifyImage: "" })).toThrow(/args\.verifyImage/);
  });
});
