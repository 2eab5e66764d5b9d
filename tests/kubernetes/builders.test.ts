/**
 * The model service's named builders (pod template, verify init container, server container,
 * Service and PodDisruptionBudget specs), called directly as a reader's own program would.
 */
import { describe, expect, it } from "vitest";
import { accessPointSettings, efsPersistentVolumeSpec, efsVolumeHandle, tlsOnlyPolicy } from "../../components/aws";
import {
  CACHE_GID,
  CACHE_UID,
  DEFAULT_HUB_ENDPOINT,
  HUB_ENDPOINT_ENV,
  HUB_TOKEN_ENV,
  LABELS,
  MANIFEST_ENV,
} from "../../components/core/contract";
import {
  ComponentArgsError,
  DOWNLOADER_DEFAULTS,
  type DownloaderJobArgs,
  disruptionBudgetSpec,
  downloaderJobSpec,
  GPU_RESOURCE,
  kubernetesCacheContext,
  parseNodeSelector,
  parseToleration,
  type ServicePodArgs,
  serverContainer,
  servicePodTemplate,
  serviceSettings,
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
    context: kubernetesCacheContext({
      cacheName: config.cacheName,
      namespace: config.namespace,
      paths: plan.paths,
      manifest: plan.manifest,
    }),
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
    expect(c["env"]).toContainEqual({ name: MANIFEST_ENV, value: args.context.manifest.json });
    expect(c["volumeMounts"]).toContainEqual({ name: "models", mountPath: args.context.paths.mountPath, readOnly: true });
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
    expect(Object.values(t["metadata"]["annotations"])).toContain(args.context.manifest.digest);
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

describe("the shared context", () => {
  const plan = prodPlan();
  const base = { namespace: "ml", paths: plan.paths, manifest: plan.manifest };
  it("defaults the claim name to <cacheName>-cache and keeps a given one", () => {
    expect(kubernetesCacheContext({ ...base, cacheName: "embeddings" }).claimName).toBe("embeddings-cache");
    expect(kubernetesCacheContext({ ...base, cacheName: "embeddings", claimName: "shared-models" }).claimName).toBe("shared-models");
  });
  it("rejects a cache name no Kubernetes object (or the Job's 63-character name) can carry, naming the arg", () => {
    expect(() => kubernetesCacheContext({ ...base, cacheName: "Embeddings" })).toThrow(
      /^kubernetesCacheContext args\.cacheName: "Embeddings"/,
    );
    expect(() => kubernetesCacheContext({ ...base, cacheName: "a".repeat(43) })).toThrow(ComponentArgsError);
    expect(() => kubernetesCacheContext({ ...base, cacheName: "a".repeat(42) })).not.toThrow();
    expect(() => kubernetesCacheContext({ ...base, cacheName: "ok", claimName: "Bad_Claim" })).toThrow(/args\.claimName/);
  });
});

describe("the downloader's Job spec", () => {
  function jobArgs(extra: Partial<DownloaderJobArgs> = {}): DownloaderJobArgs {
    const plan = prodPlan();
    const context = kubernetesCacheContext({ cacheName: "models", namespace: "ml", paths: plan.paths, manifest: plan.manifest });
    return { context, image: "ghcr.io/x/downloader:1", hubEndpoint: DEFAULT_HUB_ENDPOINT, ...DOWNLOADER_DEFAULTS, ...extra };
  }
  const containerOf = (spec: Obj) => spec["template"]["spec"]["containers"][0] as Obj;

  it("one pod, never restarted in place, retried backoffLimit times within the deadline", () => {
    const spec = downloaderJobSpec(jobArgs({ backoffLimit: 5, activeDeadlineSeconds: 900 })) as Obj;
    expect(spec).toMatchObject({ completions: 1, parallelism: 1, backoffLimit: 5, activeDeadlineSeconds: 900 });
    expect(spec["template"]["spec"]["restartPolicy"]).toBe("Never");
    expect(spec).not.toHaveProperty("ttlSecondsAfterFinished");
  });

  it("runs `model-cache download` on the manifest against the hub, the claim mounted read-write", () => {
    const args = jobArgs({ hubEndpoint: "http://mirror.internal" });
    const spec = downloaderJobSpec(args) as Obj;
    const c = containerOf(spec);
    expect(c["command"]).toEqual(["model-cache"]);
    expect(c["args"]).toEqual(["download", "--json"]);
    expect(c["env"]).toContainEqual({ name: MANIFEST_ENV, value: args.context.manifest.json });
    expect(c["env"]).toContainEqual({ name: HUB_ENDPOINT_ENV, value: "http://mirror.internal" });
    expect(c["volumeMounts"]).toContainEqual({ name: "models", mountPath: args.context.paths.mountPath, readOnly: false });
    expect(spec["template"]["spec"]["volumes"]).toContainEqual({
      name: "models",
      persistentVolumeClaim: { claimName: "models-cache", readOnly: false },
    });
    expect(c["resources"]).toEqual({ requests: { cpu: "1", memory: "1024Mi" }, limits: { memory: "1024Mi" } });
  });

  it("labels its pods as this manifest's downloader", () => {
    const args = jobArgs();
    const labels = (downloaderJobSpec(args) as Obj)["template"]["metadata"]["labels"];
    expect(labels).toMatchObject({ [LABELS.role]: "downloader", [LABELS.cache]: "models", [LABELS.manifest]: expect.any(String) });
    expect(Object.values((downloaderJobSpec(args) as Obj)["template"]["metadata"]["annotations"])).toContain(args.context.manifest.digest);
  });

  it("reads the hub token from its Secret only when there is one, never as a plain value", () => {
    const without = containerOf(downloaderJobSpec(jobArgs()) as Obj)["env"] as Obj[];
    expect(without.map((e) => e["name"])).not.toContain(HUB_TOKEN_ENV);
    const withToken = containerOf(downloaderJobSpec(jobArgs({ tokenSecretName: "models-hub-token" })) as Obj)["env"] as Obj[];
    expect(withToken.find((e) => e["name"] === HUB_TOKEN_ENV)).toEqual({
      name: HUB_TOKEN_ENV,
      valueFrom: { secretKeyRef: { name: "models-hub-token", key: HUB_TOKEN_ENV, optional: false } },
    });
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
    // The defaults are valid on their own: one replica, no budget that would block every drain.
    const { replicas: _r, pdbMinAvailable: _p, containerPort: _c, gpuCount: _g, args: _a, ...rest } = args;
    expect(serviceSettings(rest)).toMatchObject({ replicas: 1, pdbMinAvailable: 0, containerPort: 80, gpuCount: 1, args: [] });
    expect(() => validateServiceArgs(serviceSettings(rest))).not.toThrow();
    expect(serviceSettings({ ...rest, replicas: 3 }).pdbMinAvailable).toBe(1);
    expect(() => validateServiceArgs({ ...args, pdbMinAvailable: 2 })).toThrow(
      /^ModelService args\.pdbMinAvailable: must be less than replicas \(2\)/,
    );
    expect(() => validateServiceArgs({ ...args, replicas: 0, pdbMinAvailable: 0 })).toThrow(/args\.replicas/);
    expect(() => validateServiceArgs({ ...args, gpuCount: 0 })).toThrow(/args\.gpuCount: must be ≥ 1 on cuda/);
    expect(() => validateServiceArgs({ ...args, verifyImage: "" })).toThrow(/args\.verifyImage/);
  });
});
