/**
 * `model-cache ls --cache DIR [--manifest FILE] [--json]`: what a cache holds, like `hf cache ls`:
 * per hub repo, whisper checkpoint and plain file its revisions, its size on disk, when the
 * downloader last verified it, whether the manifest uses it and what `prune` would free.
 */
import { lstat, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { z } from "zod";
import { CACHE_LAYOUT, MANIFEST_ENV } from "../../../components/core/contract.js";
import type { Manifest } from "../../../components/core/manifest.js";
import { UsageError } from "../errors.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { formatBytes, formatTable } from "../format.js";
import { filesBelow, listRealDir } from "../fs-util.js";
import { STATE_DIR } from "../layout.js";
import { DEFAULT_LOCK_STALE_MS } from "../lock.js";
import { loadManifest } from "../manifest-input.js";
import { CACHE_DIR_ENV } from "../options.js";
import { planPrune } from "../prune.js";
import { fileRecordPath, readRecord } from "../records.js";
import type { RegistryIo } from "./io.js";

const LsOptionsSchema = z.object({
  cache: z.string().min(1).optional(),
  manifest: z.string().min(1).optional(),
  json: z.boolean().default(false),
});

export interface CacheItem {
  kind: "repo" | "whisper" | "file";
  /** `org/name`, the whisper model name, or the file's path. */
  name: string;
  /** Relative to the cache root. */
  path: string;
  revisions: { commit: string; refs: string[]; files: number }[];
  /** Bytes of its blobs (repo) or of the file itself. */
  sizeBytes: number;
  /** Bytes of interrupted downloads kept for resuming. */
  partialBytes: number;
  /** The latest verification record's time, or null when nothing was verified. */
  verifiedAt: string | null;
  /** The manifest's model ids that use it; null without a manifest. */
  usedBy: string[] | null;
  /** What `prune` with this manifest would free from it; null without a manifest. */
  pruneBytes: number | null;
}

export async function runLs(raw: Record<string, unknown>, io: RegistryIo): Promise<ExitCode> {
  const parsed = LsOptionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`--${String(parsed.error.issues[0]?.path[0])}: ${parsed.error.issues[0]?.message}`);
  const root = parsed.data.cache ?? io.env[CACHE_DIR_ENV];
  if (!root) throw new UsageError(`no cache directory: pass --cache DIR or set ${CACHE_DIR_ENV}`);
  const withManifest = parsed.data.manifest !== undefined || !!io.env[MANIFEST_ENV];
  const manifest = withManifest
    ? (await loadManifest({ file: parsed.data.manifest, env: io.env, stdin: process.stdin })).manifest
    : undefined;
  const items = await listCache(root, manifest);

  if (parsed.data.json) {
    const totals = {
      sizeBytes: sum(items.map((i) => i.sizeBytes)),
      pruneBytes: manifest ? sum(items.map((i) => i.pruneBytes ?? 0)) : null,
    };
    io.stdout.write(`${JSON.stringify({ command: "ls", ok: true, exitCode: EXIT.ok, cache: root, items, totals })}\n`);
  }
  const rows = items.map((i) => [
    i.kind,
    i.name,
    i.revisions.map((r) => `${r.commit.slice(0, 12)}${r.refs.length > 0 ? ` (${r.refs.join(", ")})` : ""}`).join(", ") || "-",
    formatBytes(i.sizeBytes) + (i.partialBytes > 0 ? ` +${formatBytes(i.partialBytes)} partial` : ""),
    i.verifiedAt ? i.verifiedAt.replace(/\.\d+Z$/, "Z") : "never",
    i.usedBy === null ? "?" : i.usedBy.length > 0 ? i.usedBy.join(", ") : "no",
    i.pruneBytes === null ? "?" : i.pruneBytes > 0 ? formatBytes(i.pruneBytes) : "-",
  ]);
  const out = parsed.data.json ? io.stderr : io.stdout;
  out.write(`${formatTable(["kind", "name", "revisions", "size", "verified", "used by", "prune frees"], rows, new Set([3, 6]))}\n`);
  const total = sum(items.map((i) => i.sizeBytes));
  const frees = manifest ? `; prune would free ${formatBytes(sum(items.map((i) => i.pruneBytes ?? 0)))}` : "";
  out.write(`${items.length} items, ${formatBytes(total)} in ${root}${frees}\n`);
  return EXIT.ok;
}

