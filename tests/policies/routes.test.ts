/**
 * Every route to the cache's storage that a hand-written, chart-rendered or other team's resource
 * can take, through the pack's Analyzer protocol as the CLI drives it: each route has a violating
 * case (a read-write mount of the cache by an online workload holding a hub token, or the one
 * break it carries) and a compliant look-alike that passes.
 */
import { describe, expect, it } from "vitest";
import { LABELS } from "../../components/core/contract";
import {
  AP_ID,
  CACHE,
  CLAIM,
  clone,
  DOCKER_CONTAINER,
  dockerStack,
  ECS_TASK,
  EFS_DNS,
  ecsContainers,
  efsKubernetesStack,
  FS_ID,
  INTRUSION,
  intruderPodSpec,
  type Json,
  kubernetesStack,
  OTHER_FS_ID,
  podSpec,
  type Resource,
  setK8sEnv,
  UNKNOWN,
  urn,
} from "./support/fixtures";
import { type CheckResult, checkResource, checkStack, messages, stackExpectations, usePack } from "./support/pack";
import { DOCKER, K8S } from "./support/types";

const h = usePack();
const { expectOnly, expectPass } = stackExpectations(h);

const explain = (result: CheckResult) =>
  JSON.stringify(
    result.diagnostics.map((d) => [d.policyName, d.enforcementLevel, d.message]),
    null,
    1,
  );

/** The stack fails at least the three intrusion policies, each reported on the intruder. */
async function expectIntrusion(resources: Resource[], intruder: Resource): Promise<CheckResult> {
  const result = await checkStack(h.pack, resources);
  expect(result.mandatory, explain(result)).toEqual(expect.arrayContaining(INTRUSION));
  for (const policy of INTRUSION) {
    const on = result.diagnostics.filter((d) => d.policyName === policy && d.enforcementLevel === "mandatory").map((d) => d.urn);
    expect(on, `${policy}: ${explain(result)}`).toContain(intruder.urn);
  }
  return result;
}

function k8sWorkload(type: string, name: string, spec: Json, labels: Record<string, string> = {}): Resource {
  const pod = { metadata: { labels: { app: name, ...labels } }, spec };
  const kind = type.split(":").pop() as string;
  const props: Json = { apiVersion: "v1", kind, metadata: { name, namespace: "ml", labels: { app: name, ...labels } } };
  if (kind === "Pod") props.spec = spec;
  else props.spec = { replicas: 1, selector: { app: name }, template: pod };
  return { urn: urn(type, name), type, name, props };
}

