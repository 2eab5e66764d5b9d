import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeFilesystemError, toCliError } from "../../downloader/src/errors.js";
import { EXIT } from "../../downloader/src/exit-codes.js";
import { runCli, tempDir } from "./support/cli.js";
import { COMMIT } from "./support/fixtures.js";

let dir: { path: string; cleanup: () => Promise<void> };
let cache: string;

beforeEach(async () => {
  dir = await tempDir();
  cache = join(dir.path, "cache");
});
afterEach(() => dir.cleanup());

async function withManifest(content: string): Promise<string> {
  const file = join(dir.path, "manifest.json");
  await writeFile(file, content);
  return file;
}

describe("bad input: a clear message and a non-zero exit", () => {
  it("no manifest at all: exit 2 naming --manifest and MODEL_CACHE_MANIFEST", async () => {
    const result = await runCli(["download", "--cache", cache]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("pass --manifest FILE");
    expect(result.stderr).toContain("MODEL_CACHE_MANIFEST");
  });

  it("a manifest file that does not exist: exit 2", async () => {
    const result = await runCli(["verify", "--manifest", join(dir.path, "nope.json"), "--cache", cache]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("cannot read the manifest file");
  });

  it("malformed JSON: exit 2", async () => {
    const result = await runCli(["download", "-m", await withManifest("{ not json"), "-c", cache, "--json"]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("is not valid JSON");
    expect(result.json?.ok).toBe(false);
    expect(result.json?.error).toContain("is not valid JSON");
  });

  it("schema errors name the field and the model", async () => {
    const manifest = {
      version: 1,
      models: [{ id: "bge-m3", kind: "huggingface", repo: "BAAI/bge-m3", revision: "main", files: [{ path: "a.bin", sha256: "xyz" }] }],
    };
    const result = await runCli(["download", "-m", await withManifest(JSON.stringify(manifest)), "-c", cache]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('models[0].revision (model "bge-m3"): must be a full 40-character lower-case hex commit sha');
    expect(result.stderr).toContain('models[0].files[0].sha256 (model "bge-m3"): must be a 64-character lower-case hex sha256');
  });

  it("an unknown model kind is named with the kinds that exist", async () => {
    const manifest = { version: 1, models: [{ id: "llama", kind: "gguf", url: "https://example.invalid/x.gguf" }] };
    const result = await runCli(["download", "-m", await withManifest(JSON.stringify(manifest)), "-c", cache]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(
      'models[0].kind (model "llama"): unknown model kind "gguf"; expected one of "huggingface", "whisper", "file"',
    );
  });

  it("a file without any checksum is refused unless allowUnverified", async () => {
    const manifest = {
      version: 1,
      models: [{ id: "m", kind: "huggingface", repo: "a/b", revision: COMMIT, files: [{ path: "config.json" }] }],
    };
    const result = await runCli(["download", "-m", await withManifest(JSON.stringify(manifest)), "-c", cache]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("has no checksum");
  });

  it("bad flags and environment: exit 2 naming them", async () => {
    const file = await withManifest(JSON.stringify({ version: 1, models: [] }));
    expect((await runCli(["download", "-m", file, "-c", cache, "--concurrency", "0"])).stderr).toContain("--concurrency");
    const env = await runCli(["download", "-m", file, "-c", cache], { HF_ENDPOINT: "not a url" });
    expect(env.code).toBe(EXIT.usage);
    expect(env.stderr).toContain("HF_ENDPOINT");
    expect((await runCli(["frobnicate"])).code).toBe(EXIT.usage);
    expect((await runCli(["download", "-m", file])).stderr).toContain("pass --cache DIR or set HF_HUB_CACHE");
  });

  it("an empty manifest is complete", async () => {
    const file = await withManifest(JSON.stringify({ version: 1, models: [] }));
    expect((await runCli(["download", "-m", file, "-c", cache])).code).toBe(EXIT.ok);
    expect((await runCli(["verify", "-m", file, "-c", cache])).code).toBe(EXIT.ok);
  });
});

describe("filesystem errors map to exit 6 with what to do", () => {
  it.each([
    ["ENOSPC", "no space left"],
    ["EDQUOT", "quota"],
    ["EROFS", "read-only file system"],
    ["EACCES", "permission denied"],
  ])("%s", (code, text) => {
    const error = Object.assign(new Error(`${code}: oops`), { code, path: "/app/models/.cache/x" });
    expect(describeFilesystemError(error)).toContain(text);
    const failure = toCliError(error);
    expect(failure.exitCode).toBe(EXIT.filesystem);
    expect(failure.message).toContain("/app/models/.cache/x");
  });
});
