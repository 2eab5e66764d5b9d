/**
 * The pack as the CLI sees it: GetAnalyzerInfo (names, metadata, config schemas with defaults,
 * resource vs stack policies) and Configure (levels and settings an organization sets by name).
 */
import { describe, expect, it } from "vitest";
import { MANIFEST_ENV } from "../../components/core/contract";
import { reconcileConfig } from "../../gate/policy-config";
import { clone, dockerStack, modelSet, setDockerEnv } from "./support/fixtures";
import { checkStack, configure, messages, usePack } from "./support/pack";
import { POLICY_NAMES } from "./support/policy-names";

const h = usePack({ configure: false });

describe("GetAnalyzerInfo", () => {
  it("describes the pack and its policies by the names users configure", async () => {
    const info = await h.pack.getAnalyzerInfo();
    expect(info.name).toBe("model-cache-contract");
    expect(info.version).toBe("0.1.0");
    expect(info.supportsConfig).toBe(true);
    expect(info.policies.map((p) => p.name)).toEqual(POLICY_NAMES);
    for (const p of info.policies) {
      expect(p.description.length, p.name).toBeGreaterThan(40);
      expect(p.remediationSteps.length, p.name).toBeGreaterThan(40);
      expect(["low", "medium", "high", "critical"]).toContain(p.severity);
      expect(p.enforcementLevel).toBe("mandatory");
    }
  });

  it("lists the four stack-only policies as stack policies, the others as resource policies (with a stack half)", async () => {
    const info = await h.pack.getAnalyzerInfo();
    const stack = info.policies.filter((p) => p.type === "stack").map((p) => p.name);
    expect(stack).toEqual(["consumer-after-downloader", "manifest-coverage", "one-writer", "opaque-resources"]);
    expect(info.policies.filter((p) => p.type === "resource")).toHaveLength(9);
  });

  it("declares every setting in a configSchema with its default", async () => {
    const info = await h.pack.getAnalyzerInfo();
    const schemas = Object.fromEntries(info.policies.filter((p) => p.configSchema).map((p) => [p.name, p.configSchema?.properties]));
    expect(Object.keys(schemas).sort()).toEqual(["consumer-gpu", "measured-memory-limit", "startup-grace"]);
    expect(schemas["consumer-gpu"]?.["cpuMode"]).toMatchObject({ type: "boolean", default: false });
    expect(schemas["measured-memory-limit"]?.["maxHeadroom"]).toMatchObject({ type: "number", default: 1.5, minimum: 1 });
    expect(schemas["measured-memory-limit"]?.["device"]).toMatchObject({ type: "string", default: "auto", enum: ["auto", "cuda", "cpu"] });
    expect(schemas["measured-memory-limit"]?.["runtimeOverheadMiB"]).toMatchObject({ type: "integer", default: 0 });
    expect(schemas["startup-grace"]?.["minStartPeriodSeconds"]).toMatchObject({ type: "integer", default: 0 });
    expect(schemas["startup-grace"]?.["fallbackStartPeriodSeconds"]).toMatchObject({ type: "integer", default: 90 });
    expect(schemas["startup-grace"]?.["catalogFile"]).toMatchObject({ type: "string", default: "" });
    for (const props of Object.values(schemas)) for (const p of Object.values(props ?? {})) expect(p).toHaveProperty("description");
  });

  it("the CLI's reconciled config has every default and refuses invalid settings", async () => {
    const info = await h.pack.getAnalyzerInfo();
    const { config, errors } = reconcileConfig(info, { "pinned-models": "advisory", "startup-grace": { minStartPeriodSeconds: 120 } });
    expect(errors).toEqual([]);
    expect(config["pinned-models"]).toEqual({ enforcementLevel: "advisory", properties: {} });
    expect(config["startup-grace"]).toEqual({
      enforcementLevel: "mandatory",
      properties: { minStartPeriodSeconds: 120, fallbackStartPeriodSeconds: 90, catalogFile: "" },
    });
    expect(config["measured-memory-limit"]?.properties).toEqual({
      maxHeadroom: 1.5,
      device: "auto",
      runtimeOverheadMiB: 0,
      catalogFile: "",
    });
    expect(reconcileConfig(info, { "startup-grace": { minStartPeriodSeconds: -1 } }).errors.join()).toMatch(
      /minStartPeriodSeconds must be ≥ 0/,
    );
    expect(reconcileConfig(info, { "consumer-gpu": { cpuMode: "yes" } }).errors.join()).toMatch(/cpuMode: Invalid type/);
    expect(reconcileConfig(info, { "consumer-gpu": "sometimes" }).errors.join()).toMatch(/not a valid enforcement level/);
  });
});