describe("workload kinds the pack reads", () => {
  it("a core/v1 ReplicationController mounting the claim read-write is a consumer", async () => {
    const s = kubernetesStack();
    const rc = k8sWorkload(K8S.replicationController, "intruder", intruderPodSpec({ persistentVolumeClaim: { claimName: CLAIM } }));
    await expectIntrusion([...s.all, rc], rc);
  });

  it("look-alike: a ReplicationController with its own claim read-write passes", async () => {
    const s = kubernetesStack();
    const rc = k8sWorkload(K8S.replicationController, "other", intruderPodSpec({ persistentVolumeClaim: { claimName: "scratch" } }));
    await expectPass([...s.all, rc]);
  });

  it("a DeploymentPatch that switches the compliant service online with a token fails on the patch", async () => {
    const s = kubernetesStack();
    const patch: Resource = {
      urn: urn(K8S.deploymentPatch, "online"),
      type: K8S.deploymentPatch,
      name: "online",
      props: {
        metadata: { name: "models-service", namespace: "ml" },
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: "model-server",
                  env: [
                    { name: "HF_HUB_OFFLINE", value: "0" },
                    { name: "HF_TOKEN", value: "hf_not_a_real_token" },
                  ],
                },
              ],
            },
          },
        },
      },
    };
    const result = await checkStack(h.pack, [...s.all, patch]);
    expect(result.mandatory, explain(result)).toEqual(["consumer-no-hub-credentials", "consumer-offline"]);
    expect(new Set(result.diagnostics.map((d) => d.urn))).toEqual(new Set([patch.urn]));
    expect(messages(result, "consumer-offline").join()).toMatch(
      /container "model-server" of Deployment "models-service" sets HF_HUB_OFFLINE="0"/,
    );
  });

  it("look-alike: a DeploymentPatch that scales the service and a JobPatch that labels the downloader pass", async () => {
    const s = kubernetesStack();
    const scale: Resource = {
      urn: urn(K8S.deploymentPatch, "scale"),
      type: K8S.deploymentPatch,
      name: "scale",
      props: {
        metadata: { name: "models-service", namespace: "ml", annotations: { team: "ml" } },
        spec: { replicas: 4, template: { spec: { containers: [{ name: "model-server", env: [{ name: "LOG_LEVEL", value: "debug" }] }] } } },
      },
    };
    const label: Resource = {
      urn: urn(K8S.jobPatch, "label"),
      type: K8S.jobPatch,
      name: "label",
      props: { metadata: { name: "models-download", namespace: "ml", labels: { team: "ml" } } },
    };
    expect((await expectPass([...s.all, scale, label])).diagnostics).toEqual([]);
  });

  it("every item of a PodList is checked", async () => {
    const s = kubernetesStack();
    const items = [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "fine", namespace: "ml" },
        spec: { containers: [{ name: "x", image: "busybox" }] },
      },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "intruder", namespace: "ml" },
        spec: intruderPodSpec({ persistentVolumeClaim: { claimName: CLAIM } }),
      },
    ];
    const list: Resource = { urn: urn(K8S.podList, "pods"), type: K8S.podList, name: "pods", props: { items } };
    const result = await expectIntrusion([...s.all, list], list);
    expect(messages(result, "consumer-offline").join()).toMatch(/of Pod "intruder"/);
  });

  it("a Docker Swarm service mounting the cache volume read-write is a consumer", async () => {
    const d = dockerStack();
    const service: Resource = {
      urn: urn(DOCKER.service, "intruder"),
      type: DOCKER.service,
      name: "intruder",
      props: {
        name: "intruder",
        taskSpec: {
          containerSpec: {
            image: "python:3.12",
            env: { HF_HUB_OFFLINE: "0", HF_TOKEN: "hf_not_a_real_token" },
            mounts: [{ type: "volume", source: "model-cache-models", target: "/data" }],
          },
        },
      },
    };
    await expectIntrusion([...d.all, service], service);
  });

  it("look-alike: a Swarm service with its own volume read-write passes", async () => {
    const d = dockerStack();
    const service: Resource = {
      urn: urn(DOCKER.service, "other"),
      type: DOCKER.service,
      name: "other",
      props: {
        name: "other",
        taskSpec: {
          containerSpec: { image: "redis", env: { HF_TOKEN: "hf_x" }, mounts: [{ type: "volume", source: "redis-data", target: "/data" }] },
        },
      },
    };
    await expectPass([...d.all, service]);
  });
});

