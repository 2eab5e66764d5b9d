import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { mergeCatalog, readCatalogFile } from "../../components/core/catalog";
import { builtinCatalog } from "../../components/core/catalog/index";
import { readStackFile } from "../../gate/stack-file";
import { parseStackConfig } from "../../infra/config";
import { planStack } from "../../infra/plan";
import { runCli, tempDir } from "../downloader/support/cli";
import type { HubFileInfo } from "../downloader/support/hub-server";
import { HubWithApi } from "./support/hub-api";

const COMMIT = "a".repeat(40);
const GATED_COMMIT = "b".repeat(40);
const TOKEN = "hf_registry_test_token";

let hub: HubWithApi;
let files: HubFileInfo[];
let plainUrl: string;
let plainDigest: { sha256: string; size: number };
let dir: { path: string; cleanup: () => Promise<void> };
let catalogPath: string;

beforeAll(async () => {
  hub = await HubWithApi.start();
  files = hub.addRepo("team/encoder", COMMIT, [
    { path: "config.json", data: Buffer.from('{"hidden_size": 8}\n'), lfs: false },
    { path: "tokenizer.json", data: Buffer.from('{"vocab": {}}\n'), lfs: false },
    { path: "1_Pooling/config.json", data: Buffer.from('{"pooling": "mean"}\n'), lfs: false },
    { path: "model.safetensors", data: randomBytes(40_000), lfs: true },
    { path: "onnx/model.onnx", data: randomBytes(20_000), lfs: true },
    { path: "README.md", data: Buffer.from("# encoder\n"), lfs: false },
  ]);
  hub.addRepo("team/gated", GATED_COMMIT, [{ path: "weights.bin", data: randomBytes(1000), lfs: true }], { gatedToken: TOKEN });
  const plain = hub.hub.addPlainFile("small.pt", randomBytes(30_000));
  plainUrl = plain.url;
  plainDigest = { sha256: plain.sha256, size: plain.size };
});
afterAll(() => hub.close());
beforeEach(async () => {
  dir = await tempDir("model-cache-lock-");
  catalogPath = join(dir.path, "catalog.yaml");
  hub.apiRequests.length = 0;
  hub.hub.requests.length = 0;
});
afterEach(() => dir.cleanup());

const meta = `    memory:\n      cpu:\n        hostPeak: { mib: 300, basis: estimate, source: "fp32 weights" }\n        gpu: { mib: 0, basis: estimate, source: "no GPU on cpu" }\n    load:\n      cpu: { seconds: 12, basis: estimate, source: "a similar model" }\n`;

const TEAM_CATALOG = () => `# The team's models. Lock with: npx model-cache lock --catalog catalog.yaml
models:
  # Our sentence encoder, tracked on main until locked.
  - id: team-encoder
    kind: huggingface
    description: the team's encoder
    repo: team/encoder
    revision: main # the branch we follow
    include: ["*.json", "*.safetensors"]
    exclude: ["tokenizer.json"]
${meta}
  # A whisper checkpoint on our own server.
  - id: team-whisper
    kind: whisper
    name: small
    url: ${plainUrl}
    description: >-
      whisper small,
      from our server
${meta}`;

const lock = (...args: string[]) =>
  runCli(["lock", "--backoff", "1", "--retries", "1", ...args], { HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN });

