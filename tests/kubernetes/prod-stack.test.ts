/**
 * The prod stack as written in Pulumi.prod.yaml, under the SDK's mocks: every setting of the
 * issue asserted on what the engine would receive. Expectations are derived from the stack file,
 * the catalog and the contract module, never copied from them.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { EFS_CSI_DRIVER, NFS_PORT } from "../../components/aws";
import {
  ANNOTATIONS,
  CACHE_ENV_KEYS,
  CACHE_GID,
  CACHE_UID,
  consumerEnv,
  HUB_TOKEN_ENV_KEYS,
  LABEL_VALUE_MAX_LENGTH,
  LABELS,
  MANIFEST_ENV,
  manifestLabelValue,
} from "../../components/core/contract";
import { parseManifest } from "../../components/core/manifest";
import { GPU_RESOURCE, parseNodeSelector, parseToleration, REPLACE_UNREADY_ANNOTATION } from "../../components/kubernetes";
import type { MockRunResult, RegisteredResource } from "../../gate/run-under-mocks";
import {
  AWS,
  byType,
  envOf,
  FAKE_KUBECONFIG,
  K8S,
  labelsOf,
  type Obj,
  objOf,
  one,
  podSpec,
  podTemplate,
  prodFile,
  prodPlan,
  runProd,
} from "./support";

const plan = prodPlan();
const { config, paths, manifest, sizing } = plan;
const digest = manifest.digest;
const memory = `${sizing.limitMiB}Mi`;

let run: MockRunResult;
let job: RegisteredResource;
let deployment: RegisteredResource;
let pvc: RegisteredResource;
let pv: RegisteredResource;

beforeAll(async () => {
  run = await runProd();
  job = one(run, K8S.job);
  deployment = one(run, K8S.deployment);
  pvc = one(run, K8S.pvc);
  pv = one(run, K8S.pv);
});

const containers = (r: RegisteredResource): Obj[] => [...(podSpec(r)["initContainers"] ?? []), ...podSpec(r)["containers"]];
const container = (r: RegisteredResource, name: string): Obj => {
  const found = containers(r).find((c) => c["name"] === name);
  expect(found, `${r.name} container ${name}`).toBeDefined();
  return found!;
};
const mockId = (r: RegisteredResource) => `${r.name}-id`;

describe("the prod stack file", () => {
  it("is the seed's production set on CUDA, on Kubernetes with EFS, 2 replicas", () => {
    expect(config.target).toBe("kubernetes");
    expect(config.device).toBe("cuda");
    expect(config.models).toEqual(["whisper-medium", "siglip-so400m", "bge-m3", "yunet"]);
    expect(config.replicas).toBe(2);
    expect(config.volumeProvisioning).toBe("efs");
    expect(config.gpuNodeSelector.length).toBeGreaterThan(0);
    // The AWS provider's region, from the stack file (the EFS resources use the default provider).
    expect(prodFile.config["aws:region"]).toMatch(/^[a-z]{2}-[a-z]+-\d$/);
  });
});

describe("the prod stack under mocks", () => {
  it("registers the EFS volume, the PV and PVC, the Job, the Deployment, its Service and PDB — each under its component", () => {
    const counts: Record<string, number> = {};
    for (const r of run.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
    expect(counts).toEqual({
      "pulumi:pulumi:Stack": 1,
      [K8S.provider]: 1,
      [K8S.namespace]: 1,
      "model-cache:aws:EfsModelsVolume": 1,
      [AWS.fileSystem]: 1,
      [AWS.policy]: 1,
      [AWS.securityGroup]: 1,
      [AWS.ingress]: 1,
      [AWS.mountTarget]: config.efsSubnetIds.length,
      [AWS.accessPoint]: 1,
      [K8S.pv]: 1,
      "model-cache:kubernetes:ModelCacheVolume": 1,
      [K8S.pvc]: 1,
      "model-cache:kubernetes:ModelDownloader": 1,
      [K8S.job]: 1,
      "model-cache:kubernetes:ModelService": 1,
      [K8S.deployment]: 1,
      [K8S.service]: 1,
      [K8S.pdb]: 1,
    });
    const parentOf = (type: string) => one(run, type).parent;
    const urnOf = (type: string) => one(run, type).urn;
    for (const type of [AWS.fileSystem, AWS.policy, AWS.securityGroup, AWS.ingress, AWS.accessPoint, K8S.pv]) {
      expect(parentOf(type), type).toBe(urnOf("model-cache:aws:EfsModelsVolume"));
    }
    for (const mt of byType(run, AWS.mountTarget)) expect(mt.parent).toBe(urnOf("model-cache:aws:EfsModelsVolume"));
    expect(parentOf(K8S.pvc)).toBe(urnOf("model-cache:kubernetes:ModelCacheVolume"));
    expect(parentOf(K8S.job)).toBe(urnOf("model-cache:kubernetes:ModelDownloader"));
    for (const type of [K8S.deployment, K8S.service, K8S.pdb])
      expect(parentOf(type), type).toBe(urnOf("model-cache:kubernetes:ModelService"));
  });

  it("reaches the cluster through a provider made from the kubeconfig secret, for every Kubernetes object", () => {
    const provider = one(run, K8S.provider);
    expect(provider.props["kubeconfig"]).toBe(FAKE_KUBECONFIG);
    expect(provider.secretProps).toContain("kubeconfig");
    const k8sObjects = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
    expect(k8sObjects.length).toBeGreaterThan(0);
    for (const r of k8sObjects) expect(r.provider, `${r.type} ${r.name}`).toBe(`${provider.urn}::${mockId(provider)}`);
    for (const r of run.resources.filter((r) => r !== provider)) {
      expect(JSON.stringify(r.props), `${r.type} ${r.name}`).not.toContain("kubeconfig-secret-token");
    }
  });

  it("creates the namespace, enforcing the restricted Pod Security Standard", () => {
    const ns = one(run, K8S.namespace);
    expect(objOf(ns)["metadata"]["name"]).toBe(config.namespace);
    expect(labelsOf(ns)).toMatchObject({ "pod-security.kubernetes.io/enforce": "restricted" });
    // It holds the retained claim (and may predate the stack): Pulumi never deletes it.
    expect(ns.retainOnDelete).toBe(true);
    for (const r of run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== K8S.namespace && r.type !== K8S.pv)) {
      expect(objOf(r)["metadata"]["namespace"], `${r.type}`).toBe(config.namespace);
      expect(r.dependencies, `${r.type} waits for its namespace`).toContain(ns.urn);
    }
  });
});

describe("the EFS models volume", () => {
  it("is an encrypted file system that refuses unencrypted transport", () => {
    const fs = one(run, AWS.fileSystem);
    expect(fs.props["encrypted"]).toBe(true);
    expect(fs.props["throughputMode"]).toBe("elastic");
    const policy = JSON.parse(one(run, AWS.policy).props["policy"] as string) as { Statement: Obj[] };
    expect(one(run, AWS.policy).props["fileSystemId"]).toBe(mockId(fs));
    const deny = policy.Statement.find((s) => s["Effect"] === "Deny");
    expect(deny?.["Condition"]).toEqual({ Bool: { "aws:SecureTransport": "false" } });
    expect(deny?.["Resource"]).toMatch(new RegExp(`file-system/${mockId(fs)}$`));
  });

  it("has one mount target per configured subnet, behind a security group that admits NFS from the nodes only", () => {
    const fs = one(run, AWS.fileSystem);
    const sg = one(run, AWS.securityGroup);
    expect(sg.props["vpcId"]).toBe(config.vpcId);
    expect(sg.props["ingress"] ?? []).toEqual([]);
    const mts = byType(run, AWS.mountTarget);
    expect(mts.map((m) => m.props["subnetId"]).sort()).toEqual([...config.efsSubnetIds].sort());
    for (const mt of mts) {
      expect(mt.props["fileSystemId"]).toBe(mockId(fs));
      expect(mt.props["securityGroups"]).toEqual([mockId(sg)]);
    }
    const rule = one(run, AWS.ingress);
    expect(rule.props).toMatchObject({
      securityGroupId: mockId(sg),
      referencedSecurityGroupId: config.nodeSecurityGroupId,
      ipProtocol: "tcp",
      fromPort: NFS_PORT,
      toPort: NFS_PORT,
    });
    expect(rule.props["cidrIpv4"]).toBeUndefined();
    expect(rule.props["cidrIpv6"]).toBeUndefined();
    expect(rule.props["prefixListId"]).toBeUndefined();
  });

  it("has an access point pinned to the downloader's POSIX user", () => {
    const ap = one(run, AWS.accessPoint);
    expect(ap.props["fileSystemId"]).toBe(mockId(one(run, AWS.fileSystem)));
    expect(ap.props["posixUser"]).toEqual({ uid: CACHE_UID, gid: CACHE_GID });
    expect(ap.props["rootDirectory"]).toMatchObject({
      path: `/${config.cacheName}`,
      creationInfo: { ownerUid: CACHE_UID, ownerGid: CACHE_GID },
    });
  });

  it("is the static EFS PersistentVolume (access point in the volume handle), reserved for the cache's claim", () => {
    const spec = objOf(pv)["spec"];
    expect(spec["csi"]).toMatchObject({
      driver: EFS_CSI_DRIVER,
      volumeHandle: `${mockId(one(run, AWS.fileSystem))}::${mockId(one(run, AWS.accessPoint))}`,
    });
    expect(spec["accessModes"]).toEqual(["ReadWriteMany"]);
    expect(spec["capacity"]).toEqual({ storage: config.storageSize });
    expect(spec["storageClassName"]).toBe(config.storageClassName);
    expect(spec["persistentVolumeReclaimPolicy"]).toBe("Retain");
    expect(spec["claimRef"]).toEqual({ namespace: config.namespace, name: objOf(pvc)["metadata"]["name"] });
    expect(labelsOf(pv)).toMatchObject({ [LABELS.role]: "cache", [LABELS.cache]: config.cacheName });
    for (const mt of byType(run, AWS.mountTarget)) expect(pv.dependencies).toContain(mt.urn);
  });
});

describe("the models PVC", () => {
  it("is ReadWriteMany, sized and classed from config, bound to the EFS PV, labelled as the cache without a digest", () => {
    const spec = objOf(pvc)["spec"];
    expect(spec["accessModes"]).toEqual(["ReadWriteMany"]);
    expect(spec["storageClassName"]).toBe(config.storageClassName);
    expect(spec["resources"]).toEqual({ requests: { storage: config.storageSize } });
    expect(spec["volumeName"]).toBe(objOf(pv)["metadata"]["name"]);
    expect(labelsOf(pvc)).toMatchObject({ [LABELS.role]: "cache", [LABELS.cache]: config.cacheName });
    expect(labelsOf(pvc)[LABELS.manifest]).toBeUndefined();
    expect(pvc.dependencies).toContain(pv.urn);
  });
});

describe("the models volume outlives the stack", () => {
  it("the EFS file system, its PV and the PVC are protected (no delete, no replacement) and retained on delete", () => {
    for (const r of [one(run, AWS.fileSystem), pv, pvc]) {
      expect({ type: r.type, protect: r.protect, retainOnDelete: r.retainOnDelete }).toEqual({
        type: r.type,
        protect: true,
        retainOnDelete: true,
      });
    }
  });

  it("nothing else is protected: the Job and the service go with `pulumi destroy --exclude-protected`", () => {
    for (const r of [one(run, AWS.accessPoint), ...byType(run, AWS.mountTarget), one(run, K8S.job), one(run, K8S.deployment)]) {
      expect(r.protect).toBe(false);
    }
  });

  it("a claim bound to its PV keeps its request when storageSize grows: static claims cannot be resized", () => {
    expect(pvc.ignoreChanges).toEqual(["spec.resources.requests.storage"]);
    // The PV itself (ours on efs) follows storageSize: a PV's capacity may change in place.
    expect(objOf(pv)["spec"]["capacity"]).toEqual({ storage: config.storageSize });
  });

  it("EFS carries the role tag the pack discovers caches by, beside the cache tag", () => {
    expect(one(run, AWS.fileSystem).props["tags"]).toMatchObject({ [LABELS.role]: "cache", [LABELS.cache]: config.cacheName });
  });
});

describe("the download Job", () => {
  it("is named after the manifest digest and labelled (object and pod template) as this manifest's downloader", () => {
    const name = objOf(job)["metadata"]["name"] as string;
    expect(name.startsWith(`${config.cacheName}-download-`)).toBe(true);
    expect(digest.startsWith(name.slice(`${config.cacheName}-download-`.length))).toBe(true);
    expect(name.length).toBeLessThanOrEqual(63);
    const expected = { [LABELS.role]: "downloader", [LABELS.cache]: config.cacheName, [LABELS.manifest]: manifestLabelValue(digest) };
    expect(labelsOf(job)).toMatchObject(expected);
    expect(podTemplate(job)["metadata"]["labels"]).toMatchObject(expected);
    // A real API server takes label values of at most 63 characters; the whole digest is an annotation.
    for (const value of [...Object.values(labelsOf(job)), ...Object.values(podTemplate(job)["metadata"]["labels"])]) {
      expect(String(value).length).toBeLessThanOrEqual(LABEL_VALUE_MAX_LENGTH);
    }
    expect(objOf(job)["metadata"]["annotations"][ANNOTATIONS.manifestSha256]).toBe(digest);
    expect(podTemplate(job)["metadata"]["annotations"][ANNOTATIONS.manifestSha256]).toBe(digest);
    expect(run.outputs["jobName"]).toBe(name);
  });

  it("is awaited to completion: no skipAwait, replaced when a previous run failed, deleted before its replacement", () => {
    const annotations = objOf(job)["metadata"]["annotations"] ?? {};
    expect(annotations["pulumi.com/skipAwait"]).toBeUndefined();
    expect(annotations[REPLACE_UNREADY_ANNOTATION]).toBe("true");
    expect(job.deleteBeforeReplace).toBe(true);
    // pulumi up waits past the Job's own deadline, so Kubernetes' DeadlineExceeded is what it reports.
    const wait = Number.parseInt(job.customTimeouts?.create ?? "0", 10);
    expect(wait).toBeGreaterThan(config.jobActiveDeadlineSeconds);
    expect(job.customTimeouts?.update).toBe(job.customTimeouts?.create);
    expect(job.dependencies).toContain(pvc.urn);
  });

  it("has the configured backoff limit and deadline, and never restarts a failed pod in place", () => {
    const spec = objOf(job)["spec"];
    expect(spec).toMatchObject({
      backoffLimit: config.jobBackoffLimit,
      activeDeadlineSeconds: config.jobActiveDeadlineSeconds,
      completions: 1,
      parallelism: 1,
    });
    expect(podSpec(job)["restartPolicy"]).toBe("Never");
  });

  it("has no TTL, and is replaced on any change instead of patched (pulumi-kubernetes #3089)", () => {
    // A TTL-deleted Job stays in the state; every later in-place update of it then fails.
    expect(objOf(job)["spec"]).not.toHaveProperty("ttlSecondsAfterFinished");
    expect(job.replaceOnChanges).toEqual(["*"]);
    expect(job.deleteBeforeReplace).toBe(true);
  });

  it("runs `model-cache download` on the canonical manifest with the cache env, as non-root, with its own resources", () => {
    const c = container(job, "downloader");
    expect(c["image"]).toBe(config.downloaderImage);
    expect([...c["command"], ...c["args"]]).toEqual(["model-cache", "download", "--json"]);
    const env = envOf(c);
    for (const key of CACHE_ENV_KEYS) expect(env[key]).toBe(paths.root);
    expect(env[MANIFEST_ENV]).toBe(manifest.json);
    expect(parseManifest(env[MANIFEST_ENV]!)).toEqual(manifest.manifest);
    expect(env["HF_ENDPOINT"]).toBe(config.hubEndpoint);
    expect(env["MODEL_CACHE_CONCURRENCY"]).toBe(String(config.downloadConcurrency));
    expect(env["HF_HUB_OFFLINE"]).toBeUndefined();
    for (const key of HUB_TOKEN_ENV_KEYS) expect(env[key]).toBeUndefined(); // no hfToken in this stack
    expect(c["resources"]).toEqual({
      requests: { cpu: config.downloaderCpu, memory: `${config.downloaderMemoryMiB}Mi` },
      limits: { memory: `${config.downloaderMemoryMiB}Mi` },
    });
    expectHardened(job);
  });

  it("is the only writer: it mounts the cache read-write", () => {
    expect(podSpec(job)["volumes"]).toContainEqual({
      name: "models",
      persistentVolumeClaim: { claimName: objOf(pvc)["metadata"]["name"], readOnly: false },
    });
    expect(container(job, "downloader")["volumeMounts"]).toContainEqual({ name: "models", mountPath: paths.mountPath, readOnly: false });
  });
});

describe("the model service Deployment", () => {
  it("depends on the download Job (and the claim): it is created or rolled only after the Job completed", () => {
    expect(deployment.dependencies).toContain(job.urn);
    expect(deployment.dependencies).toContain(pvc.urn);
    // Ordering only: no input comes from the Job, so replacing the Job (delete-before-replace)
    // never makes the engine delete the Deployment first.
    for (const deps of Object.values(deployment.propertyDependencies)) expect(deps).not.toContain(job.urn);
    // The component's dependsOn is recorded on the Deployment only: the Service and the budget never wait on a Job.
    for (const type of [K8S.service, K8S.pdb]) expect(one(run, type).dependencies, type).not.toContain(job.urn);
    expect(run.outputs["deploymentName"]).toBe(objOf(deployment)["metadata"]["name"]);
  });

  it("is labelled (object and pod template) as this manifest's service, selecting pods without the digest", () => {
    const expected = {
      [LABELS.role]: "service",
      [LABELS.cache]: config.cacheName,
      [LABELS.manifest]: manifestLabelValue(digest),
      [LABELS.device]: config.device,
    };
    expect(labelsOf(deployment)).toMatchObject(expected);
    expect(podTemplate(deployment)["metadata"]["labels"]).toMatchObject(expected);
    for (const value of [...Object.values(labelsOf(deployment)), ...Object.values(podTemplate(deployment)["metadata"]["labels"])]) {
      expect(String(value).length).toBeLessThanOrEqual(LABEL_VALUE_MAX_LENGTH);
    }
    expect(podTemplate(deployment)["metadata"]["annotations"][ANNOTATIONS.manifestSha256]).toBe(digest);
    expect(objOf(deployment)["spec"]["selector"]).toEqual({ matchLabels: { [LABELS.role]: "service", [LABELS.cache]: config.cacheName } });
  });

  it("runs the configured replicas on GPU nodes: nodeSelector, tolerations and an nvidia.com/gpu limit", () => {
    const spec = podSpec(deployment);
    expect(objOf(deployment)["spec"]["replicas"]).toBe(config.replicas);
    expect(spec["nodeSelector"]).toEqual(parseNodeSelector(config.gpuNodeSelector));
    expect(spec["tolerations"]).toEqual(config.gpuTolerations.map(parseToleration));
    expect(container(deployment, "model-server")["resources"]["limits"][GPU_RESOURCE]).toBe(String(config.gpuCount));
  });

  it("gets the measured memory as request = limit, and the configured CPU request", () => {
    const resources = container(deployment, "model-server")["resources"];
    expect(resources["requests"]).toEqual({ cpu: config.cpuRequest, memory });
    expect(resources["limits"]["memory"]).toBe(memory);
    expect(run.outputs["memorySizing"]).toEqual(sizing);
  });

  it("mounts the cache read-only at the pod volume and at every mount, init containers included", () => {
    const spec = podSpec(deployment);
    const models = (spec["volumes"] as Obj[]).filter((v) => v["persistentVolumeClaim"]);
    expect(models).toEqual([{ name: "models", persistentVolumeClaim: { claimName: objOf(pvc)["metadata"]["name"], readOnly: true } }]);
    const mounts = containers(deployment)
      .flatMap((c) => (c["volumeMounts"] ?? []) as Obj[])
      .filter((m) => m["name"] === "models");
    expect(mounts.length).toBe(containers(deployment).length);
    for (const m of mounts) expect(m).toEqual({ name: "models", mountPath: paths.mountPath, readOnly: true });
  });

  it("first verifies the cache with a read-only `model-cache verify` init container given the manifest", () => {
    const verify = container(deployment, "verify");
    expect(podSpec(deployment)["initContainers"]).toHaveLength(1);
    expect(verify["image"]).toBe(config.downloaderImage);
    expect([...verify["command"], ...verify["args"]]).toEqual(["model-cache", "verify"]);
    expect(verify["terminationMessagePolicy"]).toBe("FallbackToLogsOnError");
    const env = envOf(verify);
    expect(env[MANIFEST_ENV]).toBe(manifest.json);
    expect(env).toMatchObject(consumerEnv(paths));
    for (const key of HUB_TOKEN_ENV_KEYS) expect(env[key]).toBeUndefined();
  });

  it("serves offline from the verified snapshot paths, with no hub credentials anywhere in the pod", () => {
    const server = container(deployment, "model-server");
    expect(server["image"]).toBe(config.serviceImage);
    expect(server["args"]).toEqual(plan.serviceArgs);
    expect(envOf(server)).toEqual(plan.serviceEnv);
    expect(envOf(server)).toMatchObject(consumerEnv(paths));
    for (const c of containers(deployment)) {
      expect(Object.keys(envOf(c)).filter((k) => /TOKEN/.test(k))).toEqual([]);
      expect(c["envFrom"]).toBeUndefined();
    }
    expect(byType(run, K8S.secret)).toEqual([]);
  });

  it("counts as started only after the start period, then probes readiness on the health path", () => {
    const server = container(deployment, "model-server");
    const startup = server["startupProbe"];
    expect(startup["httpGet"]).toEqual({ path: config.healthPath, port: "http" });
    expect(startup["periodSeconds"] * startup["failureThreshold"] + (startup["initialDelaySeconds"] ?? 0)).toBeGreaterThanOrEqual(
      config.startPeriodSeconds,
    );
    expect(server["readinessProbe"]["httpGet"]).toEqual({ path: config.healthPath, port: "http" });
    expect(server["ports"]).toEqual([{ name: "http", containerPort: config.servicePort, protocol: "TCP" }]);
    // A rollout is given at least one start period per pod.
    expect(objOf(deployment)["spec"]["progressDeadlineSeconds"]).toBeGreaterThan(config.startPeriodSeconds);
  });

  it("restarts a pod only when its server stops accepting connections, never for a slow health answer", () => {
    const server = container(deployment, "model-server");
    const liveness = server["livenessProbe"];
    const readiness = server["readinessProbe"];
    // Its own check: a TCP connect to the server's port, not readiness's health GET that a server
    // busy on one long request answers late.
    expect(liveness["tcpSocket"]).toEqual({ port: "http" });
    expect(liveness["httpGet"]).toBeUndefined();
    // Its own thresholds: minutes of refusals before a restart, longer than readiness waits.
    const window = (p: Record<string, number>) => (p["periodSeconds"] ?? 10) * (p["failureThreshold"] ?? 3);
    expect(window(liveness)).toBeGreaterThanOrEqual(180);
    expect(window(liveness)).toBeGreaterThan(window(readiness));
    expect(liveness["timeoutSeconds"]).toBeGreaterThan(readiness["timeoutSeconds"]);
  });

  it("is hardened: non-root, no privilege escalation, read-only root filesystem, all capabilities dropped", () => {
    expectHardened(deployment);
  });

  it("rolls one pod at a time without needing a spare GPU, and keeps pdbMinAvailable pods through node drains", () => {
    expect(objOf(deployment)["spec"]["strategy"]).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
    const pdb = one(run, K8S.pdb);
    expect(objOf(pdb)["spec"]).toEqual({
      minAvailable: config.pdbMinAvailable,
      selector: objOf(deployment)["spec"]["selector"],
    });
  });

  it("is reached through a ClusterIP Service selecting its pods", () => {
    const svc = one(run, K8S.service);
    expect(objOf(svc)["spec"]).toMatchObject({
      type: "ClusterIP",
      selector: objOf(deployment)["spec"]["selector"]["matchLabels"],
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    });
    expect(run.outputs["serviceName"]).toBe(objOf(svc)["metadata"]["name"]);
    expect(run.outputs["serviceUrl"]).toBe(`http://${objOf(svc)["metadata"]["name"]}.${config.namespace}.svc.cluster.local:80`);
  });
});

describe("the stack outputs", () => {
  it("name the namespace, the claim, the PV, the Job, the service and the EFS ids, with the sizing breakdown", () => {
    expect(run.outputs).toMatchObject({
      target: "kubernetes",
      models: config.models,
      manifestDigest: digest,
      namespace: config.namespace,
      claimName: objOf(pvc)["metadata"]["name"],
      persistentVolumeName: objOf(pv)["metadata"]["name"],
      downloaderImage: config.downloaderImage,
      efsFileSystemId: mockId(one(run, AWS.fileSystem)),
      efsAccessPointId: mockId(one(run, AWS.accessPoint)),
    });
    const breakdown = run.outputs["memorySizing"] as typeof sizing;
    expect(breakdown.models.map((m) => m.id)).toEqual(config.models);
    expect(breakdown.gpu.totalMiB).toBeLessThanOrEqual(config.gpuMemoryMiB);
  });
});

function expectHardened(r: RegisteredResource): void {
  const spec = podSpec(r);
  expect(spec["automountServiceAccountToken"]).toBe(false);
  expect(spec["securityContext"]).toMatchObject({ runAsNonRoot: true, runAsUser: CACHE_UID, runAsGroup: CACHE_GID });
  expect(spec["securityContext"]["seccompProfile"]).toEqual({ type: "RuntimeDefault" });
  for (const c of containers(r)) {
    expect(c["securityContext"], `${r.name} ${c["name"]}`).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ["ALL"] },
    });
    expect(c["securityContext"]["capabilities"]["add"]).toBeUndefined();
  }
}
