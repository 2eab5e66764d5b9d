import { describe, expect, it } from "vitest";
import { unifiedCacheEnv } from "../../../policies/rules/unified-cache-env";
import { clone, dockerStack, ecsStack, kubernetesStack, podSpec, setDockerEnv, setK8sEnv } from "../support/fixtures";
import { runPolicy } from "../support/in-process";

describe("unified-cache-env", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(unifiedCacheEnv, stack())).reported).toEqual([]);
  });

  it("HF_HOME unequal to HF_HUB_CACHE fails", async () => {
    const s = clone(dockerStack());
    setDockerEnv(s.service, "HF_HOME", "/app/models/other");
    expect((await runPolicy(unifiedCacheEnv, s.all)).mandatory.join("\n")).toMatch(/they must be equal/);
  });

  it("a consumer root different from the downloader's fails in the stack check", async () => {
    const s = clone(kubernetesStack());
    for (const c of [...podSpec(s.deployment).initContainers, ...podSpec(s.deployment).containers]) {
      for (const key of ["HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME", "TRANSFORMERS_CACHE"]) setK8sEnv(c, key, "/app/models/elsewhere");
    }
    const result = await runPolicy(unifiedCacheEnv, s.all);
    expect(result.mandatory.join("\n")).toMatch(/writes \/app\/models\/\.cache; use one cache root everywhere/);
  });

  it("look-alike: TRANSFORMERS_CACHE missing is advisory only", async () => {
    const s = clone(dockerStack());
    setDockerEnv(s.service, "TRANSFORMERS_CACHE", undefined);
    const result = await runPolicy(unifiedCacheEnv, s.all);
    expect(result.mandatory).toEqual([]);
    expect(result.advisory.join()).toMatch(/does not set TRANSFORMERS_CACHE/);
  });
});
