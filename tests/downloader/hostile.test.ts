/**
 * Issue 11: hostile manifests and tampered caches. Nothing outside the cache is ever written or
 * deleted, a link is never trusted, an in-place edit is caught, and ambiguous manifests are refused.
 */
import { execFileSync } from "node:child_process";
import { cp, mkdir, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { join, resolve as resolvePath } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { hubRepoFolder } from "../../components/core/contract.js";
import type { Manifest } from "../../components/core/manifest.js";
import { EXIT } from "../../downloader/src/exit-codes.js";
import { runCli } from "./support/cli.js";
import { bytes, COMMIT, type Fixture, REPO } from "./support/fixtures.js";
import { digestsOf, type FakeHub } from "./support/hub-server.js";
import { type HubSession, useHubSession } from "./support/session.js";

const session = useHubSession();
let hub: FakeHub;
let fixture: Fixture;
let dir: HubSession["dir"];
let cache: string;
let manifestFile: string;
let env: Record<string, string>;
/** A folder beside the cache: nothing in it may ever change. */
let outside: string;

beforeEach(async () => {
  ({ hub, fixture, dir, cache, manifestFile, env } = session);
  outside = join(dir.path, "outside");
  await mkdir(outside, { recursive: true });
});

const storage = () => join(cache, hubRepoFolder(REPO));
const run = (command: string, ...extra: string[]) => runCli([command, "-m", manifestFile, "-c", cache, "--json", ...extra], env);
const withManifest = async (manifest: unknown) => writeFile(manifestFile, JSON.stringify(manifest));
const hubModel = (): Extract<Manifest["models"][number], { kind: "huggingface" }> => {
  const model = structuredClone(fixture.manifest.models[0]!);
  if (model.kind !== "huggingface") throw new Error("fixture changed");
  return model;
};
const whisperModel = () => structuredClone(fixture.manifest.models[1]!);
const plainModel = () => structuredClone(fixture.manifest.models[2]!) as Extract<Manifest["models"][number], { kind: "file" }>;

/** Every file below `root` with its content: to show a folder did not change. */
async function snapshotTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out[path.slice(root.length)] = (await readFile(path)).toString("base64");
    }
  }
  return out;
}

/** Where a ref that climbs out of refs/ would land: outside the cache, named for this run only. */
const ESCAPING_REF = `../../../../model-cache-escape-${process.pid}-${Date.now()}`;

describe("manifest names that would become paths outside their folder are refused (exit 2)", () => {
  it.each([
    ["a ref climbing out of refs/", { refs: [ESCAPING_REF] }, "models[0].refs[0]"],
    ["a ref onto a blob", { refs: [`../blobs/${"a".repeat(64)}`] }, "models[0].refs[0]"],
    ["a repo with ..", { repo: "acme/x..y" }, "models[0].repo"],
    ["a file path with NUL", { files: [{ path: "a\u0000b", sha256: "a".repeat(64) }] }, "models[0].files[0].path"],
    ["a file path with CR/LF", { files: [{ path: "a\r\nb", sha256: "a".repeat(64) }] }, "models[0].files[0].path"],
  ])("%s", async (_what, change, field) => {
    await withManifest({ version: 1, models: [{ ...hubModel(), ...change }] });
    const result = await run("download");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(field);
    expect(hub.requests).toEqual([]);
    await expect(stat(cache)).rejects.toThrow();
    await expect(stat(resolvePath(cache, hubRepoFolder(REPO), "refs", ESCAPING_REF))).rejects.toThrow();
  });

  it.each([
    ["inside a hub repo folder", `${hubRepoFolder(REPO)}/blobs/${"a".repeat(64)}`, "is where huggingface_hub keeps a hub repo"],
    ["inside whisper/", "whisper/tiny.pt", "holds the whisper models"],
    ["inside the downloader's state", ".model-cache/verified/files/x.json", "belongs to the cache itself"],
  ])("a file model %s", async (_what, path, reason) => {
    await withManifest({ version: 1, models: [{ ...plainModel(), path }] });
    const result = await run("download");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("models[0].path");
    expect(result.stderr).toContain(reason);
  });

  it("a whisper name that is not a plain name", async () => {
    await withManifest({ version: 1, models: [{ ...whisperModel(), name: ".." }] });
    const result = await run("download");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("models[0].name");
  });
});

