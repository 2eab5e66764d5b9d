/**
 * Kubernetes family (apps/v1 Deployment, StatefulSet, DaemonSet; batch/v1 Job, CronJob; core/v1
 * Pod, PersistentVolumeClaim, PersistentVolume): for every policy, a hand-written stack that breaks
 * exactly that rule fails with exactly that policy as mandatory; a compliant look-alike passes.
 */
import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "../../components/core/canonical-json";
import { LABELS, MANIFEST_ENV, manifestLabelValue } from "../../components/core/contract";
import { formatMiB } from "../../components/core/quantity";
import {
  CLAIM,
  clone,
  GPU_SET,
  type Json,
  K8S,
  kubernetesStack,
  PATHS,
  podSpec,
  type Resource,
  setK8sEnv,
  UNKNOWN,
  urn,
} from "./support/fixtures";
import { checkResource, checkStack, messages, stackExpectations, usePack } from "./support/pack";

const h = usePack();
const base = () => clone(kubernetesStack());
const server = (r: Resource) => podSpec(r).containers[0];
const verify = (r: Resource) => podSpec(r).initContainers[0];

const { expectOnly, expectPass } = stackExpectations(h);

function setLabels(r: Resource, key: string, value: string) {
  r.props["metadata"].labels[key] = value;
  if (r.type !== K8S.pod)
    (r.type === K8S.cronJob ? r.props["spec"].jobTemplate.spec.template : r.props["spec"].template).metadata.labels[key] = value;
}

/** Another manifest for the Job, the verify container and both digest labels. */
function withManifest(s: ReturnType<typeof kubernetesStack>, edit: (manifest: Json) => void) {
  const manifest = JSON.parse(s.set.manifest.json);
  edit(manifest);
  const json = canonicalJson(manifest);
  setK8sEnv(server(s.job), MANIFEST_ENV, json);
  setK8sEnv(verify(s.deployment), MANIFEST_ENV, json);
  setLabels(s.job, LABELS.manifest, manifestLabelValue(sha256Hex(json)));
  setLabels(s.deployment, LABELS.manifest, manifestLabelValue(sha256Hex(json)));
}

/** The service pod downloads in its own first init container (no Job). */
function initContainerDownloader(s: ReturnType<typeof kubernetesStack>): Resource[] {
  const pod = podSpec(s.deployment);
  pod.initContainers.unshift({ ...clone(server(s.job)), name: "download" });
  pod.volumes[0].persistentVolumeClaim.readOnly = false;
  s.deployment.props["spec"].replicas = 1;
  s.deployment.dependencies = [s.pvc.urn];
  return [s.pvc, s.deployment];
}

describe("the compliant Kubernetes stack", () => {
  it("passes with no diagnostics at all", async () => {
    expect((await checkStack(h.pack, base().all)).diagnostics).toEqual([]);
  });
});

describe("consumer-offline (Kubernetes)", () => {
  it("the verify init container with HF_HUB_OFFLINE=0 fails", async () => {
    const s = base();
    setK8sEnv(verify(s.deployment), "HF_HUB_OFFLINE", "0");
    const result = await expectOnly(s.all, "consumer-offline");
    expect(messages(result, "consumer-offline").join()).toMatch(
      /init container "verify" of Deployment "models-service" sets HF_HUB_OFFLINE="0"/,
    );
    expect((await checkResource(h.pack, s.deployment)).mandatory).toEqual(["consumer-offline"]);
  });

  it("a value from a ConfigMap outside the stack cannot be known at deploy either: mandatory", async () => {
    const s = base();
    const c = server(s.deployment);
    c.env = c.env.filter((e: { name: string }) => e.name !== "TRANSFORMERS_OFFLINE");
    c.env.push({ name: "TRANSFORMERS_OFFLINE", valueFrom: { configMapKeyRef: { name: "flags", key: "offline" } } });
    const result = await expectOnly(s.all, "consumer-offline");
    expect(messages(result, "consumer-offline").join()).toMatch(
      /cannot know TRANSFORMERS_OFFLINE .* configMapKeyRef "flags"\/"offline", which is not part of this stack/,
    );
    // The resource check alone cannot tell (the ConfigMap may be in the stack): it leaves it to the stack check.
    expect((await checkResource(h.pack, s.deployment)).diagnostics).toEqual([]);
  });

  it('look-alike: "On" and "true" pass', async () => {
    const s = base();
    setK8sEnv(server(s.deployment), "HF_HUB_OFFLINE", "On");
    setK8sEnv(server(s.deployment), "TRANSFORMERS_OFFLINE", "true");
    await expectPass(s.all);
  });
});

