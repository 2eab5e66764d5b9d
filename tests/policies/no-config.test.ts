/**
 * A pack the CLI never configures (no policy pack config at all, so no Configure call) applies
 * each policy's defaults: the dev stack passes (its consumer declares device cpu); without that
 * label it fails only consumer-gpu.
 */
import { describe, expect, it } from "vitest";
import { LABELS } from "../../components/core/contract";
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

  it("the dev stack passes: its consumer is labelled model-cache.io/device=cpu, as its stack declares", async () => {
    const run = await runStackUnderMocks("dev", () => runProgram() as unknown as Record<string, unknown>, { preview: true });
    const result = await checkStack(h.pack, run.resources.map(toAnalyzerResource));
    expect(result.mandatory).toEqual([]);
  });

  it("the dev stack's service without its device label fails exactly consumer-gpu", async () => {
    const run = await runStackUnderMocks("dev", () => runProgram() as unknown as Record<string, unknown>, { preview: true });
    const resources = run.resources.map(toAnalyzerResource).map((r) => {
      const labels = r.props["labels"] as { label: string; value: string }[] | undefined;
      if (!labels?.some((l) => l.label === LABELS.device)) return r;
      return { ...r, props: { ...r.props, labels: labels.filter((l) => l.label !== LABELS.device) } };
    });
    const result = await checkStack(h.pack, resources);
    expect(result.mandatory).toEqual(["consumer-gpu"]);
    expect(messages(result, "consumer-gpu").join()).toMatch(
      /requests no GPU; set gpus: "all", or, for a CPU-only deployment, label it model-cache\.io\/device=cpu/,
    );
  });
});