describe("other volume sources for the same storage", () => {
  it("an inline CSI volume with the cache's EFS file system", async () => {
    const s = efsKubernetesStack();
    const pod = k8sWorkload(
      K8S.pod,
      "intruder",
      intruderPodSpec({ csi: { driver: "efs.csi.aws.com", volumeAttributes: { volumeHandle: `${FS_ID}::${AP_ID}` } } }),
    );
    await expectIntrusion([...s.all, pod], pod);
  });

  it("look-alike: an inline CSI volume of another file system passes", async () => {
    const s = efsKubernetesStack();
    const pod = k8sWorkload(
      K8S.pod,
      "other",
      intruderPodSpec({ csi: { driver: "efs.csi.aws.com", volumeAttributes: { volumeHandle: OTHER_FS_ID } } }),
    );
    await expectPass([...s.all, pod]);
  });

  it("a second PersistentVolume with the same handle and its own claim", async () => {
    const s = efsKubernetesStack();
    const pv: Resource = {
      urn: urn(K8S.pv, "copy"),
      type: K8S.pv,
      name: "copy",
      props: {
        metadata: { name: "copy" },
        spec: {
          accessModes: ["ReadWriteMany"],
          claimRef: { namespace: "ml", name: "copy" },
          csi: { driver: "efs.csi.aws.com", volumeHandle: `${FS_ID}::${AP_ID}` },
        },
      },
    };
    const pvc: Resource = {
      urn: urn(K8S.pvc, "copy"),
      type: K8S.pvc,
      name: "copy",
      props: { metadata: { name: "copy", namespace: "ml" }, spec: { volumeName: "copy" } },
    };
    const deployment = k8sWorkload(K8S.deployment, "intruder", intruderPodSpec({ persistentVolumeClaim: { claimName: "copy" } }));
    await expectIntrusion([...s.all, pv, pvc, deployment], deployment);
  });

  it("look-alike: a second PersistentVolume of another file system, mounted read-write, passes", async () => {
    const s = efsKubernetesStack();
    const pv: Resource = {
      urn: urn(K8S.pv, "other"),
      type: K8S.pv,
      name: "other",
      props: {
        metadata: { name: "other" },
        spec: { claimRef: { namespace: "ml", name: "other" }, csi: { driver: "efs.csi.aws.com", volumeHandle: OTHER_FS_ID } },
      },
    };
    const pvc: Resource = {
      urn: urn(K8S.pvc, "other"),
      type: K8S.pvc,
      name: "other",
      props: { metadata: { name: "other", namespace: "ml" }, spec: { volumeName: "other" } },
    };
    const deployment = k8sWorkload(K8S.deployment, "other", intruderPodSpec({ persistentVolumeClaim: { claimName: "other" } }));
    await expectPass([...s.all, pv, pvc, deployment]);
  });

  it.each([EFS_DNS, `eu-west-1a.${FS_ID}.efs.eu-west-1.amazonaws.com`])(
    "an nfs volume to the file system's DNS name %s",
    async (server) => {
      const s = efsKubernetesStack();
      const ds = k8sWorkload(K8S.daemonSet, "intruder", intruderPodSpec({ nfs: { server, path: "/" } }));
      await expectIntrusion([...s.all, ds], ds);
    },
  );

  it("look-alike: an nfs volume to another file system passes", async () => {
    const s = efsKubernetesStack();
    const ds = k8sWorkload(
      K8S.daemonSet,
      "other",
      intruderPodSpec({ nfs: { server: `${OTHER_FS_ID}.efs.eu-west-1.amazonaws.com`, path: "/" } }),
    );
    await expectPass([...s.all, ds]);
  });

  function dockerIntruder(volumes: Json[], name = "intruder"): Resource {
    return {
      urn: urn(DOCKER_CONTAINER, name),
      type: DOCKER_CONTAINER,
      name,
      props: { name, image: "python:3.12", envs: ["HF_HUB_OFFLINE=0", "HF_TOKEN=hf_not_a_real_token"], volumes },
    };
  }

  it("Docker volumesFrom the downloader", async () => {
    const d = dockerStack();
    const intruder = dockerIntruder([{ fromContainer: "models-downloader" }]);
    const result = await expectIntrusion([...d.all, intruder], intruder);
    expect(messages(result, "consumer-read-only-mount").join()).toMatch(/volumes from container "models-downloader"/);
  });

  it("look-alike: volumesFrom another container with its own volume passes", async () => {
    const d = dockerStack();
    const redis: Resource = {
      urn: urn(DOCKER_CONTAINER, "redis"),
      type: DOCKER_CONTAINER,
      name: "redis",
      props: { name: "redis", image: "redis", volumes: [{ volumeName: "redis-data", containerPath: "/data" }] },
    };
    await expectPass([...d.all, redis, dockerIntruder([{ fromContainer: "redis" }], "sidecar")]);
  });

  it.each([
    "/var/lib/docker/volumes/model-cache-models/_data",
    "/var/lib/docker/volumes/model-cache-models/_data/.cache",
    "/var/lib/docker",
    "/home/ci/.local/share/docker/volumes/model-cache-models/_data",
  ])("a Docker bind of %s (the volume's data under the engine's folder)", async (hostPath) => {
    const d = dockerStack();
    const intruder = dockerIntruder([{ hostPath, containerPath: "/data" }]);
    await expectIntrusion([...d.all, intruder], intruder);
  });

  it("look-alike: a bind of another volume's data directory passes", async () => {
    const d = dockerStack();
    await expectPass([
      ...d.all,
      dockerIntruder([{ hostPath: "/var/lib/docker/volumes/redis-data/_data", containerPath: "/data" }], "other"),
    ]);
  });

  function ecsIntruder(fileSystemId: string, name = "intruder"): Resource {
    const containers = [
      {
        name,
        image: "python:3.12",
        essential: true,
        environment: [
          { name: "HF_HUB_OFFLINE", value: "0" },
          { name: "HF_TOKEN", value: "hf_not_a_real_token" },
        ],
        mountPoints: [{ sourceVolume: "efs", containerPath: "/data" }],
      },
    ];
    return {
      urn: urn(ECS_TASK, name),
      type: ECS_TASK,
      name,
      props: {
        family: name,
        containerDefinitions: JSON.stringify(containers),
        volumes: [{ name: "efs", efsVolumeConfiguration: { fileSystemId } }],
      },
    };
  }

  it("an ECS task naming the file system id directly, depending on nothing of ours", async () => {
    const s = efsKubernetesStack();
    const task = ecsIntruder(FS_ID);
    await expectIntrusion([...s.all, task], task);
  });

  it("look-alike: an ECS task on another file system passes", async () => {
    const s = efsKubernetesStack();
    await expectPass([...s.all, ecsIntruder(OTHER_FS_ID, "other")]);
  });

  it("the compliant EFS-backed Kubernetes stack passes with no diagnostics at all", async () => {
    expect((await checkStack(h.pack, efsKubernetesStack().all)).diagnostics).toEqual([]);
  });
});

