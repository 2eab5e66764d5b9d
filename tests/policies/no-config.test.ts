/**
 * A pack the CLI never configures (no policy pack config at all, so no Configure call) applies
 * each policy's defaults: the dev stack, a CPU stack, then fails only consumer-gpu.
 */
import { describe, expect, it } from "vitest";
import { toAnalyzerResource } from "../../gate/policy-run";
import { runStackUnderMocks } from "../../gate/run-under-mocks";
import { runProgram } from "../../infra/program";
import { dockerStack, ecsStack, kubernetesStack } from "./support/fixtures";
import { checkStack, messages, usePack } from "./support/pack";

const h = usePack({ configure: false });

describe("without any config", () => {
  it("compliant GPU stacks of every family pass", async () => {
    for (const make of [dockerStack, kubernetesStack, ecsStack]) {
      expect((await checkStack(h.pack, make().all)).diagnostics).toEqual([]);
    }
  });

  it("the dev stack fails exactly consumer-gpu: CPU mode is the pack's config, not the stack's", async () => {
    const run = await runStackUnderMocks("dev", () => runProgram() as unknown as Record<string, unknown>, { preview: true });
    const result = await checkStack(h.pack, run.resources.map(toAnalyzerResource));
    expect(result.mandatory).toEqual(["consumer-gpu"]);
    expect(messages(result, "consumer-gpu").join()).toMatch(/set consumer-gpu's cpuMode: true for a CPU-only stack/);
  });
});
