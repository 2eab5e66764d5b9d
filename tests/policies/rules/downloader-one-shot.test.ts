import { describe, expect, it } from "vitest";
import { downloaderOneShot } from "../../../policies/rules/downloader-one-shot";
import { clone, dockerStack, ecsStack, editContainers, K8S, kubernetesStack } from "../support/fixtures";
import { runPolicy } from "../support/in-process";
import { DOCKER } from "../support/types";

describe("downloader-one-shot", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(downloaderOneShot, stack())).reported).toEqual([]);
  });

  it("a Docker downloader with mustRun unset fails", async () => {
    const s = clone(dockerStack());
    delete s.downloader.props["mustRun"];
    expect((await runPolicy(downloaderOneShot, s.all)).mandatory).toEqual([expect.stringMatching(/mustRun unset \(true\)/)]);
  });

  it("a downloader run as a Deployment fails", async () => {
    const s = clone(kubernetesStack());
    s.job.type = K8S.deployment;
    s.job.props["kind"] = "Deployment";
    expect((await runPolicy(downloaderOneShot, s.all)).mandatory).toEqual([
      expect.stringMatching(/Deployment "models-download" runs the downloader/),
    ]);
  });

  it("a downloader run as a Swarm service fails: Swarm restarts its tasks", async () => {
    const service = {
      urn: "urn:pulumi:test::model-cache::docker:index/service:Service::dl",
      type: DOCKER.service,
      name: "dl",
      props: {
        name: "dl",
        labels: [{ label: "model-cache.io/role", value: "downloader" }],
        taskSpec: { containerSpec: { image: "x", mounts: [{ type: "volume", source: "model-cache-models", target: "/app/models" }] } },
      },
    };
    expect((await runPolicy(downloaderOneShot, [service])).mandatory).toEqual([expect.stringMatching(/Swarm service/)]);
  });

  it("an essential ECS downloader fails", async () => {
    const s = clone(ecsStack());
    editContainers(s.task, (c) => delete c[0].essential);
    expect((await runPolicy(downloaderOneShot, s.all)).mandatory).toEqual([expect.stringMatching(/marked essential/)]);
  });
});
