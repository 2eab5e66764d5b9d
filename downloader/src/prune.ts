/**
 * `model-cache prune`: find what no model of the manifest uses (whole repo folders, snapshots,
 * snapshot entries, refs, blobs, tree listings, Whisper checkpoints) and, with `--yes`, remove it.
 * Plain files at the cache root are never touched: nothing tells ours from anyone else's.
 * Partial downloads (`*.incomplete`) are kept: a running downloader may own them.
 */
import { lstat, readdir, rm, rmdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { hubRepoFolder } from "../../components/core/contract.js";
import type { Manifest } from "../../components/core/manifest.js";
import { isErrno, readlinkOrUndefined } from "./fs-util.js";
import { blobNameFromTarget, hubRepoPaths, locksDir, STATE_DIR, snapshotDir } from "./layout.js";
import { acquireLock, lockKey } from "./lock.js";
import { blobRecordPath, fileRecordPath } from "./records.js";

export type PruneKind = "repo" | "snapshot" | "snapshot-entry" | "ref" | "blob" | "tree" | "no-exist" | "whisper";

export interface PruneItem {
  kind: PruneKind;
  /** Relative to the cache root. */
  path: string;
  bytes: number;
  /** Set after `--yes`: removed, or why it was kept. */
  outcome?: "removed" | "in use by a running downloader";
}

interface RepoUse {
  commits: Map<string, Set<string>>;
  refs: Set<string>;
}

export async function planPrune(manifest: Manifest, root: string): Promise<PruneItem[]> {
  const repos = new Map<string, RepoUse>();
  const whisper = new Set<string>();
  for (const model of manifest.models) {
    if (model.kind === "huggingface") {
      const folder = hubRepoFolder(model.repo);
      const use = repos.get(folder) ?? { commits: new Map(), refs: new Set() };
      const files = use.commits.get(model.revision) ?? new Set();
      for (const file of model.files) files.add(file.path);
      use.commits.set(model.revision, files);
      for (const ref of model.refs) use.refs.add(ref);
      repos.set(folder, use);
    } else if (model.kind === "whisper") {
      whisper.add(`${model.name}.pt`);
    }
  }

  const items: PruneItem[] = [];
  for (const entry of await listDir(root)) {
    if (!entry.isDirectory() || !entry.name.startsWith("models--")) continue;
    const use = repos.get(entry.name);
    if (!use) items.push({ kind: "repo", path: entry.name, bytes: await treeBytes(join(root, entry.name)) });
    else items.push(...(await planRepo(root, entry.name, use)));
  }
  for (const entry of await listDir(join(root, "whisper"))) {
    if (entry.isFile() && entry.name.endsWith(".pt") && !whisper.has(entry.name)) {
      items.push({ kind: "whisper", path: `whisper/${entry.name}`, bytes: (await lstat(join(root, "whisper", entry.name))).size });
    }
  }
  return items;
}

async function planRepo(root: string, folder: string, use: RepoUse): Promise<PruneItem[]> {
  const repo = hubRepoPaths(root, folder.slice("models--".length).replace("--", "/"));
  const dir = join(root, folder);
  const rel = (path: string) => relative(root, path);
  const items: PruneItem[] = [];
  const keptBlobs = new Set<string>();

  for (const snapshot of await listDir(join(dir, "snapshots"))) {
    const files = use.commits.get(snapshot.name);
    const snapshotPath = snapshotDir(repo, snapshot.name);
    if (!files) {
      items.push({ kind: "snapshot", path: rel(snapshotPath), bytes: 0 });
      continue;
    }
    for (const entry of await walk(snapshotPath)) {
      const inRepo = relative(snapshotPath, entry);
      if (!files.has(inRepo)) {
        items.push({ kind: "snapshot-entry", path: rel(entry), bytes: 0 });
        continue;
      }
      const link = await readlinkOrUndefined(entry);
      const blob = link === undefined ? undefined : blobNameFromTarget(repo, entry, link);
      if (blob) keptBlobs.add(blob);
    }
  }
  for (const ref of await walk(join(dir, "refs"))) {
    const name = relative(join(dir, "refs"), ref);
    if (!use.refs.has(name)) items.push({ kind: "ref", path: rel(ref), bytes: 0 });
  }
  for (const blob of await listDir(repo.blobsDir)) {
    if (!blob.isFile() || blob.name.endsWith(".incomplete") || keptBlobs.has(blob.name)) continue;
    items.push({ kind: "blob", path: rel(join(repo.blobsDir, blob.name)), bytes: (await lstat(join(repo.blobsDir, blob.name))).size });
  }
  for (const tree of await listDir(join(dir, "trees"))) {
    if (!use.commits.has(tree.name.replace(/\.json$/, "")))
      items.push({ kind: "tree", path: rel(join(dir, "trees", tree.name)), bytes: 0 });
  }
  for (const noExist of await listDir(join(dir, ".no_exist"))) {
    if (!use.commits.has(noExist.name)) items.push({ kind: "no-exist", path: rel(join(dir, ".no_exist", noExist.name)), bytes: 0 });
  }
  return items;
}

/** Remove the items, consumer-visible entries first (refs, snapshots) and blobs last, each blob under its lock. */
export async function applyPrune(root: string, items: PruneItem[], lockStaleMs: number, signal: AbortSignal): Promise<void> {
  const order: PruneKind[] = ["ref", "snapshot-entry", "snapshot", "tree", "no-exist", "whisper", "blob", "repo"];
  const sorted = [...items].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const item of sorted) {
    const path = join(root, item.path);
    if (item.kind === "blob") {
      const [folder, , name] = item.path.split("/") as [string, string, string];
      const release = await acquireLock(locksDir(root), lockKey("blob", folder, name), { staleMs: lockStaleMs, signal, wait: false });
      if (!release) {
        item.outcome = "in use by a running downloader";
        continue;
      }
      try {
        await rm(path, { force: true });
        await rm(blobRecordPath(root, folder, name), { force: true });
      } finally {
        await release();
      }
    } else if (item.kind === "repo") {
      await rm(path, { recursive: true, force: true });
      await rm(join(root, STATE_DIR, "verified", "blobs", item.path), { recursive: true, force: true });
    } else {
      await rm(path, { recursive: true, force: true });
      if (item.kind === "whisper") await rm(fileRecordPath(root, item.path), { force: true });
      if (item.kind === "snapshot-entry" || item.kind === "ref") await removeEmptyParents(path, root);
    }
    item.outcome = "removed";
  }
}

async function removeEmptyParents(path: string, root: string): Promise<void> {
  let dir = join(path, "..");
  while (dir.startsWith(root) && dir !== root && !/\/(snapshots|refs)$/.test(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = join(dir, "..");
  }
}

async function listDir(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, "ENOENT", "ENOTDIR")) return [];
    throw error;
  }
}

/** Files and symlinks below `dir` (not following links). */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await listDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const path of await walk(dir)) {
    const info = await lstat(path);
    if (info.isFile()) total += info.size;
  }
  return total;
}
