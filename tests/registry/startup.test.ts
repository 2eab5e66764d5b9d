import { describe, expect, it } from "vitest";
import { builtinCatalog } from "../../components/core/catalog";
import { deriveStartPeriod, STARTUP_HEADROOM, STARTUP_MARGIN_SECONDS, StartupError, startPeriodFor } from "../../components/core/startup";
import { runStackUnderMocks } from "../../gate/run-under-mocks";
import { readStackFile } from "../../gate/stack-file";
import { parseStackConfig } from "../../infra/config";
import { planStack } from "../../infra/plan";
import { runProgram } from "../../infra/program";

const pick = (...ids: string[]) => ids.map((id) => builtinCatalog().find((e) => e.id === id)!);

describe("the start period, derived from load times", () => {
  it("the seed's case: Whisper medium loads in 117 s, so the seed's 90 s start period counted failures while it loaded", () => {
    const derived = deriveStartPeriod({ models: pick("whisper-medium"), device: "cuda" });
    expect(derived.models).toEqual([expect.objectContaining({ id: "whisper-medium", seconds: 117.08, basis: "measured" })]);
    expect(derived.models[0]!.source).toMatch(/Loaded in 117\.08s/);
    // 117.08 × 1.25 + 30 = 176.35 → 177 s
    expect(derived.derivedSeconds).toBe(Math.ceil(117.08 * STARTUP_HEADROOM + STARTUP_MARGIN_SECONDS));
    expect(derived.derivedSeconds).toBe(177);
    expect(derived.seconds).toBe(177);
    expect(derived.source).toBe("derived");

    const seed = deriveStartPeriod({ models: pick("whisper-medium"), device: "cuda", overrideSeconds: 90 });
    expect(seed.seconds).toBe(90);
    expect(seed.source).toBe("stack config startPeriodSeconds");
    // The stack's own number wins, and the breakdown shows it is short of the load itself.
    expect(seed.seconds).toBeLessThan(seed.loadSeconds);
    expect(seed.derivedSeconds).toBe(177);
  });

  it("sums the enabled models' load seconds on the device", () => {
    const prod = deriveStartPeriod({ models: pick("whisper-medium", "siglip-so400m", "bge-m3", "yunet"), device: "cuda" });
    expect(prod.loadSeconds).toBe(117.08 + 4.02 + 20 + 1);
    expect(prod.derivedSeconds).toBe(Math.ceil((117.08 + 4.02 + 20 + 1) * 1.25 + 30));
    const cpu = deriveStartPeriod({ models: pick("all-minilm-l6-v2"), device: "cpu" });
    expect(cpu.derivedSeconds).toBe(Math.ceil(5 * 1.25 + 30));
  });

  it("refuses a model without a load time for the device", () => {
    const gpuOnly = { id: "gpu-only", load: { cuda: { seconds: 3, basis: "measured" as const, source: "x" } } };
    expect(() => deriveStartPeriod({ models: [gpuOnly], device: "cpu" })).toThrow(StartupError);
    expect(() => deriveStartPeriod({ models: [gpuOnly], device: "cpu" })).toThrow(/"gpu-only" has no load time for device "cpu"/);
  });

  it("what the startup-grace policy holds a consumer to: the derived period for its manifest's models", () => {
    const prod = startPeriodFor(["whisper-medium", "siglip-so400m", "bge-m3", "yunet"], "cuda", builtinCatalog());
    expect(typeof prod !== "string" && prod.seconds).toBe(Math.ceil(142.1 * 1.25 + 30));
    expect(startPeriodFor(["whisper-medium", "team-model"], "cuda", builtinCatalog())).toMatch(/"team-model" not in the catalog/);
  });

  it("the plan derives it unless the stack sets startPeriodSeconds; the stack output shows the breakdown", async () => {
    const dev = readStackFile("dev").config;
    const derived = planStack(parseStackConfig({ ...dev, "model-cache:startPeriodSeconds": "0" }));
    expect(derived.startPeriod).toMatchObject({ seconds: 37, source: "derived", loadSeconds: 5, device: "cpu" });
    const set = planStack(parseStackConfig({ ...dev, "model-cache:startPeriodSeconds": "120" }));
    expect(set.startPeriod).toMatchObject({ seconds: 120, derivedSeconds: 37, source: "stack config startPeriodSeconds" });

    const run = await runStackUnderMocks("dev", () => runProgram() as unknown as Record<string, unknown>, {
      config: { "model-cache:startPeriodSeconds": "0" },
    });
    expect(run.outputs["startPeriod"]).toMatchObject({
      seconds: 37,
      derivedSeconds: 37,
      headroom: 1.25,
      marginSeconds: 30,
      models: [{ id: "all-minilm-l6-v2", seconds: 5, basis: "estimate" }],
    });
    // The number the plan gives the target is the one the service's healthcheck gets.
    const service = run.resources.find((r) => r.type === "docker:index/container:Container" && r.name.endsWith("-service"))!;
    expect((service.props["healthcheck"] as { startPeriod: string }).startPeriod).toBe("37s");
  });
});
