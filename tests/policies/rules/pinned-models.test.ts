import { describe, expect, it } from "vitest";
import { MANIFEST_ENV } from "../../../components/core/contract";
import { pinnedModels } from "../../../policies/rules/pinned-models";
import { clone, dockerStack, ecsStack, kubernetesStack, setDockerEnv } from "../support/fixtures";
import { runPolicy } from "../support/in-process";

function editManifest(
  s: ReturnType<typeof dockerStack>,
  edit: (m: { models: Record<string, unknown>[]; allowUnverified?: boolean }) => void,
) {
  const manifest = JSON.parse(s.set.manifest.json);
  edit(manifest);
  setDockerEnv(s.downloader, MANIFEST_ENV, JSON.stringify(manifest));
}

describe("pinned-models", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(pinnedModels, stack())).reported).toEqual([]);
  });

  it("a hub model pinned to a branch fails", async () => {
    const s = clone(dockerStack());
    editManifest(s, (m) => {
      const hub = m.models.find((x) => x["kind"] === "huggingface");
      if (hub) hub["revision"] = "main";
    });
    expect((await runPolicy(pinnedModels, s.all)).mandatory).toEqual([expect.stringMatching(/pinned to "main", not a 40-hex commit/)]);
  });

  it("a downloader without a manifest fails", async () => {
    const s = clone(dockerStack());
    setDockerEnv(s.downloader, MANIFEST_ENV, undefined);
    expect((await runPolicy(pinnedModels, s.all)).mandatory).toEqual([expect.stringMatching(/without MODEL_CACHE_MANIFEST/)]);
  });

  it("look-alike: a missing checksum is advisory where the manifest allows unverified files", async () => {
    const s = clone(dockerStack());
    editManifest(s, (m) => {
      m.allowUnverified = true;
      const hub = m.models.find((x) => x["kind"] === "huggingface") as { files: Record<string, unknown>[] };
      delete hub.files[0]?.["sha256"];
      delete hub.files[0]?.["gitSha1"];
    });
    const result = await runPolicy(pinnedModels, s.all);
    expect(result.mandatory).toEqual([]);
    expect(result.advisory.join()).toMatch(/has no checksum; the stack allowed unverified files/);
  });
});
