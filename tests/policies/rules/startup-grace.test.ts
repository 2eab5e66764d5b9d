import { describe, expect, it } from "vitest";
import { startupGrace } from "../../../policies/rules/startup-grace";
import { clone, dockerStack, ecsStack, editContainers, kubernetesStack, podSpec } from "../support/fixtures";
import { runPolicy } from "../support/in-process";

describe("startup-grace", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(startupGrace, stack())).reported).toEqual([]);
  });

  it("a 30 s Docker start period fails", async () => {
    const s = clone(dockerStack());
    s.service.props["healthcheck"].startPeriod = "30s";
    expect((await runPolicy(startupGrace, s.all)).mandatory).toEqual([expect.stringMatching(/gets 30 s to start/)]);
  });

  it("only a livenessProbe of 60 s fails, saying it would restart the loader", async () => {
    const s = clone(kubernetesStack());
    delete podSpec(s.deployment).containers[0].startupProbe;
    expect((await runPolicy(startupGrace, s.all)).mandatory).toEqual([expect.stringMatching(/livenessProbe would restart it/)]);
  });

  it("no ECS healthCheck fails; the configured minimum applies", async () => {
    const s = clone(ecsStack());
    editContainers(s.task, (c) => delete c[1].healthCheck);
    expect((await runPolicy(startupGrace, s.all)).mandatory).toEqual([expect.stringMatching(/has no health check/)]);
    expect((await runPolicy(startupGrace, ecsStack().all, { minStartPeriodSeconds: 150 })).mandatory).toEqual([
      expect.stringMatching(/less than 150 s/),
    ]);
  });
});
