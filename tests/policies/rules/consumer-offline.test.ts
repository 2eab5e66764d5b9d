import { describe, expect, it } from "vitest";
import { consumerOffline } from "../../../policies/rules/consumer-offline";
import {
  clone,
  dockerStack,
  ecsStack,
  editContainers,
  kubernetesStack,
  podSpec,
  setDockerEnv,
  setK8sEnv,
  UNKNOWN,
} from "../support/fixtures";
import { runPolicy } from "../support/in-process";

describe("consumer-offline", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(consumerOffline, stack())).reported).toEqual([]);
  });

  it("HF_HUB_OFFLINE=0 fails even beside TRANSFORMERS_OFFLINE=1, in the resource check already", async () => {
    const s = clone(dockerStack());
    setDockerEnv(s.service, "HF_HUB_OFFLINE", "0");
    const result = await runPolicy(consumerOffline, s.all);
    expect(result.mandatory).toEqual([expect.stringMatching(/sets HF_HUB_OFFLINE="0".*reads HF_HUB_OFFLINE first/)]);
    expect(result.reported[0]?.from).toBe("resource");
  });

  it("a missing TRANSFORMERS_OFFLINE on the verify init container fails", async () => {
    const s = clone(kubernetesStack());
    setK8sEnv(podSpec(s.deployment).initContainers[0], "TRANSFORMERS_OFFLINE", undefined);
    expect((await runPolicy(consumerOffline, s.all)).mandatory).toEqual([
      expect.stringMatching(/init container "verify" .* does not set TRANSFORMERS_OFFLINE/),
    ]);
  });

  it("a value unknown during preview is advisory", async () => {
    const s = clone(kubernetesStack());
    setK8sEnv(podSpec(s.deployment).containers[0], "HF_HUB_OFFLINE", UNKNOWN);
    const result = await runPolicy(consumerOffline, s.all);
    expect(result.mandatory).toEqual([]);
    expect(result.advisory.join()).toMatch(/can't check during preview: HF_HUB_OFFLINE/);
  });

  it("a value from an ECS env file, with the variable not set explicitly, is mandatory", async () => {
    const s = clone(ecsStack());
    editContainers(s.task, (c) => {
      c[1].environment = c[1].environment.filter((e: { name: string }) => e.name !== "HF_HUB_OFFLINE");
      c[1].environmentFiles = [{ type: "s3", value: "arn:aws:s3:::b/f.env" }];
    });
    expect((await runPolicy(consumerOffline, s.all)).mandatory).toEqual([
      expect.stringMatching(/cannot know HF_HUB_OFFLINE .*environmentFiles/),
    ]);
  });

  it("look-alike: an env file next to explicit true values passes (explicit variables win)", async () => {
    const s = clone(ecsStack());
    editContainers(s.task, (c) => {
      c[1].environmentFiles = [{ type: "s3", value: "arn:aws:s3:::b/f.env" }];
    });
    expect((await runPolicy(consumerOffline, s.all)).reported).toEqual([]);
  });
});
