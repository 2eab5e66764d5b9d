import { describe, expect, it } from "vitest";
import { consumerReadOnlyMount } from "../../../policies/rules/consumer-read-only-mount";
import { clone, dockerStack, ecsStack, editContainers, efsKubernetesStack, kubernetesStack, podSpec, urn } from "../support/fixtures";
import { runPolicy } from "../support/in-process";
import { K8S } from "../support/types";

describe("consumer-read-only-mount", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes on EFS", () => efsKubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(consumerReadOnlyMount, stack())).reported).toEqual([]);
  });

  it("a Docker service mount without readOnly fails", async () => {
    const s = clone(dockerStack());
    s.service.props["volumes"][0].readOnly = false;
    expect((await runPolicy(consumerReadOnlyMount, s.all)).mandatory).toEqual([
      expect.stringMatching(/container "models-service" mounts the model cache read-write/),
    ]);
  });

  it("a claim without persistentVolumeClaim.readOnly fails, the mounts being read-only", async () => {
    const s = clone(kubernetesStack());
    delete podSpec(s.deployment).volumes[0].persistentVolumeClaim.readOnly;
    expect((await runPolicy(consumerReadOnlyMount, s.all)).mandatory).toEqual([
      expect.stringMatching(/without persistentVolumeClaim.readOnly: true/),
    ]);
  });

  it("an unlabelled Pod reaching the cache's file system through an inline CSI volume is held to it", async () => {
    const s = clone(efsKubernetesStack());
    const pod = {
      urn: urn(K8S.pod, "reader"),
      type: K8S.pod,
      name: "reader",
      props: {
        metadata: { name: "reader", namespace: "ml" },
        spec: {
          containers: [{ name: "r", image: "x", volumeMounts: [{ name: "v", mountPath: "/m" }] }],
          volumes: [{ name: "v", csi: { driver: "efs.csi.aws.com", volumeAttributes: { path: "/", fs: "fs-0123456789abcdef0" } } }],
        },
      },
    };
    const result = await runPolicy(consumerReadOnlyMount, [...s.all, pod]);
    expect(result.mandatory).toEqual([expect.stringMatching(/container "r" of Pod "reader" mounts the model cache read-write/)]);
    expect(result.reported.map((r) => r.from)).toEqual(["stack"]);
  });

  it("look-alike: the downloader's read-write mount and another volume's read-write mount pass", async () => {
    const s = clone(ecsStack());
    editContainers(s.task, (c) => {
      c[1].mountPoints.push({ sourceVolume: "scratch", containerPath: "/tmp/scratch" });
    });
    s.task.props["volumes"].push({ name: "scratch" });
    expect((await runPolicy(consumerReadOnlyMount, s.all)).reported).toEqual([]);
  });
});
