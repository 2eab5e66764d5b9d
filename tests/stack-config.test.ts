import { describe, expect, it } from "vitest";
import { builtinCatalog } from "../components/core/catalog";
import { runStackUnderMocks } from "../gate/run-under-mocks";
import { readStackFile } from "../gate/stack-file";
import { ConfigError, parseStackConfig } from "../infra/config";
import { planStack } from "../infra/plan";
import { runProgram } from "../infra/program";

const dev = readStackFile("dev").config;
const withConfig = (overrides: Record<string, string>) => ({ ...dev, ...overrides });
const plan = (overrides: Record<string, string>) => planStack(parseStackConfig(withConfig(overrides)));
const minilm = builtinCatalog().find((e) => e.id === "all-minilm-l6-v2")!;

describe("stack config errors name the key, the bad value and the fix", () => {
  it("unknown model id", () => {
    expect(() => plan({ "model-cache:models": '["all-minilm-l6-v3"]' })).toThrow(
      /model-cache:models\[0\]: unknown model id "all-minilm-l6-v3" \(did you mean "all-minilm-l6-v2"\?\); known ids: .*whisper-medium/,
    );
  });

  it("duplicate model id, also when one of them is pinned", () => {
    expect(() => plan({ "model-cache:models": `["all-minilm-l6-v2","all-minilm-l6-v2@${"a".repeat(40)}"]` })).toThrow(
      /model-cache:models\[1\]: duplicate model id "all-minilm-l6-v2" \(already enabled at model-cache:models\[0\]\); remove one of them/,
    );
  });

  it("a revision that is not a 40-hex commit", () => {
    expect(() => plan({ "model-cache:models": '["all-minilm-l6-v2@main"]' })).toThrow(
      new RegExp(
        `model-cache:models\\[0\\]: revision "main" of "all-minilm-l6-v2" is not a 40-hex commit sha; pin the full commit \\(e\\.g\\. "all-minilm-l6-v2@${minilm.kind === "huggingface" ? minilm.revision : ""}"\\)`,
      ),
    );
    expect(() => plan({ "model-cache:models": '["yunet@0123456789012345678901234567890123456789"]' })).toThrow(
      /"yunet" is a file model and has no revision/,
    );
  });

  it("a pinned commit replaces the catalog's and changes the manifest digest", () => {
    const other = "0".repeat(40);
    const pinned = plan({ "model-cache:models": `["all-minilm-l6-v2@${other}"]` });
    const base = plan({});
    expect(pinned.manifest.manifest.models[0]).toMatchObject({ revision: other });
    expect(pinned.manifest.digest).not.toBe(base.manifest.digest);
  });

  it("headroom outside [1.0, 2.0]", () => {
    for (const bad of ["2.5", "0.9", "lots"]) {
      expect(() => parseStackConfig(withConfig({ "model-cache:headroom": bad }))).toThrow(
        new RegExp(`model-cache:headroom: .*\\(got "${bad}"\\); fix: pulumi config set model-cache:headroom 1.25`),
      );
    }
    expect(parseStackConfig(withConfig({ "model-cache:headroom": "2" })).headroom).toBe(2);
  });

  it("unknown keys, bad enums and bad numbers", () => {
    expect(() => parseStackConfig(withConfig({ "model-cache:modles": "[]" }))).toThrow(/model-cache:modles: unknown key; remove it/);
    expect(() => parseStackConfig(withConfig({ "model-cache:device": "tpu" }))).toThrow(
      /model-cache:device: .*\(got "tpu"\); fix: pulumi config set model-cache:device cuda/,
    );
    expect(() => parseStackConfig(withConfig({ "model-cache:hostPort": "99999" }))).toThrow(/model-cache:hostPort: .*\(got "99999"\)/);
    expect(() => parseStackConfig(withConfig({ "model-cache:models": "[]" }))).toThrow(/model-cache:models: enable at least one model/);
  });

  it("other namespaces are left alone", () => {
    expect(() => parseStackConfig(withConfig({ "docker:host": "unix:///var/run/docker.sock" }))).not.toThrow();
  });

  it("a model without checksums needs allowUnverified", () => {
    expect(() => plan({ "model-cache:models": '["siglip-so400m"]', "model-cache:serviceArgs": "[]" })).toThrow(
      /model-cache:models: "siglip-so400m" has no checksum for config.json in the catalog; add its sha256 to the catalog, or set allowUnverified: true/,
    );
    const allowed = plan({
      "model-cache:models": '["siglip-so400m"]',
      "model-cache:serviceArgs": "[]",
      "model-cache:allowUnverified": "true",
    });
    expect(allowed.manifest.manifest.allowUnverified).toBe(true);
  });

  it("GPU memory that cannot hold the models", () => {
    expect(() =>
      plan({ "model-cache:models": '["whisper-medium","bge-m3"]', "model-cache:device": "cuda", "model-cache:gpuMemoryMiB": "2048" }),
    ).toThrow(/need 4008 MiB of GPU memory .* but gpuMemoryMiB is 2048/);
  });

  it("service env may not override the contract or carry a hub token", () => {
    expect(() => plan({ "model-cache:serviceEnv": '["HF_HUB_OFFLINE=0"]' })).toThrow(
      /model-cache:serviceEnv\[0\]: HF_HUB_OFFLINE is set by the cache contract/,
    );
    expect(() => plan({ "model-cache:serviceEnv": '["LOG=1","HF_TOKEN=x"]' })).toThrow(/model-cache:serviceEnv\[1\]: HF_TOKEN/);
    expect(plan({ "model-cache:serviceEnv": '["RUST_LOG=info"]' }).serviceEnv["RUST_LOG"]).toBe("info");
  });

  it("service args may only name enabled models", () => {
    expect(() => plan({ "model-cache:serviceArgs": '["{snapshot:bge-m3}"]' })).toThrow(
      /model-cache:serviceArgs\[0\]: \{snapshot:bge-m3\} names model "bge-m3", which this stack does not enable/,
    );
    expect(() => plan({ "model-cache:serviceArgs": '["{model:all-minilm-l6-v2}"]' })).toThrow(
      /unknown placeholder \{model:all-minilm-l6-v2\}/,
    );
  });

  it("catalogFile must be a YAML file; startPeriodSeconds 0 (the default) derives the start period", () => {
    expect(() => parseStackConfig(withConfig({ "model-cache:catalogFile": "models.json" }))).toThrow(
      /model-cache:catalogFile: must be a \.yaml or \.yml file .*\(got "models\.json"\); fix: pulumi config set model-cache:catalogFile catalog\.yaml/,
    );
    const { "model-cache:startPeriodSeconds": _set, ...unset } = dev;
    expect(parseStackConfig(unset).startPeriodSeconds).toBe(0);
    expect(planStack(parseStackConfig(unset)).startPeriod.source).toBe("derived");
    expect(() => parseStackConfig(withConfig({ "model-cache:startPeriodSeconds": "-5" }))).toThrow(
      /model-cache:startPeriodSeconds: .*fix: pulumi config rm model-cache:startPeriodSeconds/,
    );
  });

  it("a bad stack creates no resource at all", async () => {
    const result = runStackUnderMocks("dev", () => runProgram() as unknown as Record<string, unknown>, {
      config: { "model-cache:headroom": "3" },
    });
    await expect(result).rejects.toThrow(ConfigError);
    const registered = await result.catch((err: { resources?: { type: string }[] }) => err.resources ?? []);
    expect((registered as { type: string }[]).map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
  });
});