describe("manifests that would never settle are refused, naming both entries (exit 2)", () => {
  it("two repos that map to one cache folder", async () => {
    const a = { ...hubModel(), id: "a", repo: "acme--x/model" };
    const b = { ...hubModel(), id: "b", repo: "acme/x--model" };
    await withManifest({ version: 1, models: [a, b] });
    const result = await run("verify");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(
      /models\[1\]\.repo \(model "b"\): "acme\/x--model" and "acme--x\/model" of models\[0\] \(model "a"\) share the cache folder models--acme--x--model/,
    );
  });

  it("one ref wanted at two commits", async () => {
    const a = { ...hubModel(), id: "a" };
    const b = { ...hubModel(), id: "b", revision: "f".repeat(40) };
    await withManifest({ version: 1, models: [a, b] });
    const result = await run("download");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(
      `models[1].refs (model "b"): refs/main of ${REPO} cannot hold both ${"f".repeat(40)} and ${COMMIT} of models[0] (model "a")`,
    );
  });

  it("one plain path with two contents, and a file where another needs a folder", async () => {
    const a = { ...plainModel(), id: "a", path: "x/model.onnx" };
    const b = { ...plainModel(), id: "b", path: "x/model.onnx", sha256: "b".repeat(64) };
    const c = { ...plainModel(), id: "c", path: "x" };
    await withManifest({ version: 1, models: [a, b, c] });
    const result = await run("download");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(
      `models[1].path (model "b"): "x/model.onnx" is also written by models[0] (model "a") with other content`,
    );
    expect(result.stderr).toContain(`models[2].path (model "c"): "x" is a folder of a file of models[0] (model "a")`);
  });

  it("the same sha256 at two paths is no ambiguity: both are fetched and verify", async () => {
    const a = { ...plainModel(), id: "a", path: "one/yunet.onnx" };
    const b = { ...plainModel(), id: "b", path: "two/yunet.onnx" };
    await withManifest({ version: 1, models: [a, b] });
    const result = await run("download");
    expect(result.code, result.stderr).toBe(EXIT.ok);
    for (const path of ["one/yunet.onnx", "two/yunet.onnx"]) {
      expect((await readFile(join(cache, path))).equals(fixture.data.plain!)).toBe(true);
    }
    expect((await run("verify", "--deep")).code).toBe(EXIT.ok);
  });
});

