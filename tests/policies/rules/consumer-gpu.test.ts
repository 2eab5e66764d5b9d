import { describe, expect, it } from "vitest";
import { consumerGpu } from "../../../policies/rules/consumer-gpu";
import { clone, dockerStack, ecsStack, editContainers, kubernetesStack, podSpec, urn } from "../support/fixtures";
import { runPolicy } from "../support/in-process";
import { DOCKER } from "../support/types";

describe("consumer-gpu", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(consumerGpu, stack())).reported).toEqual([]);
  });

  it.each([
    ["Docker", (s: ReturnType<typeof dockerStack>) => delete s.service.props["gpus"], dockerStack],
    [
      "Kubernetes",
      (s: ReturnType<typeof kubernetesStack>) => delete podSpec(s.deployment).containers[0].resources.limits["nvidia.com/gpu"],
      kubernetesStack,
    ],
    ["ECS", (s: ReturnType<typeof ecsStack>) => editContainers(s.task, (c) => delete c[1].resourceRequirements), ecsStack],
  ] as const)("a %s consumer without a GPU fails", async (_, edit, make) => {
    const s = clone(make());
    (edit as (x: unknown) => void)(s);
    expect((await runPolicy(consumerGpu, s.all)).mandatory).toEqual([expect.stringMatching(/requests no GPU/)]);
  });

  it("a Swarm service reserving an NVIDIA generic resource passes; one reserving none fails", async () => {
    const service = (generic: unknown) => ({
      urn: urn(DOCKER.service, "svc"),
      type: DOCKER.service,
      name: "svc",
      props: {
        name: "svc",
        labels: [{ label: "model-cache.io/role", value: "service" }],
        taskSpec: {
          containerSpec: { image: "x", mounts: [{ type: "volume", source: "model-cache-models", target: "/app/models", readOnly: true }] },
          resources: { reservation: { genericResources: generic } },
        },
      },
    });
    expect((await runPolicy(consumerGpu, [service({ discreteResourcesSpecs: ["NVIDIA-GPU=1"] })])).reported).toEqual([]);
    expect((await runPolicy(consumerGpu, [service({})])).mandatory).toEqual([expect.stringMatching(/requests no GPU/)]);
  });

  it("look-alike: a consumer labelled device=cpu needs none", async () => {
    const s = clone(dockerStack());
    delete s.service.props["gpus"];
    s.service.props["labels"].push({ label: "model-cache.io/device", value: "cpu" });
    expect((await runPolicy(consumerGpu, s.all)).reported).toEqual([]);
  });
});