describe("a cache found only by its downloader's labels", () => {
  function unlabelled() {
    const s = kubernetesStack();
    delete s.pvc.props["metadata"].labels;
    return s;
  }

  it("with the claim and the consumer unlabelled, the consumer is still checked", async () => {
    const s = unlabelled();
    const deployment = k8sWorkload(K8S.deployment, "intruder", intruderPodSpec({ persistentVolumeClaim: { claimName: CLAIM } }));
    await expectIntrusion([s.pvc, s.job, deployment], deployment);
  });

  it("look-alike: an unlabelled workload on another claim passes", async () => {
    const s = unlabelled();
    const deployment = k8sWorkload(K8S.deployment, "other", intruderPodSpec({ persistentVolumeClaim: { claimName: "scratch" } }));
    const result = await checkStack(h.pack, [s.pvc, s.job, s.deployment, deployment]);
    expect(
      result.diagnostics.filter((d) => d.urn === deployment.urn),
      explain(result),
    ).toEqual([]);
  });
});

describe("what a labelled workload makes a cache", () => {
  it("look-alike: a labelled service that sets no cache variable does not make its other volumes a cache for others", async () => {
    const s = kubernetesStack();
    const service = k8sWorkload(
      K8S.deployment,
      "labelled",
      {
        containers: [{ name: "s", image: "x", volumeMounts: [{ name: "logs", mountPath: "/logs" }] }],
        volumes: [{ name: "logs", persistentVolumeClaim: { claimName: "shared-logs" } }],
      },
      { [LABELS.role]: "service" },
    );
    const shipper = k8sWorkload(K8S.daemonSet, "log-shipper", intruderPodSpec({ persistentVolumeClaim: { claimName: "shared-logs" } }));
    const result = await checkStack(h.pack, [...s.all, service, shipper]);
    expect(
      result.diagnostics.filter((d) => d.urn === shipper.urn),
      explain(result),
    ).toEqual([]);
  });
});

