import { appendFile, mkdir, open, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { hubRepoFolder } from "../../components/core/contract.js";
import { EXIT } from "../../downloader/src/exit-codes.js";
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
let storage: string;

beforeEach(async () => {
  ({ hub, fixture, cache, manifestFile, env } = session);
  storage = join(cache, hubRepoFolder(REPO));
  expect((await runCli(["download", "-m", manifestFile, "-c", cache], env)).code).toBe(0);
  hub.requests.length = 0;
});

const verify = (...extra: string[]) => runCli(["verify", "-m", manifestFile, "-c", cache, "--json", ...extra], env);
const weightsBlob = () => join(storage, "blobs", fixture.files["model.safetensors"]!.sha256);

describe("verify", () => {
  it("fast: a file changed after verification makes the cache incomplete (exit 3)", async () => {
    await appendFile(weightsBlob(), "x");
    const result = await verify();
    expect(result.code).toBe(EXIT.incomplete);
    const problem = result.json?.models[0]?.problems?.[0];
    expect(problem?.file).toBe("model.safetensors");
    expect(problem?.reason).toContain("changed since it was verified");
    expect(result.stderr.trimEnd().split("\n").slice(-4).join("\n")).toContain("model-cache verify: FAILED (exit 3)");
  });

  it("--deep: catches bytes changed in place even when every recorded attribute looks unchanged (exit 5)", async () => {
    const handle = await open(weightsBlob(), "r+");
    await handle.write(Buffer.from("corrupted!"), 0, 10, 1000);
    await handle.close();
    // Silent corruption (bit rot, a tool that restores mtimes): the record still matches the metadata.
    const recordPath = join(
      cache,
      ".model-cache",
      "verified",
      "blobs",
      hubRepoFolder(REPO),
      `${fixture.files["model.safetensors"]!.sha256}.json`,
    );
    const record = JSON.parse(await readFile(recordPath, "utf8")) as { mtimeNs: string; ctimeNs: string };
    const now = await stat(weightsBlob(), { bigint: true });
    record.mtimeNs = now.mtimeNs.toString();
    record.ctimeNs = now.ctimeNs.toString();
    await writeFile(recordPath, JSON.stringify(record));
    expect((await verify()).code).toBe(EXIT.ok);
    const deep = await verify("--deep");
    expect(deep.code).toBe(EXIT.checksum);
    expect(deep.json?.models[0]?.problems?.[0]).toMatchObject({ file: "model.safetensors", state: "corrupt" });
    expect(deep.json?.models[0]?.problems?.[0]?.reason).toContain(
      `sha256 mismatch: expected ${fixture.files["model.safetensors"]!.sha256}`,
    );
  });

  it("a missing blob, a missing plain file and a wrong ref are reported, and download repairs them", async () => {
    await rm(weightsBlob());
    await rm(join(cache, "face_detection_yunet.onnx"));
    await writeFile(join(storage, "refs", "main"), `${"f".repeat(40)}\n`);
    const result = await verify();
    expect(result.code).toBe(EXIT.incomplete);
    expect(result.json?.models[0]?.problems?.map((p) => p.file)).toEqual(["model.safetensors", "refs/main"]);
    expect(result.json?.models[2]?.problems?.[0]).toMatchObject({ file: "face_detection_yunet.onnx", state: "missing" });

    const repaired = await runCli(["download", "-m", manifestFile, "-c", cache, "--json"], env);
    expect(repaired.code).toBe(0);
    expect(repaired.json?.models.map((m) => m.status)).toEqual(["downloaded", "ok", "downloaded"]);
    expect(await readFile(join(storage, "refs", "main"), "utf8")).toBe(COMMIT);
    expect((await verify("--deep")).code).toBe(EXIT.ok);
  });

  it("a cache without verification records (e.g. written by huggingface_hub) is verified locally by download, with no request", async () => {
    await rm(join(cache, ".model-cache"), { recursive: true });
    const before = await verify();
    expect(before.code).toBe(EXIT.incomplete);
    expect(before.json?.models[0]?.problems?.[0]?.reason).toContain("never verified by model-cache");
    const adopted = await runCli(["download", "-m", manifestFile, "-c", cache, "--json"], env);
    expect(adopted.code).toBe(0);
    expect(hub.requests).toEqual([]);
    expect(adopted.json?.models.every((m) => m.fetchedBytes === 0)).toBe(true);
    expect((await verify()).code).toBe(EXIT.ok);
  });

  it("bytes under the right name but wrong content are replaced, not trusted", async () => {
    await rm(join(cache, ".model-cache"), { recursive: true });
    const handle = await open(weightsBlob(), "r+");
    await handle.write(Buffer.from("corrupted!"), 0, 10, 0);
    await handle.close();
    const result = await runCli(["download", "-m", manifestFile, "-c", cache, "--json"], env);
    expect(result.code).toBe(0);
    expect(hub.contentRequests(`${REPO}/model.safetensors`)).toHaveLength(1);
    expect((await readFile(weightsBlob())).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });
});

describe("prune", () => {
  it("lists, then removes, what no model of the manifest uses; the cache still verifies", async () => {
    // Leftovers of older manifests: a snapshot of another commit with its own blob, a branch ref,
    // a whole repo, a whisper checkpoint, and a snapshot entry the manifest no longer lists.
    const oldCommit = "9".repeat(40);
    await writeFile(join(storage, "blobs", "e".repeat(64)), "old weights");
    await mkdir(join(storage, "snapshots", oldCommit), { recursive: true });
    await symlink(`../../blobs/${"e".repeat(64)}`, join(storage, "snapshots", oldCommit, "model.safetensors"));
    await writeFile(join(storage, "refs", "old-branch"), oldCommit);
    await mkdir(join(cache, "models--acme--old", "blobs"), { recursive: true });
    await writeFile(join(cache, "models--acme--old", "blobs", "a".repeat(64)), "x".repeat(1000));
    await writeFile(join(cache, "whisper", "base.pt"), "old whisper");
    const manifest = structuredClone(fixture.manifest);
    const model = manifest.models[0]!;
    if (model.kind !== "huggingface") throw new Error("fixture changed");
    model.files = model.files.filter((f) => f.path !== "config.json");
    await writeFile(manifestFile, JSON.stringify(manifest));

    const listed = await runCli(["prune", "-m", manifestFile, "-c", cache, "--json"], env);
    expect(listed.code).toBe(0);
    const report = JSON.parse(listed.stdout) as { removed: boolean; items: { kind: string; path: string }[] };
    expect(report.removed).toBe(false);
    const configBlob = fixture.files["config.json"]!.gitSha1;
    expect(report.items.map((i) => `${i.kind} ${i.path}`).sort()).toEqual(
      [
        "repo models--acme--old",
        `snapshot ${hubRepoFolder(REPO)}/snapshots/${oldCommit}`,
        `snapshot-entry ${hubRepoFolder(REPO)}/snapshots/${COMMIT}/config.json`,
        `ref ${hubRepoFolder(REPO)}/refs/old-branch`,
        `blob ${hubRepoFolder(REPO)}/blobs/${"e".repeat(64)}`,
        `blob ${hubRepoFolder(REPO)}/blobs/${configBlob}`,
        "whisper whisper/base.pt",
      ].sort(),
    );
    expect(listed.stderr).toContain("run again with --yes");
    expect(await readdir(join(storage, "blobs"))).toContain("e".repeat(64));

    const pruned = await runCli(["prune", "-m", manifestFile, "-c", cache, "--yes"], env);
    expect(pruned.code).toBe(0);
    expect(pruned.stderr).toContain("removed 7 items");
    expect((await readdir(join(storage, "blobs"))).sort()).toEqual(
      [fixture.files["model.safetensors"]!.sha256, fixture.files["tokenizer/vocab.txt"]!.gitSha1].sort(),
    );
    expect(await readdir(join(storage, "snapshots"))).toEqual([COMMIT]);
    expect(await readdir(join(storage, "refs"))).toEqual(["main"]);
    expect(await readdir(cache)).not.toContain("models--acme--old");
    expect(await readdir(join(cache, "whisper"))).toEqual(["tiny.pt"]);
    expect((await verify("--deep")).code).toBe(EXIT.ok);
    expect((await runCli(["prune", "-m", manifestFile, "-c", cache], env)).stderr).toContain("nothing to prune");
  });
});
