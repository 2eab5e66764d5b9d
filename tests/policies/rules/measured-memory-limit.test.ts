import { describe, expect, it } from "vitest";
import { measuredMemoryLimit } from "../../../policies/rules/measured-memory-limit";
import { clone, dockerStack, ecsStack, editContainers, kubernetesStack, podSpec } from "../support/fixtures";
import { runPolicy } from "../support/in-process";

describe("measured-memory-limit", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(measuredMemoryLimit, stack())).reported).toEqual([]);
  });

  it("a limit below the need fails", async () => {
    const s = clone(dockerStack());
    s.service.props["memory"] = 512;
    expect((await runPolicy(measuredMemoryLimit, s.all)).mandatory.join()).toMatch(/512/);
  });

  it("no limit fails", async () => {
    const s = clone(kubernetesStack());
    delete podSpec(s.deployment).containers[0].resources.limits.memory;
    expect((await runPolicy(measuredMemoryLimit, s.all)).mandatory).toEqual([expect.stringMatching(/has no memory limit/)]);
  });

  it("look-alike: far above the need is advisory only", async () => {
    const s = clone(ecsStack());
    editContainers(s.task, (c) => {
      c[1].memory = c[1].memory * 3;
    });
    const result = await runPolicy(measuredMemoryLimit, s.all);
    expect(result.mandatory).toEqual([]);
    expect(result.advisory.length).toBeGreaterThan(0);
  });
});