describe("Configure", () => {
  it("an organization may lower pinned-models to advisory (dev)", async () => {
    const s = clone(dockerStack());
    const manifest = JSON.parse(s.set.manifest.json);
    manifest.models[0].revision = "main";
    setDockerEnv(s.downloader, MANIFEST_ENV, JSON.stringify(manifest));
    // Labels keep the old digest: manifest-coverage also fails; lower both to see the levels.
    await configure(h.pack, { "pinned-models": "advisory", "manifest-coverage": "disabled" });
    const result = await checkStack(h.pack, s.all);
    expect(result.mandatory).toEqual([]);
    expect(result.advisory).toEqual(["pinned-models"]);
    await configure(h.pack, {});
    expect((await checkStack(h.pack, s.all)).mandatory).toEqual(["manifest-coverage", "pinned-models"]);
  });

  it("`all` sets every policy's level", async () => {
    const s = clone(dockerStack());
    delete s.service.props["gpus"];
    await configure(h.pack, { all: "advisory" });
    const result = await checkStack(h.pack, s.all);
    expect(result.mandatory).toEqual([]);
    expect(result.advisory).toEqual(["consumer-gpu"]);
    await configure(h.pack, { all: "disabled" });
    expect((await checkStack(h.pack, s.all)).diagnostics).toEqual([]);
  });

  it("settings change the checks: cpuMode, minStartPeriodSeconds, maxHeadroom, device", async () => {
    const s = clone(dockerStack());
    delete s.service.props["gpus"];
    // Without a GPU, "auto" sizes with the cpu measurements.
    s.service.props["memory"] = Math.round(modelSet(["bge-m3", "yunet"], "cpu").sizing.needMiB * 1.8);
    await configure(h.pack, {});
    let result = await checkStack(h.pack, s.all);
    expect(result.mandatory).toEqual(["consumer-gpu"]);
    expect(result.advisory).toEqual(["measured-memory-limit"]);

    await configure(h.pack, {
      "consumer-gpu": { cpuMode: true },
      "measured-memory-limit": { maxHeadroom: 2, device: "cpu" },
      "startup-grace": { minStartPeriodSeconds: 120 },
    });
    result = await checkStack(h.pack, s.all);
    expect(result.mandatory).toEqual(["startup-grace"]);
    expect(messages(result, "startup-grace").join()).toMatch(/less than the 120 s its models need \(minStartPeriodSeconds, above/);
    expect(result.advisory).toEqual([]);
    await configure(h.pack, {});
  });

  it("a config the CLI would refuse (sent anyway) falls back to the defaults with an advisory", async () => {
    const info = await h.pack.getAnalyzerInfo();
    const { config } = reconcileConfig(info);
    config["startup-grace"] = { enforcementLevel: "mandatory", properties: { minStartPeriodSeconds: "soon" } };
    await h.pack.configure(config);
    const s = clone(dockerStack());
    const result = await checkStack(h.pack, s.all);
    expect(result.mandatory).toEqual([]);
    expect(messages(result, "startup-grace", "advisory").join()).toMatch(/config is invalid .*minStartPeriodSeconds.*using defaults/);
    await configure(h.pack, {});
  });
});
