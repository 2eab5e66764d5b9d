import { describe, expect, it } from "vitest";
import { oneWriter } from "../../../policies/rules/one-writer";
import { clone, dockerStack, ecsStack, kubernetesStack, urn } from "../support/fixtures";
import { runPolicy } from "../support/in-process";
import { K8S } from "../support/types";

describe("one-writer", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(oneWriter, stack())).reported).toEqual([]);
  });

  it("a second downloader of the same volume fails", async () => {
    const s = clone(dockerStack());
    const second = { ...clone(s.downloader), urn: urn("docker:index/container:Container", "second"), name: "second" };
    second.props["name"] = "second";
    expect((await runPolicy(oneWriter, [...s.all, second])).mandatory.join("\n")).toMatch(/has 2 downloaders writing it/);
  });

  it("a Job with parallelism 2 fails", async () => {
    const s = clone(kubernetesStack());
    s.job.props["spec"].parallelism = 2;
    expect((await runPolicy(oneWriter, s.all)).mandatory).toEqual([expect.stringMatching(/runs 2 copies at once/)]);
  });

  it("look-alike: a JobPatch of the downloader is not a second writer", async () => {
    const s = clone(kubernetesStack());
    const patch = {
      urn: urn(K8S.jobPatch, "p"),
      type: K8S.jobPatch,
      name: "p",
      props: { metadata: { name: "models-download", namespace: "ml", annotations: { a: "b" } } },
    };
    expect((await runPolicy(oneWriter, [...s.all, patch])).reported).toEqual([]);
  });
});