export async function listCache(root: string, manifest?: Manifest): Promise<CacheItem[]> {
  // Stale partials count among what prune would free (a live downloader's, whose lock is fresh, do not).
  const prune = manifest ? (await planPrune(manifest, root, DEFAULT_LOCK_STALE_MS)).items : [];
  const freed = (path: string) => sum(prune.filter((p) => p.path === path || p.path.startsWith(`${path}/`)).map((p) => p.bytes));
  const users = (match: (model: Manifest["models"][number]) => boolean) =>
    manifest ? manifest.models.filter(match).map((m) => m.id) : null;
  const items: CacheItem[] = [];

  for (const entry of await listRealDir(root)) {
    if (!entry.isDirectory() || !entry.name.startsWith(CACHE_LAYOUT.hubRepoPrefix)) continue;
    const dir = join(root, entry.name);
    const name = entry.name.slice(CACHE_LAYOUT.hubRepoPrefix.length).split("--").join("/");
    const refs = new Map<string, string[]>();
    for (const ref of await filesBelow(join(dir, CACHE_LAYOUT.refsDir))) {
      const commit = (await readFile(ref, "utf8")).trim();
      refs.set(commit, [...(refs.get(commit) ?? []), relative(join(dir, CACHE_LAYOUT.refsDir), ref)]);
    }
    const revisions = [];
    for (const snapshot of await listRealDir(join(dir, CACHE_LAYOUT.snapshotsDir))) {
      const files = (await filesBelow(join(dir, CACHE_LAYOUT.snapshotsDir, snapshot.name))).length;
      revisions.push({ commit: snapshot.name, refs: refs.get(snapshot.name) ?? [], files });
    }
    let sizeBytes = 0;
    let partialBytes = 0;
    for (const blob of await listRealDir(join(dir, CACHE_LAYOUT.blobsDir))) {
      const info = await lstat(join(dir, CACHE_LAYOUT.blobsDir, blob.name));
      if (blob.name.endsWith(".incomplete")) partialBytes += info.size;
      else sizeBytes += info.size;
    }
    const records = join(root, STATE_DIR, "verified", "blobs", entry.name);
    items.push({
      kind: "repo",
      name,
      path: entry.name,
      revisions,
      sizeBytes,
      partialBytes,
      verifiedAt: await latestVerification(await filesBelow(records)),
      usedBy: users((m) => m.kind === "huggingface" && m.repo === name),
      pruneBytes: manifest ? freed(entry.name) : null,
    });
  }

  for (const entry of await listRealDir(join(root, CACHE_LAYOUT.whisperDir))) {
    if (!entry.isFile() || !entry.name.endsWith(CACHE_LAYOUT.whisperSuffix)) continue;
    const path = `${CACHE_LAYOUT.whisperDir}/${entry.name}`;
    const name = entry.name.slice(0, -CACHE_LAYOUT.whisperSuffix.length);
    items.push({
      kind: "whisper",
      name,
      path,
      revisions: [],
      sizeBytes: (await lstat(join(root, path))).size,
      partialBytes: 0,
      verifiedAt: await latestVerification([fileRecordPath(root, path)]),
      usedBy: users((m) => m.kind === "whisper" && m.name === name),
      pruneBytes: manifest ? freed(path) : null,
    });
  }

  // Plain files: the ones the downloader verified (nothing else tells ours from anyone's).
  const fileRecords = join(root, STATE_DIR, "verified", "files");
  for (const record of await filesBelow(fileRecords)) {
    const path = relative(fileRecords, record).replace(/\.json$/, "");
    if (path.startsWith(`${CACHE_LAYOUT.whisperDir}/`)) continue;
    const size = await lstat(join(root, path)).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) continue;
    items.push({
      kind: "file",
      name: path,
      path,
      revisions: [],
      sizeBytes: size,
      partialBytes: 0,
      verifiedAt: await latestVerification([record]),
      usedBy: users((m) => m.kind === "file" && m.path === path),
      // prune never removes plain files.
      pruneBytes: manifest ? 0 : null,
    });
  }
  return items;
}

async function latestVerification(records: string[]): Promise<string | null> {
  let latest: string | null = null;
  for (const path of records) {
    const record = await readRecord(path);
    if (record && (latest === null || record.verifiedAt > latest)) latest = record.verifiedAt;
  }
  return latest;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