describe("links are resolved: what a consumer reads is what is checked", () => {
  beforeEach(async () => {
    expect((await run("download")).code).toBe(EXIT.ok);
  });

  it("snapshots/ replaced by a link to a look-alike tree outside: verify and --deep fail, download refuses to write through it", async () => {
    // The look-alike: the same relative links, to other bytes.
    const fake = join(outside, "fake-repo");
    await cp(storage(), fake, { recursive: true, verbatimSymlinks: true });
    const fakeBlob = join(fake, "blobs", fixture.files["model.safetensors"]!.sha256);
    await writeFile(fakeBlob, bytes(fixture.data["model.safetensors"]!.length, "evil"));
    await rm(join(storage(), "snapshots"), { recursive: true });
    await symlink(join(fake, "snapshots"), join(storage(), "snapshots"));
    // A consumer now reads the outside bytes.
    const consumerReads = await readFile(join(storage(), "snapshots", COMMIT, "model.safetensors"));
    expect(consumerReads.equals(fixture.data["model.safetensors"]!)).toBe(false);

    for (const deep of [[], ["--deep"]]) {
      const verify = await run("verify", ...deep);
      expect(verify.code, `verify ${deep}`).not.toBe(EXIT.ok);
      expect(verify.json?.models[0]?.problems?.map((p) => p.reason).join("\n")).toContain("never trusted");
    }
    const before = await snapshotTree(outside);
    const download = await run("download");
    expect(download.code).toBe(EXIT.filesystem);
    expect(download.stderr).toContain("never writes through a link");
    expect(await snapshotTree(outside)).toEqual(before);

    // Once the link is gone, download repairs the cache.
    await rm(join(storage(), "snapshots"));
    expect((await run("download")).code).toBe(EXIT.ok);
    expect((await run("verify", "--deep")).code).toBe(EXIT.ok);
  });

  it("a blob that is a link to an outside file with the right bytes is replaced, the outside file untouched", async () => {
    const blob = join(storage(), "blobs", fixture.files["model.safetensors"]!.sha256);
    const planted = join(outside, "planted.bin");
    await rename(blob, planted);
    await symlink(planted, blob);
    expect((await run("verify")).code).toBe(EXIT.incomplete);
    expect((await run("verify", "--deep")).code).not.toBe(EXIT.ok);
    const repaired = await run("download");
    expect(repaired.code).toBe(EXIT.ok);
    expect((await stat(blob)).isFile()).toBe(true);
    expect((await readFile(planted)).equals(fixture.data["model.safetensors"]!)).toBe(true);
    expect((await run("verify", "--deep")).code).toBe(EXIT.ok);
  });

  it("whisper/ linked to an outside folder: verify fails, download refuses, the outside folder is unchanged", async () => {
    await cp(join(cache, "whisper"), join(outside, "whisper"), { recursive: true });
    await writeFile(join(outside, "whisper", "tiny.pt"), "other bytes");
    await rm(join(cache, "whisper"), { recursive: true });
    await symlink(join(outside, "whisper"), join(cache, "whisper"));
    expect((await run("verify")).json?.models[1]?.problems?.[0]?.reason).toContain("never trusted");
    expect((await run("verify", "--deep")).code).not.toBe(EXIT.ok);
    const before = await snapshotTree(outside);
    expect((await run("download")).code).toBe(EXIT.filesystem);
    expect(await snapshotTree(outside)).toEqual(before);
  });
});

describe("in-place edits with size and mtime restored (dd conv=notrunc, touch -r)", () => {
  it("are caught by plain verify and by a warm download, which fetches the file again", async () => {
    expect((await run("download")).code).toBe(EXIT.ok);
    const blob = join(storage(), "blobs", fixture.files["model.safetensors"]!.sha256);
    const reference = join(dir.path, "mtime-reference");
    execFileSync("touch", ["-r", blob, reference]);
    execFileSync("dd", ["if=/dev/zero", `of=${blob}`, "bs=1024", "count=800", "seek=100", "conv=notrunc", "status=none"]);
    execFileSync("touch", ["-r", reference, blob]);
    const verify = await run("verify");
    expect(verify.code).toBe(EXIT.incomplete);
    expect(verify.json?.models[0]?.problems?.[0]?.reason).toContain("changed since it was verified");
    hub.requests.length = 0;
    const warm = await run("download");
    expect(warm.code).toBe(EXIT.ok);
    expect(hub.contentRequests(`${REPO}/model.safetensors`)).toHaveLength(1);
    expect((await readFile(blob)).equals(fixture.data["model.safetensors"]!)).toBe(true);
    expect((await run("verify")).code).toBe(EXIT.ok);
  });
});