describe("input past the reader's limits", () => {
  const filler = (n: number) => Array.from({ length: n }, (_, i) => `FILLER_${i}=x`);

  it("a later HF_HUB_OFFLINE=0 and HF_TOKEN behind 12,000 variables are read", async () => {
    const d = dockerStack();
    d.service.props["envs"] = [...filler(12_000), ...d.service.props["envs"], "HF_HUB_OFFLINE=0", "HF_TOKEN=hf_not_a_real_token"];
    await expect(checkStack(h.pack, d.all)).resolves.toMatchObject({ mandatory: ["consumer-no-hub-credentials", "consumer-offline"] });
  });

  it("look-alike: 12,000 unrelated variables pass", async () => {
    const d = dockerStack();
    d.service.props["envs"] = [...filler(12_000), ...d.service.props["envs"]];
    await expectPass(d.all);
  });

  it("a resource with more values than the pack reads is mandatory, never silently cut", async () => {
    const d = dockerStack();
    d.service.props["envs"] = [...d.service.props["envs"], ...filler(100_001)];
    const result = await checkResource(h.pack, d.service);
    expect(result.mandatory.length, explain(result)).toBeGreaterThan(0);
    expect(result.diagnostics.map((d) => d.message).join()).toMatch(/holds more than 100,000 values, more than the pack reads/);
  }, 60_000);
});