describe("model-cache lock", () => {
  it("resolves the branch to its commit and records the hub's checksums for the matched files, through every tree page, comments kept", async () => {
    writeFileSync(catalogPath, TEAM_CATALOG());
    const result = await lock("--catalog", catalogPath, "--json");
    expect(result.code, result.stderr).toBe(0);

    const text = readFileSync(catalogPath, "utf8");
    for (const comment of [
      "# The team's models. Lock with: npx model-cache lock --catalog catalog.yaml",
      "# Our sentence encoder, tracked on main until locked.",
      "# the branch we follow",
      "# A whisper checkpoint on our own server.",
    ])
      expect(text).toContain(comment);
    // Every line of the original is still there, in order, but the revision's value.
    const lines = text.split("\n");
    let at = 0;
    for (const line of TEAM_CATALOG().replace("revision: main #", `revision: ${COMMIT} #`).split("\n")) {
      at = lines.indexOf(line, at) + 1;
      expect(at, `line ${JSON.stringify(line)} kept`).toBeGreaterThan(0);
    }
    const locked = parse(text).models;
    const info = (path: string) => files.find((f) => f.path === path)!;
    expect(locked[0].revision).toBe(COMMIT);
    expect(locked[0].refs).toEqual(["main"]);
    // *.json matches 1_Pooling/config.json too (fnmatch, as huggingface_hub); tokenizer.json is excluded.
    expect(locked[0].files).toEqual([
      { path: "config.json", size: info("config.json").size, gitSha1: info("config.json").gitSha1 },
      { path: "1_Pooling/config.json", size: info("1_Pooling/config.json").size, gitSha1: info("1_Pooling/config.json").gitSha1 },
      { path: "model.safetensors", size: 40_000, sha256: info("model.safetensors").sha256 },
    ]);
    expect(locked[0].include).toEqual(["*.json", "*.safetensors"]);
    expect(locked[1]).toMatchObject({ sha256: plainDigest.sha256, size: plainDigest.size });
    // The listing took every page the hub announced in its Link headers (8 entries, 3 per page).
    const trees = hub.apiRequests.filter((r) => r.path.includes("/tree/"));
    expect(trees.map((r) => r.path)).toEqual([
      `/api/models/team/encoder/tree/${COMMIT}?recursive=true&expand=true`,
      expect.stringMatching(/cursor=/),
      expect.stringMatching(/cursor=/),
    ]);
    expect(hub.apiRequests[0]!.path).toBe("/api/models/team/encoder/revision/main");
    // The token goes to the hub's API, never to the server the whisper checkpoint came from.
    expect(hub.apiRequests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    const plain = hub.hub.requests.filter((r) => r.path === "/plain/small.pt");
    expect(plain).toHaveLength(1);
    expect(plain[0]!.authorization).toBeUndefined();
    expect(result.json).toMatchObject({ command: "lock", ok: true, written: true });
  });

  it("a locked entry can be enabled, and the real downloader verifies every file against the recorded checksums", async () => {
    writeFileSync(catalogPath, TEAM_CATALOG());
    expect((await lock("--catalog", catalogPath)).code).toBe(0);
    const config = parseStackConfig({
      ...readStackFile("dev").config,
      "model-cache:models": '["team-encoder","team-whisper"]',
      "model-cache:serviceArgs": "[]",
    });
    const plan = planStack(config, mergeCatalog(builtinCatalog(), readCatalogFile(catalogPath)));
    const manifest = join(dir.path, "manifest.json");
    writeFileSync(manifest, plan.manifest.json);
    const cache = join(dir.path, "cache");
    const download = await runCli(["download", "--manifest", manifest, "--cache", cache], { HF_ENDPOINT: hub.endpoint });
    expect(download.code, download.stderr).toBe(0);
    const verify = await runCli(["verify", "--deep", "--manifest", manifest, "--cache", cache]);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it("--check changes nothing and exits 3 while anything is unlocked, 0 once locked, 3 again when the file differs from the hub", async () => {
    writeFileSync(catalogPath, TEAM_CATALOG());
    const before = await lock("--catalog", catalogPath, "--check", "--json");
    expect(before.code).toBe(3);
    expect(readFileSync(catalogPath, "utf8")).toBe(TEAM_CATALOG());
    expect(before.stderr).toMatch(/team-encoder\s+NOT LOCKED\s+revision main → a{40}/);
    expect(before.stderr).toMatch(/team-whisper\s+NOT LOCKED\s+no sha256/);
    // --check never streams a URL.
    expect(hub.hub.requests.filter((r) => r.method === "GET" && r.path === "/plain/small.pt")).toHaveLength(0);

    expect((await lock("--catalog", catalogPath)).code).toBe(0);
    const ok = await lock("--catalog", catalogPath, "--check");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/all 2 entries locked and as the hub says/);

    const edited = readFileSync(catalogPath, "utf8").replace("size: 40000", "size: 40001");
    writeFileSync(catalogPath, edited);
    const differs = await lock("--catalog", catalogPath, "--check", "--json");
    expect(differs.code).toBe(3);
    expect(differs.stderr).toMatch(/model\.safetensors: size 40001 → 40000/);
    expect(readFileSync(catalogPath, "utf8")).toBe(edited);
  });

  it("names the repo, the revision or the pattern that matches nothing (exit 4), and still locks the other entries", async () => {
    const entry = (id: string, repo: string, revision: string, include: string) =>
      `  - id: ${id}\n    kind: huggingface\n    description: x\n    repo: ${repo}\n    revision: ${revision}\n    include: ["${include}"]\n${meta}`;
    writeFileSync(
      catalogPath,
      `models:\n${entry("no-repo", "team/nothing", "main", "*")}${entry("no-rev", "team/encoder", "v9", "*")}${entry("no-match", "team/encoder", "main", "*.gguf")}${entry("good", "team/encoder", "main", "onnx/")}`,
    );
    const result = await lock("--catalog", catalogPath);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(
      /no-repo: HTTP 401 RepoNotFound for team\/nothing at main .*repo "team\/nothing" was not found or needs a token/,
    );
    expect(result.stderr).toMatch(
      /no-rev: HTTP 404 RevisionNotFound for team\/encoder at v9 .*revision "v9" of "team\/encoder" does not exist/,
    );
    expect(result.stderr).toMatch(
      /no-match: no-match \(team\/encoder at main\): include pattern "\*\.gguf" matches no file of the repo at a{40}/,
    );
    const locked = parse(readFileSync(catalogPath, "utf8")).models;
    expect(locked[3].files).toEqual([
      { path: "onnx/model.onnx", size: 20_000, sha256: files.find((f) => f.path === "onnx/model.onnx")!.sha256 },
    ]);
    expect(locked[0].revision).toBe("main");
  });

  it("retries the hub's 5xx and 429 answers as the downloader does, on the revision and on a later tree page", async () => {
    writeFileSync(catalogPath, TEAM_CATALOG());
    hub.failApi("/api/models/team/encoder/revision/", 503);
    hub.failApi("/api/models/team/encoder/tree/", 429, { "retry-after": "0" });
    const result = await lock("--catalog", catalogPath, "team-encoder");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/HTTP 503 .*retry 1\/1/);
    expect(result.stderr).toMatch(/HTTP 429 .*retry 1\/1/);
    expect(parse(readFileSync(catalogPath, "utf8")).models[0].revision).toBe(COMMIT);
    // Out of retries: the error says so and names what was asked.
    hub.failApi("/api/models/team/encoder/revision/", 502);
    hub.failApi("/api/models/team/encoder/revision/", 502);
    const failed = await lock("--catalog", catalogPath, "team-encoder");
    expect(failed.code).toBe(4);
    expect(failed.stderr).toMatch(/team-encoder: team\/encoder at a{40}: HTTP 502 .*\(gave up after 1 retries\)/);
  });

  it("a gated repo needs HF_TOKEN, and the error says so", async () => {
    writeFileSync(
      catalogPath,
      `models:\n  - id: gated\n    kind: huggingface\n    description: x\n    repo: team/gated\n    revision: main\n    include: ["*.bin"]\n${meta}`,
    );
    const without = await runCli(["lock", "--catalog", catalogPath, "--retries", "0"], { HF_ENDPOINT: hub.endpoint });
    expect(without.code).toBe(4);
    expect(without.stderr).toMatch(/HTTP 401 GatedRepo for team\/gated at main .*set HF_TOKEN to a token with read access/);
    expect((await lock("--catalog", catalogPath)).code).toBe(0);
    expect(parse(readFileSync(catalogPath, "utf8")).models[0].revision).toBe(GATED_COMMIT);
  });

  it("a catalog file that does not validate is refused before any request, naming the entry and field (exit 2)", async () => {
    writeFileSync(
      catalogPath,
      `models:\n  - id: bad\n    kind: huggingface\n    description: x\n    repo: nope\n    revision: main\n    include: ["*"]\n${meta}`,
    );
    const result = await lock("--catalog", catalogPath);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/catalog\.yaml: models\[0\] \(id "bad"\): repo: must be 'org\/name'/);
    expect(hub.apiRequests).toHaveLength(0);
  });

  it("--builtin --check reports the built-in entries without checksums (SigLIP); without --check it prints them locked, as a catalog file", async () => {
    const siglip = builtinCatalog().find((e) => e.id === "siglip-so400m")!;
    if (siglip.kind !== "huggingface") throw new Error("siglip is a hub model");
    const specs = siglip.files.map((f) => ({ path: f.path, data: randomBytes(100), lfs: f.path.endsWith(".safetensors") }));
    const served = hub.addRepo(siglip.repo, siglip.revision, specs);
    const check = await lock("--builtin", "--check", "siglip-so400m");
    expect(check.code).toBe(3);
    expect(check.stderr).toMatch(/siglip-so400m\s+NOT LOCKED\s+config\.json: size \(none\) → 100/);

    const printed = await lock("--builtin", "siglip-so400m");
    expect(printed.code, printed.stderr).toBe(0);
    const file = join(dir.path, "siglip.yaml");
    writeFileSync(file, printed.stdout);
    const catalog = mergeCatalog(builtinCatalog(), readCatalogFile(file));
    expect(catalog.replacedBuiltins).toEqual(["siglip-so400m"]);
    const entry = catalog.entries.find((e) => e.id === "siglip-so400m")!;
    expect(entry.kind === "huggingface" && entry.files.find((f) => f.path === "model.safetensors")).toEqual({
      path: "model.safetensors",
      size: 100,
      sha256: served.find((f) => f.path === "model.safetensors")!.sha256,
    });
    // Locked, SigLIP no longer needs allowUnverified.
    const config = parseStackConfig({
      ...readStackFile("dev").config,
      "model-cache:models": '["siglip-so400m"]',
      "model-cache:serviceArgs": "[]",
    });
    expect(planStack(config, catalog).manifest.manifest.allowUnverified).toBeUndefined();
  });
});