describe("hygiene of input and output", () => {
  it("a manifest of 110k models: verify prints one JSON document and bounded text", async () => {
    const models = Array.from({ length: 110_000 }, (_, i) => ({
      id: `m${i}`,
      kind: "file",
      path: `files/m${i}.bin`,
      url: `${hub.cdnOrigin}/plain/m${i}.bin`,
      size: 1,
      sha256: "a".repeat(64),
    }));
    await withManifest({ version: 1, models });
    const result = await run("verify");
    expect(result.code).toBe(EXIT.incomplete);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as { models: unknown[] };
    expect(report.models).toHaveLength(110_000);
    expect(result.stderr.length).toBeLessThan(20_000);
    expect(result.stderr).toContain("… and 109950 more models (--json lists them all)");
    expect(result.stderr).not.toContain("Maximum call stack");
  }, 120_000);

  it("a 20 MB invalid manifest: a bounded error naming the first problems", async () => {
    const models = Array.from({ length: 100_000 }, (_, i) => ({ id: `Bad Id ${i}`, kind: "file", path: "/abs", url: "nope" }));
    await withManifest({ version: 1, models, padding: "x".repeat(10_000_000) });
    const result = await run("download");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr.length).toBeLessThan(20_000);
    expect(result.stderr).toMatch(/and \d+ more problems/);
    expect(result.json?.error?.length ?? 0).toBeLessThan(20_000);
  });

  it("a JSON parse error never echoes the input (a token file given as --manifest)", async () => {
    await writeFile(manifestFile, "hf_secretTOKENsecretTOKEN\n");
    const result = await run("download");
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain("is not valid JSON");
    expect(result.stdout + result.stderr).not.toContain("secret");
    expect(result.stdout + result.stderr).not.toContain("hf_");
  });

  it("NUL in a path and CR/LF in HF_TOKEN are bad usage (exit 2), the token not echoed", async () => {
    const nul = await runCli(["verify", "-m", manifestFile, "-c", `${cache}\u0000x`], env);
    expect(nul.code).toBe(EXIT.usage);
    expect(nul.stderr).toContain("--cache: must not contain a NUL character");
    const token = "hf_abc\r\nx-injected: 1";
    const bad = await runCli(["download", "-m", manifestFile, "-c", cache], { ...env, HF_TOKEN: token });
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain("environment variable HF_TOKEN");
    expect(bad.stderr).not.toContain("hf_abc");
  });

  it("HF_ENDPOINT with a query string: every request keeps the path and carries the query", async () => {
    const result = await runCli(["download", "-m", manifestFile, "-c", cache, "--json"], { HF_ENDPOINT: `${hub.endpoint}/?mirror=1` });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    const hubRequests = hub.requests.filter((r) => r.server === "hub");
    expect(hubRequests.length).toBeGreaterThan(0);
    for (const request of hubRequests) expect(request.path).toMatch(new RegExp(`^/${REPO}/resolve/${COMMIT}/[^?]+\\?mirror=1$`));
  });

  it("a resume answered with a wrong Content-Range total keeps the bytes fetched; the next run resumes them", async () => {
    const key = `${REPO}/model.safetensors`;
    hub.fail(key, { kind: "reset", afterBytes: 1_000_000 }, { kind: "wrong-total", delta: 7 });
    const first = await run("download");
    expect(first.code).toBe(EXIT.checksum);
    expect(first.json?.models[0]?.reason).toContain("as the server announced it");
    const partials = (await readdir(join(storage(), "blobs"))).filter((n) => n.endsWith(".incomplete"));
    expect(partials).toHaveLength(1);
    const kept = (await stat(join(storage(), "blobs", partials[0]!))).size;
    expect(kept).toBeGreaterThan(0);
    hub.requests.length = 0;
    const second = await run("download");
    expect(second.code).toBe(EXIT.ok);
    expect(hub.contentRequests(key).map((r) => r.range)).toEqual([`bytes=${kept}-`]);
    expect((await run("verify", "--deep")).code).toBe(EXIT.ok);
  });
});