describe("values pulled in from elsewhere in the stack", () => {
  function configMap(name: string, data: Record<string, string> | string): Resource {
    return {
      urn: urn(K8S.configMap, name),
      type: K8S.configMap,
      name,
      props: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "ml" }, data },
    };
  }
  const server = (s: ReturnType<typeof kubernetesStack>) => podSpec(s.deployment).containers[0];

  it("HF_HUB_OFFLINE=0 from a ConfigMap of the stack via envFrom fails", async () => {
    const s = kubernetesStack();
    server(s).env = server(s).env.filter((e: { name: string }) => e.name !== "HF_HUB_OFFLINE");
    server(s).envFrom = [{ configMapRef: { name: "hub" } }];
    const result = await expectOnly([...s.all, configMap("hub", { HF_HUB_OFFLINE: "0" })], "consumer-offline");
    expect(messages(result, "consumer-offline").join()).toMatch(
      /sets HF_HUB_OFFLINE="0" \(from envFrom configMapRef "hub" key HF_HUB_OFFLINE\)/,
    );
  });

  it("HF_HUB_OFFLINE=0 from a ConfigMap of the stack via configMapKeyRef fails", async () => {
    const s = kubernetesStack();
    setK8sEnv(server(s), "HF_HUB_OFFLINE", undefined);
    server(s).env.push({ name: "HF_HUB_OFFLINE", valueFrom: { configMapKeyRef: { name: "hub", key: "offline" } } });
    await expectOnly([...s.all, configMap("hub", { offline: "0" })], "consumer-offline");
  });

  it("HF_TOKEN from a Secret of the stack via envFrom fails", async () => {
    const s = kubernetesStack();
    server(s).envFrom = [{ secretRef: { name: "app" } }];
    const secret: Resource = {
      urn: urn(K8S.secret, "app"),
      type: K8S.secret,
      name: "app",
      props: { metadata: { name: "app", namespace: "ml" }, data: { HF_TOKEN: Buffer.from("hf_x").toString("base64"), DB_URL: "eA==" } },
      secretProps: ["data"],
    };
    const result = await expectOnly([...s.all, secret], "consumer-no-hub-credentials");
    expect(messages(result, "consumer-no-hub-credentials").join()).toMatch(/is given HF_TOKEN from envFrom secretRef "app" key HF_TOKEN/);
  });

  it("look-alike: a ConfigMap of the stack with unrelated variables (and a key reference to a true value) passes", async () => {
    const s = kubernetesStack();
    server(s).envFrom = [{ configMapRef: { name: "app" } }];
    setK8sEnv(server(s), "HF_HUB_OFFLINE", undefined);
    server(s).env.push({ name: "HF_HUB_OFFLINE", valueFrom: { configMapKeyRef: { name: "app", key: "offline" } } });
    expect((await expectPass([...s.all, configMap("app", { LOG_LEVEL: "info", offline: "1" })])).diagnostics).toEqual([]);
  });

  it("a ConfigMap of the stack whose data is unknown during preview is advisory, saying the update checks it", async () => {
    const s = kubernetesStack();
    server(s).envFrom = [{ configMapRef: { name: "app" } }];
    const result = await expectPass([...s.all, configMap("app", UNKNOWN)]);
    expect(messages(result, "consumer-no-hub-credentials", "advisory").join()).toMatch(/can't check during preview.*the update checks it/);
  });

  it("ECS environmentFiles of a consumer may hold a token nobody can read before it starts: mandatory", async () => {
    const e = { task: clone(ecsStackTask()) };
    editServer(e.task, (c) => {
      c.environmentFiles = [{ type: "s3", value: "arn:aws:s3:::bucket/app.env" }];
    });
    const result = await checkStack(h.pack, [ecsEfs(), e.task]);
    expect(result.mandatory, explain(result)).toEqual(["consumer-no-hub-credentials"]);
    expect(messages(result, "consumer-no-hub-credentials").join()).toMatch(/environmentFiles arn:aws:s3:::bucket\/app.env.*cannot read/);
  });

  it("look-alike: environmentFiles on the downloader pass", async () => {
    const task = clone(ecsStackTask());
    const containers = JSON.parse(task.props["containerDefinitions"]);
    containers[0].environmentFiles = [{ type: "s3", value: "arn:aws:s3:::bucket/download.env" }];
    task.props["containerDefinitions"] = JSON.stringify(containers);
    await expectPass([ecsEfs(), task]);
  });
});

describe("resources the pack cannot see into", () => {
  it("a Helm Release gets an advisory that the contract was not checked inside it", async () => {
    const release: Resource = {
      urn: urn(K8S.helmRelease, "vllm"),
      type: K8S.helmRelease,
      name: "vllm",
      props: { chart: "vllm", namespace: "ml", values: { model: "x" } },
    };
    const result = await expectPass([...kubernetesStack().all, release]);
    expect(result.advisory).toEqual(["opaque-resources"]);
    expect(messages(result, "opaque-resources").join()).toMatch(/not checked inside Release "vllm" \(chart vllm\)/);
  });
});

// ECS helpers (the ECS fixture with the labelled file system).
function ecsStackTask(): Resource {
  return {
    urn: urn(ECS_TASK, "models"),
    type: ECS_TASK,
    name: "models",
    props: {
      family: "models",
      containerDefinitions: JSON.stringify(ecsContainers()),
      volumes: [{ name: "models", efsVolumeConfiguration: { fileSystemId: FS_ID } }],
    },
    dependencies: [ecsEfs().urn],
  };
}
function ecsEfs(): Resource {
  const e = efsKubernetesStack().fileSystem;
  return { ...e, props: { ...e.props, tags: { [LABELS.role]: "cache", [LABELS.cache]: CACHE } } };
}
function editServer(task: Resource, edit: (c: Json) => void) {
  const containers = JSON.parse(task.props["containerDefinitions"]);
  edit(containers[1]);
  task.props["containerDefinitions"] = JSON.stringify(containers);
}
