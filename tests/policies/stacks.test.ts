/**
 * The stacks as written (Pulumi.dev.yaml, Pulumi.prod.yaml) pass the pack: the real program runs
 * under the SDK's mocks, in preview and in update mode, and the pack gets the resource graph it
 * registers (parents, dependencies, property dependencies), with each stack's policy config
 * (policies/config/<stack>.json when it exists), as `pulumi preview --policy-pack` would.
 */
import { describe, expect, it } from "vitest";
import { DOCKER_ONE_SHOT_TYPE } from "../../components/core/contract";
import { analyzeResources, defaultPolicyConfigFile, readPolicyConfigFile, toAnalyzerResource } from "../../gate/policy-run";
import { runStackUnderMocks } from "../../gate/run-under-mocks";
import { runProgram } from "../../infra/program";
import { summarize, usePack } from "./support/pack";

const h = usePack({ configure: false });

/** The stack file as written (the gate stands a placeholder in for the kubeconfig secret it cannot hold). */
async function checkWrittenStack(stack: string, preview: boolean) {
  const run = await runStackUnderMocks(stack, () => runProgram() as unknown as Record<string, unknown>, { preview });
  const file = defaultPolicyConfigFile(stack);
  const result = await analyzeResources(h.pack, run.resources.map(toAnalyzerResource), {
    userConfig: file ? readPolicyConfigFile(file) : {},
  });
  return { run, result: summarize(result.diagnostics) };
}

describe("the dev stack as written", () => {
  it.each([true, false])("passes with no diagnostics at all (preview: %s)", async (preview) => {
    const { run, result } = await checkWrittenStack("dev", preview);
    // The service container and the one-shot download step, which the pack reads like a container.
    expect(run.resources.filter((r) => r.type === "docker:index/container:Container")).toHaveLength(1);
    expect(run.resources.filter((r) => r.type === DOCKER_ONE_SHOT_TYPE)).toHaveLength(1);
    expect(result.diagnostics).toEqual([]);
  });
});

describe("the prod stack as written", () => {
  it.each([true, false])("passes; SigLIP's unverified files are advisory (preview: %s)", async (preview) => {
    const { run, result } = await checkWrittenStack("prod", preview);
    expect(run.resources.map((r) => r.type)).toEqual(
      expect.arrayContaining([
        "kubernetes:apps/v1:Deployment",
        "kubernetes:batch/v1:Job",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:core/v1:PersistentVolume",
      ]),
    );
    expect(result.mandatory).toEqual([]);
    // The stack allows unverified files for SigLIP so400m (no public checksums): one advisory per
    // such file, and nothing else.
    for (const d of result.diagnostics) {
      expect(d.enforcementLevel).toBe("advisory");
      expect(d.message).toMatch(/has no checksum; the stack allowed unverified files; record its sha256 in the catalog/);
    }
    expect(result.diagnostics.map((d) => d.message).join("\n")).toMatch(/file model.safetensors of model "siglip-so400m"/);
  });
});
