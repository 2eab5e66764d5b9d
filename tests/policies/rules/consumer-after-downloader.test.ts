import { describe, expect, it } from "vitest";
import { consumerAfterDownloader } from "../../../policies/rules/consumer-after-downloader";
import { clone, dockerStack, ecsStack, editContainers, kubernetesStack, urn } from "../support/fixtures";
import { runPolicy } from "../support/in-process";
import { K8S } from "../support/types";

describe("consumer-after-downloader", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(consumerAfterDownloader, stack())).reported).toEqual([]);
  });

  it("a Docker service that does not depend on the downloader fails", async () => {
    const s = clone(dockerStack());
    s.service.dependencies = [s.volume.urn];
    expect((await runPolicy(consumerAfterDownloader, s.all)).mandatory).toEqual([expect.stringMatching(/may start before the downloader/)]);
  });

  it("an ECS consumer that depends on the downloader with COMPLETE fails", async () => {
    const s = clone(ecsStack());
    editContainers(s.task, (c) => {
      c[1].dependsOn = [{ containerName: "download", condition: "COMPLETE" }];
    });
    expect((await runPolicy(consumerAfterDownloader, s.all)).mandatory).toEqual([expect.stringMatching(/with condition COMPLETE/)]);
  });

  it("a patch of the service is ordered as the service is (no finding of its own)", async () => {
    const s = clone(kubernetesStack());
    const patch = {
      urn: urn(K8S.deploymentPatch, "p"),
      type: K8S.deploymentPatch,
      name: "p",
      props: { metadata: { name: "models-service", namespace: "ml" }, spec: { replicas: 3 } },
    };
    expect((await runPolicy(consumerAfterDownloader, [...s.all, patch])).reported).toEqual([]);
  });
});