describe("consumer-read-only-mount (Kubernetes)", () => {
  it("a volumeMount that leaves readOnly unset fails", async () => {
    const s = base();
    delete server(s.deployment).volumeMounts[0].readOnly;
    const result = await expectOnly(s.all, "consumer-read-only-mount");
    expect(messages(result, "consumer-read-only-mount").join()).toMatch(
      /container "model-server" of Deployment "models-service" mounts the model cache read-write/,
    );
  });

  it("a read-write subPath mount in an init container fails", async () => {
    const s = base();
    verify(s.deployment).volumeMounts.push({ name: "models", mountPath: "/opt/whisper", subPath: ".cache/whisper" });
    await expectOnly(s.all, "consumer-read-only-mount");
  });

  it("a claim without persistentVolumeClaim.readOnly fails", async () => {
    const s = base();
    delete podSpec(s.deployment).volumes[0].persistentVolumeClaim.readOnly;
    const result = await expectOnly(s.all, "consumer-read-only-mount");
    expect(messages(result, "consumer-read-only-mount").join()).toMatch(/without persistentVolumeClaim.readOnly: true/);
  });

  it("look-alike: a read-write emptyDir next to the read-only cache passes", async () => {
    const s = base();
    podSpec(s.deployment).volumes.push({ name: "scratch", emptyDir: {} });
    server(s.deployment).volumeMounts.push({ name: "scratch", mountPath: "/scratch" });
    await expectPass(s.all);
  });

  it("an unlabelled pod mounting the cache's claim is a consumer, found through the labelled PersistentVolume", async () => {
    const s = base();
    delete s.pvc.props["metadata"].labels;
    s.pvc.props["spec"].volumeName = "models-pv";
    const pv: Resource = {
      urn: urn(K8S.pv, "models-pv"),
      type: K8S.pv,
      name: "models-pv",
      props: {
        metadata: { name: "models-pv", labels: { [LABELS.role]: "cache", [LABELS.cache]: "models" } },
        spec: { csi: { driver: "efs.csi.aws.com", volumeHandle: "fs-1" }, accessModes: ["ReadWriteMany"] },
      },
    };
    const debug: Resource = {
      urn: urn(K8S.pod, "debug"),
      type: K8S.pod,
      name: "debug",
      props: {
        metadata: { name: "debug", namespace: "ml" },
        spec: {
          containers: [{ name: "shell", image: "busybox", volumeMounts: [{ name: "m", mountPath: "/models" }] }],
          volumes: [{ name: "m", persistentVolumeClaim: { claimName: CLAIM } }],
        },
      },
    };
    expect((await checkResource(h.pack, debug)).diagnostics).toEqual([]);
    const result = await checkStack(h.pack, [pv, ...s.all, debug]);
    expect(result.mandatory).toEqual(expect.arrayContaining(["consumer-read-only-mount", "consumer-offline"]));
    expect(messages(result, "consumer-read-only-mount").join()).toMatch(/container "shell" of Pod "debug"/);
  });
});

describe("unified-cache-env (Kubernetes)", () => {
  it("XDG_CACHE_HOME elsewhere fails", async () => {
    const s = base();
    setK8sEnv(server(s.deployment), "XDG_CACHE_HOME", "/home/app/.cache");
    await expectOnly(s.all, "unified-cache-env");
  });

  it("look-alike: a cache at another mount path, consistently, passes", async () => {
    const s = base();
    for (const c of [server(s.job), verify(s.deployment), server(s.deployment)]) {
      for (const m of c.volumeMounts) if (m.name === "models") m.mountPath = "/models";
      for (const key of ["HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME", "TRANSFORMERS_CACHE"]) setK8sEnv(c, key, "/models/.cache");
    }
    await expectPass(s.all);
  });
});

