import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Manifest } from "../../components/core/manifest";
import { runCli } from "../downloader/support/cli";
import { COMMIT, REPO } from "../downloader/support/fixtures";
import { useHubSession } from "../downloader/support/session";

const session = useHubSession();

interface LsItem {
  kind: string;
  name: string;
  revisions: { commit: string; refs: string[]; files: number }[];
  sizeBytes: number;
  verifiedAt: string | null;
  usedBy: string[] | null;
  pruneBytes: number | null;
}
const ls = async (...args: string[]) => {
  const result = await runCli(["ls", "--cache", session.cache, ...args]);
  expect(result.code, result.stderr).toBe(0);
  return { ...result, items: (JSON.parse(result.stdout) as { items: LsItem[] }).items };
};

describe("model-cache ls", () => {
  it("lists each repo, whisper checkpoint and file the downloader wrote: revision, refs, size on disk, when verified", async () => {
    const began = new Date().toISOString();
    expect((await runCli(["download", "--manifest", session.manifestFile, "--cache", session.cache], session.env)).code).toBe(0);
    const { items } = await ls("--json");
    const { files, whisper, plain } = session.fixture;
    const repoBytes = files["config.json"]!.size + files["tokenizer/vocab.txt"]!.size + files["model.safetensors"]!.size;
    expect(items).toEqual([
      expect.objectContaining({
        kind: "repo",
        name: REPO,
        revisions: [{ commit: COMMIT, refs: ["main"], files: 3 }],
        sizeBytes: repoBytes,
      }),
      expect.objectContaining({ kind: "whisper", name: "tiny", sizeBytes: whisper.size }),
      expect.objectContaining({ kind: "file", name: "face_detection_yunet.onnx", sizeBytes: plain.size }),
    ]);
    for (const item of items) {
      expect(item.verifiedAt! >= began, item.name).toBe(true);
      // Without a manifest, ls cannot say who uses what.
      expect(item.usedBy).toBeNull();
      expect(item.pruneBytes).toBeNull();
    }
  });

  it("with a manifest: which of its models use each item, and what prune would free", async () => {
    expect((await runCli(["download", "--manifest", session.manifestFile, "--cache", session.cache], session.env)).code).toBe(0);
    // The next manifest keeps the hub model but only two of its files, and drops the whisper checkpoint.
    const next: Manifest = structuredClone(session.fixture.manifest);
    const hubModel = next.models[0]!;
    if (hubModel.kind !== "huggingface") throw new Error("fixture");
    hubModel.files = hubModel.files.filter((f) => f.path !== "model.safetensors");
    next.models = next.models.filter((m) => m.kind !== "whisper");
    const nextFile = join(session.dir.path, "next.json");
    await writeFile(nextFile, JSON.stringify(next));

    const { items, stderr } = await ls("--manifest", nextFile, "--json");
    const byKind = Object.fromEntries(items.map((i) => [i.kind, i]));
    expect(byKind["repo"]).toMatchObject({ usedBy: ["tiny-model"], pruneBytes: session.fixture.files["model.safetensors"]!.size });
    expect(byKind["whisper"]).toMatchObject({ usedBy: [], pruneBytes: session.fixture.whisper.size });
    expect(byKind["file"]).toMatchObject({ usedBy: ["yunet"], pruneBytes: 0 });
    // The same figure prune itself reports.
    const prune = await runCli(["prune", "--manifest", nextFile, "--cache", session.cache, "--json"]);
    const pruned = JSON.parse(prune.stdout) as { bytes: number };
    expect(pruned.bytes).toBe(session.fixture.files["model.safetensors"]!.size + session.fixture.whisper.size);
    expect(stderr).toMatch(/3 items, .* prune would free/);
  });

  it("prints a table without --json, and an empty cache is not an error", async () => {
    const empty = await runCli(["ls", "--cache", join(session.dir.path, "nothing")]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/0 items, 0 B/);
    expect((await runCli(["download", "--manifest", session.manifestFile, "--cache", session.cache], session.env)).code).toBe(0);
    const table = await runCli(["ls", "--cache", session.cache, "--manifest", session.manifestFile]);
    expect(table.stdout).toMatch(/^kind\s+name\s+revisions\s+size\s+verified\s+used by\s+prune frees/m);
    expect(table.stdout).toMatch(new RegExp(`repo\\s+${REPO}\\s+${COMMIT.slice(0, 12)} \\(main\\)`));
    expect(table.stdout).toMatch(/whisper\s+tiny\s+-\s+1\.05 MB\s+\S+\s+whisper-tiny\s+-/);
  });

  it("needs a cache directory", async () => {
    const result = await runCli(["ls"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no cache directory: pass --cache DIR or set HF_HUB_CACHE/);
  });
});