describe("prune stays in the cache, takes the locks, and leaves live partials alone", () => {
  beforeEach(async () => {
    expect((await run("download")).code).toBe(EXIT.ok);
  });

  it("never follows a linked whisper/ or snapshots/ folder out of the cache", async () => {
    await mkdir(join(outside, "whisper"));
    await writeFile(join(outside, "whisper", "large.pt"), "not ours");
    await rm(join(cache, "whisper"), { recursive: true });
    await symlink(join(outside, "whisper"), join(cache, "whisper"));
    const other = join(outside, "snapshots");
    await mkdir(join(other, "9".repeat(40)), { recursive: true });
    await writeFile(join(other, "9".repeat(40), "weights.bin"), "not ours either");
    await rm(join(storage(), "snapshots"), { recursive: true });
    await symlink(other, join(storage(), "snapshots"));
    // A manifest without the hub model: its whole folder is unused.
    await withManifest({ version: 1, models: [whisperModel()] });
    const before = await snapshotTree(outside);
    const pruned = await run("prune", "--yes");
    expect(pruned.code).toBe(EXIT.ok);
    expect(await snapshotTree(outside)).toEqual(before);
  });

  it("lists and removes stale partials; a partial whose downloader holds its lock is kept, even when its repo is unused", async () => {
    const { acquireLock, lockKey } = await import("../../downloader/src/lock.js");
    const blobs = join(storage(), "blobs");
    const live = join(blobs, `${"c".repeat(64)}.0123456789abcdef.incomplete`);
    const stale = join(blobs, `${"d".repeat(64)}.0123456789abcdef.incomplete`);
    const stalePlain = join(cache, ".model-cache", "partial", `${"e".repeat(64)}.0123456789abcdef.incomplete`);
    await writeFile(live, "live bytes");
    await writeFile(stale, "stale bytes");
    await mkdir(join(cache, ".model-cache", "partial"), { recursive: true });
    await writeFile(stalePlain, "stale plain bytes");
    // Named by no model of the manifest: stale once nothing wrote it for longer than the lock's stale time.
    await utimes(stalePlain, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    // A downloader (this test process) is writing blob c…: it holds that blob's lock.
    const release = await acquireLock(join(cache, ".model-cache", "locks"), lockKey("blob", hubRepoFolder(REPO), "c".repeat(64)), {
      staleMs: 10_000,
      signal: new AbortController().signal,
    });
    try {
      const listed = await run("prune");
      const items = (JSON.parse(listed.stdout) as { items: { kind: string; path: string }[] }).items;
      expect(
        items
          .filter((i) => i.kind === "partial")
          .map((i) => i.path)
          .sort(),
      ).toEqual([stale.slice(cache.length + 1), stalePlain.slice(cache.length + 1)].sort());
      expect((await run("prune", "--yes")).code).toBe(EXIT.ok);
      expect(await readFile(live, "utf8")).toBe("live bytes");
      await expect(stat(stale)).rejects.toThrow();
      await expect(stat(stalePlain)).rejects.toThrow();
      // The hub model is not in this manifest: its folder is unused, but a live partial is in it.
      await withManifest({ version: 1, models: [whisperModel()] });
      const pruned = await run("prune", "--yes");
      expect(pruned.code).toBe(EXIT.ok);
      expect(pruned.stderr).toContain("in use by a running downloader");
      expect(await readFile(live, "utf8")).toBe("live bytes");
    } finally {
      await release?.();
    }
    // Once that downloader is gone, the folder goes too.
    expect((await run("prune", "--yes")).code).toBe(EXIT.ok);
    await expect(stat(storage())).rejects.toThrow();
  });
});

describe("a size-less file served as an endless body", () => {
  it("stops at --max-size with exit 4 and keeps nothing", async () => {
    const data = bytes(1000, "endless");
    const endless = hub.addPlainFile("endless.bin", data);
    await withManifest({
      version: 1,
      models: [{ id: "endless", kind: "file", path: "endless.bin", url: endless.url, sha256: digestsOf(data).sha256 }],
    });
    hub.fail("plain/endless.bin", { kind: "endless", chunkBytes: 64 * 1024, maxBytes: 64 * 1024 * 1024 });
    const result = await run("download", "--max-size", "3000000");
    expect(result.code).toBe(EXIT.network);
    expect(result.json?.models[0]?.reason).toContain("--max-size");
    const partialDir = join(cache, ".model-cache", "partial");
    for (const name of await readdir(partialDir)) expect((await stat(join(partialDir, name))).size).toBe(0);
  });
});