describe("consumer-no-hub-credentials (Kubernetes)", () => {
  it("HF_TOKEN from a Secret fails", async () => {
    const s = base();
    server(s.deployment).env.push({ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf", key: "token" } } });
    const result = await expectOnly(s.all, "consumer-no-hub-credentials");
    expect(messages(result, "consumer-no-hub-credentials").join()).toMatch(/is given HF_TOKEN from secretKeyRef "hf"\/"token"/);
  });

  it("envFrom a Secret outside the stack may hold the token: mandatory; the Job may hold it", async () => {
    const s = base();
    server(s.deployment).envFrom = [{ secretRef: { name: "app-secrets" } }];
    server(s.job).env.push({ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf", key: "token" } } });
    const result = await expectOnly(s.all, "consumer-no-hub-credentials");
    expect(messages(result, "consumer-no-hub-credentials").join()).toMatch(/envFrom secretRef "app-secrets" .*not part of this stack/);
  });
});

describe("measured-memory-limit (Kubernetes)", () => {
  it("2Gi is below the need and fails", async () => {
    const s = base();
    server(s.deployment).resources.limits.memory = "2Gi";
    await expectOnly(s.all, "measured-memory-limit");
  });

  it("no limit fails", async () => {
    const s = base();
    delete server(s.deployment).resources.limits.memory;
    await expectOnly(s.all, "measured-memory-limit");
  });

  it("look-alike: the need written in decimal gigabytes (e.g. 3G for 2850 MiB) passes", async () => {
    const s = base();
    const need = GPU_SET.sizing.needMiB;
    const gigabytes = Math.ceil((need * 2 ** 20) / 1e9);
    expect(gigabytes * 1e9).toBeLessThanOrEqual(need * 1.5 * 2 ** 20);
    server(s.deployment).resources.limits.memory = `${gigabytes}G`;
    await expectPass(s.all);
    server(s.deployment).resources.limits.memory = formatMiB(GPU_SET.sizing.limitMiB);
    await expectPass(s.all);
  });
});

describe("consumer-gpu (Kubernetes)", () => {
  it("no nvidia.com/gpu limit fails", async () => {
    const s = base();
    delete server(s.deployment).resources.limits["nvidia.com/gpu"];
    await expectOnly(s.all, "consumer-gpu");
  });

  it("look-alike: a StatefulSet consumer with a GPU passes", async () => {
    const s = base();
    s.deployment.type = K8S.statefulSet;
    s.deployment.urn = urn(K8S.statefulSet, "models-service");
    await expectPass(s.all);
  });
});

describe("startup-grace (Kubernetes)", () => {
  it("a 30 s startupProbe window fails", async () => {
    const s = base();
    server(s.deployment).startupProbe.failureThreshold = 3;
    const result = await expectOnly(s.all, "startup-grace");
    expect(messages(result, "startup-grace").join()).toMatch(/gets 30 s to start/);
  });

  it("only a livenessProbe of 30 s fails", async () => {
    const s = base();
    delete server(s.deployment).startupProbe;
    server(s.deployment).livenessProbe.periodSeconds = 10;
    const result = await expectOnly(s.all, "startup-grace");
    expect(messages(result, "startup-grace").join()).toMatch(/livenessProbe would restart it/);
  });

  it("look-alike: initialDelaySeconds 60 + 10 × 3 passes", async () => {
    const s = base();
    Object.assign(server(s.deployment).startupProbe, { initialDelaySeconds: 60, periodSeconds: 10, failureThreshold: 3 });
    await expectPass(s.all);
  });
});

describe("pinned-models (Kubernetes)", () => {
  it("the Job's manifest with a tag for a revision fails", async () => {
    const s = base();
    withManifest(s, (m) => {
      m.models[0].revision = "v1.0";
    });
    await expectOnly(s.all, "pinned-models");
  });

  it("look-alike: a gitSha1 instead of a sha256 passes", async () => {
    const s = base();
    withManifest(s, (m) => {
      delete m.models[0].files[0].sha256;
      m.models[0].files[0].gitSha1 = "d1514c3162bbe87b343f565fadc62e6c06f04f03";
    });
    await expectPass(s.all);
  });
});

describe("downloader-one-shot (Kubernetes)", () => {
  it("a CronJob downloader fails", async () => {
    const s = base();
    const spec = s.job.props["spec"];
    s.job.type = K8S.cronJob;
    s.job.props["spec"] = { schedule: "0 3 * * *", jobTemplate: { spec } };
    await expectOnly(s.all, "downloader-one-shot");
  });

  it("a Deployment downloader fails", async () => {
    const s = base();
    s.job.type = K8S.deployment;
    podSpec(s.job).restartPolicy = "Always";
    await expectOnly(s.all, "downloader-one-shot");
  });

  it("look-alike: a Pod with restartPolicy Never passes; so does the init-container pattern", async () => {
    const s = base();
    const pod = { metadata: { ...s.job.props["metadata"] }, spec: podSpec(s.job) };
    s.job.type = K8S.pod;
    s.job.props = pod;
    await expectPass(s.all);
    await expectPass(initContainerDownloader(base()));
  });
});

describe("consumer-after-downloader (Kubernetes, stack)", () => {
  it("a Deployment that does not depend on the Job fails", async () => {
    const s = base();
    s.deployment.dependencies = [s.pvc.urn];
    await expectOnly(s.all, "consumer-after-downloader");
  });

  it("an init-container downloader after the verify container fails", async () => {
    const s = base();
    const resources = initContainerDownloader(s);
    podSpec(s.deployment).initContainers.reverse();
    await expectOnly(resources, "consumer-after-downloader");
  });

  it("look-alike: a Deployment that depends on the Job through a component passes", async () => {
    const s = base();
    const component: Resource = { urn: urn("my:index:Downloader", "dl"), type: "my:index:Downloader", name: "dl", props: {} };
    s.job.parent = component.urn;
    s.deployment.dependencies = [component.urn];
    await expectPass([component, ...s.all]);
  });
});

describe("manifest-coverage (Kubernetes, stack)", () => {
  it("a Deployment labelled with another digest fails", async () => {
    const s = base();
    setLabels(s.deployment, LABELS.manifest, "0".repeat(64));
    const result = await expectOnly(s.all, "manifest-coverage");
    expect(messages(result, "manifest-coverage").join()).toMatch(/carries a MODEL_CACHE_MANIFEST that hashes to .* but is labelled/);
  });

  it("look-alike: the pod template's labels win over stale object labels... when they agree with the Job", async () => {
    const s = base();
    s.deployment.props["metadata"].labels[LABELS.manifest] = "stale";
    await expectPass(s.all);
  });
});

describe("one-writer (Kubernetes, stack)", () => {
  it("a Job with parallelism 2 fails", async () => {
    const s = base();
    s.job.props["spec"].parallelism = 2;
    await expectOnly(s.all, "one-writer");
  });

  it("a replicated service pod whose init container downloads fails", async () => {
    const s = base();
    const resources = initContainerDownloader(s);
    s.deployment.props["spec"].replicas = 3;
    const result = await expectOnly(resources, "one-writer");
    expect(messages(result, "one-writer").join()).toMatch(/runs 3 copies at once/);
  });

  it("look-alike: parallelism 1 passes", async () => {
    const s = base();
    s.job.props["spec"].parallelism = 1;
    await expectPass(s.all);
  });
});

describe("other workload kinds", () => {
  it("a DaemonSet consumer is checked like a Deployment", async () => {
    const s = base();
    s.deployment.type = K8S.daemonSet;
    delete s.deployment.props["spec"].replicas;
    setK8sEnv(server(s.deployment), "HF_HUB_OFFLINE", "no");
    await expectOnly(s.all, "consumer-offline");
  });

  it("a pod whose namespace is unknown during preview is still matched to the claim by name", async () => {
    const s = base();
    const debug: Resource = {
      urn: urn(K8S.pod, "debug"),
      type: K8S.pod,
      name: "debug",
      props: {
        metadata: { name: "debug", namespace: UNKNOWN },
        spec: {
          containers: [{ name: "shell", image: "busybox", volumeMounts: [{ name: "m", mountPath: "/models" }] }],
          volumes: [{ name: "m", persistentVolumeClaim: { claimName: CLAIM } }],
        },
      },
    };
    const result = await checkStack(h.pack, [...s.all, debug]);
    expect(messages(result, "consumer-read-only-mount").join()).toMatch(/container "shell" of Pod "debug"/);
  });

  it("unknown values during preview are advisory, never an error", async () => {
    const s = base();
    s.pvc.props["metadata"].name = UNKNOWN;
    podSpec(s.deployment).volumes[0].persistentVolumeClaim.claimName = UNKNOWN;
    podSpec(s.job).volumes[0].persistentVolumeClaim.claimName = UNKNOWN;
    server(s.deployment).resources.limits.memory = UNKNOWN;
    s.deployment.props["metadata"].namespace = UNKNOWN;
    const result = await checkStack(h.pack, s.all);
    expect(result.mandatory).toEqual([]);
    expect(result.advisory).toContain("measured-memory-limit");
  });

  it("the cache mount path comes from the contract default when no variable says otherwise", () => {
    expect(PATHS.mountPath).toBe("/app/models");
  });
});
