import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { builtinCatalog, filterPaths, mergeCatalog, readCatalogFile } from "../../components/core/catalog";
import { runStackUnderMocks } from "../../gate/run-under-mocks";
import { readStackFile } from "../../gate/stack-file";
import { ConfigError, parseStackConfig } from "../../infra/config";
import { planStack } from "../../infra/plan";
import { loadStackCatalog, runProgram } from "../../infra/program";
import { LOAD_CPU, lockedHubEntry, MEMORY_CPU, type TempProject, tempProject } from "./support/catalog-files";

const dev = readStackFile("dev").config;
let project: TempProject;
beforeEach(() => {
  project = tempProject();
});
afterEach(() => project.cleanup());

const stack = (overrides: Record<string, string>) => parseStackConfig({ ...dev, ...overrides });

describe("the catalog file", () => {
  it("adds the team's locked models to the built-ins; a stack enables them like built-ins", () => {
    const file = project.write("catalog.yaml", { models: [lockedHubEntry("team-encoder")] });
    const config = stack({
      "model-cache:models": '["team-encoder"]',
      "model-cache:catalogFile": file,
      "model-cache:serviceArgs": '["--model-id","{snapshot:team-encoder}"]',
    });
    const plan = planStack(config, loadStackCatalog(config, project.dir));
    expect(plan.serviceArgs[1]).toMatch(/models--team--encoder\/snapshots\/1{40}$/);
    expect(plan.models.map((m) => m.id)).toEqual(["team-encoder"]);
    expect(plan.manifest.manifest.models[0]).toMatchObject({ repo: "team/encoder", revision: "1".repeat(40) });
    expect(plan.manifest.json).not.toMatch(/description|memory|load/);
    expect(plan.catalog.replacedBuiltins).toEqual([]);
    expect(plan.sizing.models[0]).toMatchObject({ id: "team-encoder", hostPeakMiB: 300 });
  });

  it("is read from catalog.yaml when the stack does not name one, and not at all when there is none", () => {
    expect(loadStackCatalog({ catalogFile: "" }, project.dir).file).toBeUndefined();
    project.write("catalog.yaml", { models: [lockedHubEntry("team-encoder")] });
    const catalog = loadStackCatalog({ catalogFile: "" }, project.dir);
    expect(catalog.file).toBe("catalog.yaml");
    expect(catalog.entries.map((e) => e.id)).toContain("team-encoder");
  });

  it("a named file that does not exist is an error naming the key and the file", () => {
    expect(() => loadStackCatalog({ catalogFile: "models/ours.yaml" }, project.dir)).toThrow(
      /model-cache:catalogFile: models\/ours\.yaml: cannot read the catalog file \(ENOENT\)/,
    );
  });

  it("an entry with a built-in's id replaces it, and the stack output says so", async () => {
    const yunet = builtinCatalog().find((e) => e.id === "yunet")!;
    const ours = {
      ...yunet,
      description: "our retrained YuNet",
      url: "https://models.example.internal/yunet.onnx",
      sha256: "4".repeat(64),
    };
    const file = project.write("catalog.yaml", { models: [ours] });
    const catalog = mergeCatalog(builtinCatalog(), readCatalogFile(file, project.dir));
    expect(catalog.replacedBuiltins).toEqual(["yunet"]);
    expect(catalog.entries.filter((e) => e.id === "yunet")).toEqual([expect.objectContaining({ sha256: "4".repeat(64) })]);

    const cwd = process.cwd();
    process.chdir(project.dir);
    try {
      const run = await runStackUnderMocks("dev", () => runProgram() as unknown as Record<string, unknown>, {
        config: { "model-cache:models": '["yunet"]', "model-cache:serviceArgs": "[]", "model-cache:catalogFile": file },
      });
      expect(run.outputs["catalog"]).toEqual({ file: "catalog.yaml", userModels: ["yunet"], replacedBuiltins: ["yunet"] });
    } finally {
      process.chdir(cwd);
    }
  });

  it("errors name the file, the entry (index and id), the field and the fix", () => {
    const bad = [
      lockedHubEntry("fine"),
      lockedHubEntry("bad-memory", { memory: { cpu: { ...MEMORY_CPU.cpu, hostPeak: { mib: -1, basis: "measured", source: "x" } } } }),
      lockedHubEntry("no-load", { load: {} }),
      { ...lockedHubEntry("no-files"), files: undefined },
      lockedHubEntry("bad-sha", { files: [{ path: "a.bin", size: 1, sha256: "xyz" }] }),
    ];
    const digits = project.write(
      "digits.yaml",
      `models:\n  - id: digits\n    kind: file\n    path: a\n    url: https://x/a\n    sha256: ${"1".repeat(64)}\n`,
    );
    expect(() => readCatalogFile(digits, project.dir)).toThrow(/digits\.yaml: models\[0\] \(id "digits"\): sha256: .*; fix: quote it/);
    const file = project.write("ours.yaml", { models: bad });
    let message = "";
    try {
      readCatalogFile(file, project.dir);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/ours\.yaml: models\[1\] \(id "bad-memory"\): memory\.cpu\.hostPeak\.mib: .*; fix: run model-cache measure/);
    expect(message).toMatch(/ours\.yaml: models\[2\] \(id "no-load"\): load\.cpu: give the load time on cpu .*model-cache measure/);
    expect(message).toMatch(
      /ours\.yaml: models\[3\] \(id "no-files"\): files: list the files, or give include patterns .* run model-cache lock/,
    );
    expect(message).toMatch(
      /ours\.yaml: models\[4\] \(id "bad-sha"\): files\.0\.sha256: must be a 64-character .*; fix: remove it and run model-cache lock/,
    );
    expect(message).not.toMatch(/"fine"/);
  });

  it("names YAML syntax errors and a file without a models list", () => {
    const broken = project.write("broken.yaml", "models:\n  - id: x\n   kind: file\n");
    expect(() => readCatalogFile(broken, project.dir)).toThrow(/broken\.yaml: not valid YAML/);
    const flat = project.write("flat.yaml", "- id: x\n");
    expect(() => readCatalogFile(flat, project.dir)).toThrow(/flat\.yaml: .*must be a map with a "models:" list/);
  });

  it("allows patterns and a branch until locked; enabling such an entry says to run model-cache lock", () => {
    const unlocked = {
      ...lockedHubEntry("team-encoder"),
      revision: "main",
      files: undefined,
      include: ["*.json", "*.safetensors"],
    };
    const whisper = {
      id: "team-whisper",
      kind: "whisper",
      name: "small",
      url: "https://models.example.internal/small.pt",
      description: "whisper small, not hashed yet",
      memory: MEMORY_CPU,
      load: LOAD_CPU,
    };
    const file = project.write("catalog.yaml", { models: [unlocked, whisper] });
    const config = stack({ "model-cache:models": '["all-minilm-l6-v2"]' });
    // Unlocked entries nobody enables do not stop a stack.
    expect(planStack(config, loadStackCatalog(config, project.dir)).models.map((m) => m.id)).toEqual(["all-minilm-l6-v2"]);

    const enabling = stack({ "model-cache:models": '["all-minilm-l6-v2","team-encoder","team-whisper"]', "model-cache:serviceArgs": "[]" });
    const attempt = () => planStack(enabling, loadStackCatalog(enabling, project.dir));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(
      /model-cache:models\[1\]: "team-encoder" \(catalog\.yaml models\[0\]\) is not locked: revision "main" is a branch or tag, not a 40-hex commit; its files are given as patterns \(\*\.json, \*\.safetensors\); run: npx model-cache lock --catalog catalog\.yaml/,
    );
    expect(attempt).toThrow(
      /model-cache:models\[2\]: "team-whisper" \(catalog\.yaml models\[1\]\) is not locked: no size; no sha256; run: npx model-cache lock/,
    );
    void file;
  });

  it("matches include/exclude patterns as huggingface_hub's allow_patterns do (fnmatch: * crosses /)", () => {
    const paths = ["config.json", "1_Pooling/config.json", "onnx/model.onnx", "onnx/model_q4.onnx", "model.safetensors", "README.md"];
    expect(filterPaths(paths, ["*.json"])).toEqual(["config.json", "1_Pooling/config.json"]);
    expect(filterPaths(paths, ["onnx/"], ["*_q4.onnx"])).toEqual(["onnx/model.onnx"]);
    expect(filterPaths(paths, ["model.[sz]afetensors", "READ?E.md"])).toEqual(["model.safetensors", "README.md"]);
    expect(filterPaths(paths, undefined, ["*.md", "onnx/*"])).toEqual(["config.json", "1_Pooling/config.json", "model.safetensors"]);
  });
});
