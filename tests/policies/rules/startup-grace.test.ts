import { describe, expect, it } from "vitest";
import { startupGrace } from "../../../policies/rules/startup-grace";
import { clone, dockerStack, ecsStack, editContainers, kubernetesStack, modelSet, podSpec } from "../support/fixtures";
import { runPolicy } from "../support/in-process";

describe("startup-grace", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(startupGrace, stack())).reported).toEqual([]);
  });

  it("a Docker start period below what the manifest's models need fails, with the catalog's breakdown", async () => {
    const s = clone(dockerStack());
    s.service.props["healthcheck"].startPeriod = "30s";
    // bge-m3 (20 s) + yunet (1 s) on cuda: ceil(21 × 1.25 + 30) = 57 s.
    expect((await runPolicy(startupGrace, s.all)).mandatory).toEqual([
      expect.stringMatching(/gets 30 s to start .*less than the 57 s its models need \(bge-m3 20 s \+ yunet 1 s on cuda/),
    ]);
    s.service.props["healthcheck"].startPeriod = "57s";
    expect((await runPolicy(startupGrace, s.all)).reported).toEqual([]);
    s.service.props["healthcheck"].startPeriod = "56s";
    expect((await runPolicy(startupGrace, s.all)).mandatory).toHaveLength(1);
  });

  it("the seed's case: Whisper medium's 117 s load behind a 90 s start period fails", async () => {
    const s = clone(dockerStack(modelSet(["whisper-medium"], "cuda")));
    s.service.props["healthcheck"].startPeriod = "90s";
    expect((await runPolicy(startupGrace, s.all)).mandatory).toEqual([
      expect.stringMatching(/less than the 1\d\d s its models need \(whisper-medium/),
    ]);
  });

  it("without a manifest the fallback applies, and minStartPeriodSeconds is a floor over the derived period", async () => {
    const bare = clone(dockerStack());
    bare.all = bare.all.filter((r) => r !== bare.downloader);
    bare.service.props["healthcheck"].startPeriod = "60s";
    expect((await runPolicy(startupGrace, bare.all)).mandatory).toEqual([
      expect.stringMatching(/less than the 90 s its models need \(fallbackStartPeriodSeconds; no manifest found/),
    ]);
    expect((await runPolicy(startupGrace, dockerStack().all, { minStartPeriodSeconds: 150 })).mandatory).toEqual([
      expect.stringMatching(/less than the 150 s its models need \(minStartPeriodSeconds, above 57 s/),
    ]);
  });

  it("only a short livenessProbe fails, saying it would restart the loader", async () => {
    const s = clone(kubernetesStack());
    delete podSpec(s.deployment).containers[0].startupProbe;
    podSpec(s.deployment).containers[0].livenessProbe.periodSeconds = 10; // 10 × 3 = 30 s < 57 s
    expect((await runPolicy(startupGrace, s.all)).mandatory).toEqual([expect.stringMatching(/livenessProbe would restart it/)]);
  });

  it("no ECS healthCheck fails", async () => {
    const s = clone(ecsStack());
    editContainers(s.task, (c) => delete c[1].healthCheck);
    expect((await runPolicy(startupGrace, s.all)).mandatory).toEqual([expect.stringMatching(/has no health check/)]);
  });
});
