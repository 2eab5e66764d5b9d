import { lstat, readdir, readFile, readlink, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { hubRepoFolder } from "../../components/core/contract.js";
import { CACHEDIR_TAG_CONTENT } from "../../downloader/src/layout.js";
import { runCli } from "./support/cli.js";
import { COMMIT, type Fixture, REPO } from "./support/fixtures.js";
import type { FakeHub } from "./support/hub-server.js";
import { useHubSession } from "./support/session.js";

const session = useHubSession();
let hub: FakeHub;
let fixture: Fixture;
let cache: string;
let manifestFile: string;
let env: Record<string, string>;

beforeEach(async () => {
  ({ hub, fixture, cache, manifestFile, env } = session);
});

/** What huggingface_hub does offline for hf_hub_download(repo, file): refs/<rev> → snapshots/<commit>/<file>, following the link. */
async function offlineResolve(root: string, repo: string, file: string, revision = "main"): Promise<Buffer> {
  const storage = join(root, hubRepoFolder(repo));
  const commit = await readFile(join(storage, "refs", revision), "utf8");
  return readFile(join(storage, "snapshots", commit, ...file.split("/")));
}

describe("download: the layout huggingface_hub reads offline", () => {
  it("writes blobs named by etag, relative snapshot links, refs, CACHEDIR.TAG, whisper and plain files", async () => {
    const result = await runCli(["download", "--manifest", manifestFile, "--cache", cache, "--json"], env);
    expect(result.stderr).toContain("model-cache download: OK");
    expect(result.code).toBe(0);
    expect(result.json?.ok).toBe(true);
    expect(result.json?.models.map((m) => [m.id, m.status, m.verified])).toEqual([
      ["tiny-model", "downloaded", true],
      ["whisper-tiny", "downloaded", true],
      ["yunet", "downloaded", true],
    ]);

    const storage = join(cache, hubRepoFolder(REPO));
    const blobs = (await readdir(join(storage, "blobs"))).sort();
    const { files } = fixture;
    // LFS file: its sha256; git-stored files: their git blob sha1 (the hub's etags).
    expect(blobs).toEqual(
      [files["model.safetensors"]!.sha256, files["config.json"]!.gitSha1, files["tokenizer/vocab.txt"]!.gitSha1].sort(),
    );
    expect(await readlink(join(storage, "snapshots", COMMIT, "config.json"))).toBe(`../../blobs/${files["config.json"]!.gitSha1}`);
    expect(await readlink(join(storage, "snapshots", COMMIT, "tokenizer", "vocab.txt"))).toBe(
      `../../../blobs/${files["tokenizer/vocab.txt"]!.gitSha1}`,
    );
    expect(await readlink(join(storage, "snapshots", COMMIT, "model.safetensors"))).toBe(
      `../../blobs/${files["model.safetensors"]!.sha256}`,
    );
    // The bare commit, no trailing newline.
    expect(await readFile(join(storage, "refs", "main"), "utf8")).toBe(COMMIT);
    expect(await readFile(join(cache, "CACHEDIR.TAG"), "utf8")).toBe(CACHEDIR_TAG_CONTENT);
    // Never a partial tree listing: this downloader writes none, and never asks the tree API.
    await expect(stat(join(storage, "trees"))).rejects.toThrow();
    expect(hub.requests.filter((r) => r.path.startsWith("/api/"))).toEqual([]);
    // One HEAD per file whose blob name the manifest does not give (config.json: sha256 only;
    // model.safetensors: an LFS sha256 still needs the hub to say it is LFS); none for vocab.txt (gitSha1).
    expect(hub.requests.filter((r) => r.method === "HEAD").map((r) => r.path.split("/").pop())).toEqual(
      expect.arrayContaining(["config.json", "model.safetensors"]),
    );
    expect(hub.requests.filter((r) => r.method === "HEAD" && r.path.endsWith("vocab.txt"))).toEqual([]);

    for (const path of ["config.json", "tokenizer/vocab.txt", "model.safetensors"]) {
      expect((await offlineResolve(cache, REPO, path)).equals(fixture.data[path]!)).toBe(true);
      expect(await realpath(join(storage, "snapshots", COMMIT, path))).toBe(await realpath(join(storage, "blobs", files[path]!.etag)));
    }
    expect((await readFile(join(cache, "whisper", "tiny.pt"))).equals(fixture.data.whisper!)).toBe(true);
    expect((await readFile(join(cache, "face_detection_yunet.onnx"))).equals(fixture.data.plain!)).toBe(true);

    // No partial bytes left anywhere.
    const all = await readdir(cache, { recursive: true });
    expect(all.filter((p) => String(p).endsWith(".incomplete"))).toEqual([]);
    // Blobs are readable by any uid (consumers may run as another user).
    expect((await lstat(join(storage, "blobs", files["model.safetensors"]!.sha256))).mode & 0o444).toBe(0o444);
  });

  it("a warm run makes no request and verify passes fast and deep", async () => {
    expect((await runCli(["download", "-m", manifestFile, "-c", cache], env)).code).toBe(0);
    hub.requests.length = 0;

    // How fast it is, is the bench's business (npm run bench:downloader); here: no request, nothing fetched.
    const warm = await runCli(["download", "-m", manifestFile, "-c", cache, "--json"], env);
    expect(warm.code).toBe(0);
    expect(hub.requests).toEqual([]);
    expect(warm.json?.models.every((m) => m.status === "ok" && m.fetchedBytes === 0)).toBe(true);

    const fast = await runCli(["verify", "-m", manifestFile, "-c", cache, "--json"], env);
    expect(fast.code).toBe(0);
    const deep = await runCli(["verify", "--deep", "-m", manifestFile, "-c", cache], env);
    expect(deep.code).toBe(0);
    expect(deep.stderr).toContain("every byte re-hashed");
    expect(hub.requests).toEqual([]);
  });

  it("reads the manifest from MODEL_CACHE_MANIFEST and the cache from HF_HUB_CACHE", async () => {
    const result = await runCli(["download"], { ...env, MODEL_CACHE_MANIFEST: JSON.stringify(fixture.manifest), HF_HUB_CACHE: cache });
    expect(result.code).toBe(0);
    expect((await offlineResolve(cache, REPO, "config.json")).equals(fixture.data["config.json"]!)).toBe(true);
  });

  it("reads the manifest from stdin with --manifest -", async () => {
    const result = await runCli(["verify", "--manifest", "-", "--cache", cache, "--json"], env, JSON.stringify(fixture.manifest));
    expect(result.code).toBe(3);
    expect(result.json?.models[0]?.problems?.[0]?.state).toBe("missing");
  });
});
