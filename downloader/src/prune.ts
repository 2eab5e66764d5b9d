/**
 * `model-cache prune`: find what no model of the manifest uses (whole repo folders, snapshots,
 * snapshot entries, refs, blobs, tree listings, Whisper checkpoints) and partial downloads no
 * downloader holds, and, with `--yes`, remove them.
 * Plain files at the cache root are never touched: nothing tells ours from anyone else's.
 * It never leaves the cache root and never follows a link: a linked folder is not descended into,
 * and nothing is removed whose parent folders are not real folders of the cache. Blobs, partials,
 * whole repo folders and whisper files are removed under their locks, and kept when a downloader holds one.
 */
import { lstat, rm, rmdir } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { CACHE_LAYOUT, hubRepoFolder, WHISPER_DIR, whisperRelPath } from "../../components/core/contract.js";
import type { Manifest } from "../../components/core/manifest.js";
import { filesBelow, listRealDir, readlinkOrUndefined, realpathOrUndefined } from "./fs-util.js";
import {
  assertStateDirReal,
  blobNameFromTarget,
  hubRepoPaths,
  locksDir,
  partialsDir,
  realRoot,
  STATE_DIR,
  snapshotDir,
  urlModelPath,
  urlPartialStem,
} from "./layout.js";
import { acquireLock, isLocked, lockKey, type Release } from "./lock.js";
import { MOVING_SUFFIX, PARTIAL_SUFFIX, RANGES_SUFFIX, rangesPath } from "./partial-file.js";
import { blobRecordPath, fileRecordPath } from "./records.js";

export type PruneKind = "repo" | "snapshot" | "snapshot-entry" | "ref" | "blob" | "tree" | "no-exist" | "whisper" | "partial";

export interface PruneItem {
  kind: PruneKind;
  /** Relative to the cache root. */
  path: string;
  bytes: number;
  /** A plain-URL partial's destination, when the manifest names it (its lock). */
  destination?: string;
  /** Set after `--yes`: removed, or why it was kept. */
  outcome?: "removed" | "in use by a running downloader" | "not removed: a symbolic link on the way";
}

interface RepoUse {
  commits: Map<string, Set<string>>;
  refs: Set<string>;
}

export interface PrunePlan {
  root: string;
  items: PruneItem[];
}

export async function planPrune(manifest: Manifest, givenRoot: string, lockStaleMs: number): Promise<PrunePlan> {
  const root = await realRoot(givenRoot, { create: false });
  await assertStateDirReal(root);
  const repos = new Map<string, RepoUse>();
  const whisper = new Set<string>();
  /** Partial stem → destination, for the manifest's plain files (whose lock is the destination's). */
  const plainStems = new Map<string, string>();
  for (const model of manifest.models) {
    if (model.kind === "huggingface") {
      const folder = hubRepoFolder(model.repo);
      const use = repos.get(folder) ?? { commits: new Map(), refs: new Set() };
      const files = use.commits.get(model.revision) ?? new Set();
      for (const file of model.files) files.add(file.path);
      use.commits.set(model.revision, files);
      for (const ref of model.refs) use.refs.add(ref);
      repos.set(folder, use);
    } else {
      if (model.kind === "whisper") whisper.add(basename(whisperRelPath(model.name)));
      const { relative: rel } = urlModelPath(root, model);
      plainStems.set(urlPartialStem(rel), rel);
    }
  }

  const items: PruneItem[] = [];
  for (const entry of await listRealDir(root)) {
    if (!entry.isDirectory() || !entry.name.startsWith(CACHE_LAYOUT.hubRepoPrefix)) continue;
    const use = repos.get(entry.name);
    if (!use) items.push({ kind: "repo", path: entry.name, bytes: await treeBytes(join(root, entry.name)) });
    else items.push(...(await planRepo(root, entry.name, use, lockStaleMs)));
  }
  for (const entry of await listRealDir(join(root, WHISPER_DIR))) {
    if (entry.isFile() && entry.name.endsWith(".pt") && !whisper.has(entry.name)) {
      items.push({ kind: "whisper", path: `${WHISPER_DIR}/${entry.name}`, bytes: (await lstat(join(root, WHISPER_DIR, entry.name))).size });
    }
  }
  // Partial plain-URL downloads: locked by their destination. One this manifest does not name may belong to a
  // downloader with another manifest: it counts as live while it was written within the stale time.
  for (const entry of await listRealDir(partialsDir(root))) {
    const path = join(partialsDir(root), entry.name);
    if (!entry.isFile() || !isPartialName(entry.name)) continue;
    const info = await lstat(path);
    const destination = plainStems.get(partialStem(entry.name));
    const live = destination
      ? await isLocked(locksDir(root), lockKey("file", destination), lockStaleMs)
      : Date.now() - info.mtimeMs < lockStaleMs;
    if (!live) items.push({ kind: "partial", path: relative(root, path), bytes: info.size, ...(destination ? { destination } : {}) });
  }
  return { root, items };
}

function isPartialName(name: string): boolean {
  return name.endsWith(PARTIAL_SUFFIX) || name.endsWith(MOVING_SUFFIX) || name.endsWith(RANGES_SUFFIX);
}

/** `<etag>.<random>.incomplete` → `<etag>`. */
function partialStem(name: string): string {
  return name.split(".")[0] ?? name;
}

async function planRepo(root: string, folder: string, use: RepoUse, lockStaleMs: number): Promise<PruneItem[]> {
  const repo = hubRepoPaths(root, folder.slice(CACHE_LAYOUT.hubRepoPrefix.length).replace("--", "/"));
  const dir = join(root, folder);
  const rel = (path: string) => relative(root, path);
  const items: PruneItem[] = [];
  const keptBlobs = new Set<string>();

  for (const snapshot of await listRealDir(join(dir, "snapshots"))) {
    const files = use.commits.get(snapshot.name);
    const snapshotPath = snapshotDir(repo, snapshot.name);
    if (!files) {
      items.push({ kind: "snapshot", path: rel(snapshotPath), bytes: 0 });
      continue;
    }
    for (const entry of await filesBelow(snapshotPath)) {
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
  for (const ref of await filesBelow(join(dir, "refs"))) {
    const name = relative(join(dir, "refs"), ref);
    if (!use.refs.has(name)) items.push({ kind: "ref", path: rel(ref), bytes: 0 });
  }
  for (const blob of await listRealDir(repo.blobsDir)) {
    const path = join(repo.blobsDir, blob.name);
    if (isPartialName(blob.name)) {
      if (blob.isFile() && !(await isLocked(locksDir(root), lockKey("blob", folder, partialStem(blob.name)), lockStaleMs))) {
        items.push({ kind: "partial", path: rel(path), bytes: (await lstat(path)).size });
      }
      continue;
    }
    if (!blob.isFile() || keptBlobs.has(blob.name)) continue;
    items.push({ kind: "blob", path: rel(path), bytes: (await lstat(path)).size });
  }
  for (const tree of await listRealDir(join(dir, "trees"))) {
    if (!use.commits.has(tree.name.replace(/\.json$/, "")))
      items.push({ kind: "tree", path: rel(join(dir, "trees", tree.name)), bytes: 0 });
  }
  for (const noExist of await listRealDir(join(dir, ".no_exist"))) {
    if (!use.commits.has(noExist.name)) items.push({ kind: "no-exist", path: rel(join(dir, ".no_exist", noExist.name)), bytes: 0 });
  }
  return items;
}

/** Remove the items, consumer-visible entries first (refs, snapshots) and blobs last, each under its locks. */
export async function applyPrune(plan: PrunePlan, lockStaleMs: number, signal: AbortSignal): Promise<void> {
  const { root, items } = plan;
  const order: PruneKind[] = ["ref", "snapshot-entry", "snapshot", "tree", "no-exist", "whisper", "partial", "blob", "repo"];
  const sorted = [...items].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  const lock = (key: string) => acquireLock(locksDir(root), key, { staleMs: lockStaleMs, signal, wait: false });
  for (const item of sorted) {
    const path = join(root, item.path);
    // Re-checked at removal time: the parent folders must be the cache's own (no link to elsewhere).
    if ((await realpathOrUndefined(dirname(path))) !== dirname(path)) {
      item.outcome = "not removed: a symbolic link on the way";
      continue;
    }
    const releases: Release[] = [];
    try {
      const keys = await lockKeysFor(root, item);
      let held = false;
      for (const key of keys) {
        const release = await lock(key);
        if (!release) {
          held = true;
          break;
        }
        releases.push(release);
      }
      if (held) {
        item.outcome = "in use by a running downloader";
        continue;
      }
      await remove(root, item, path);
      item.outcome = "removed";
    } finally {
      for (const release of releases) await release();
    }
  }
}

/** The locks a removal needs: the blob's (blob, partial), every blob's in a repo folder, the whisper file's. */
async function lockKeysFor(root: string, item: PruneItem): Promise<string[]> {
  const [folder = ""] = item.path.split("/");
  switch (item.kind) {
    case "blob":
      return [lockKey("blob", folder, basename(item.path))];
    case "partial":
      if (folder !== STATE_DIR) return [lockKey("blob", folder, partialStem(basename(item.path)))];
      return item.destination ? [lockKey("file", item.destination)] : [];
    case "repo": {
      const names = (await listRealDir(join(root, folder, "blobs"))).map((entry) => partialStem(entry.name));
      return [...new Set(names)].map((name) => lockKey("blob", folder, name));
    }
    case "whisper":
      return [lockKey("file", item.path)];
    default:
      return [];
  }
}

async function remove(root: string, item: PruneItem, path: string): Promise<void> {
  switch (item.kind) {
    case "blob": {
      const [folder = "", , name = ""] = item.path.split("/");
      await rm(path, { force: true });
      await rm(blobRecordPath(root, folder, name), { force: true });
      return;
    }
    case "repo":
      await rm(path, { recursive: true, force: true });
      await rm(join(root, STATE_DIR, "verified", "blobs", item.path), { recursive: true, force: true });
      return;
    case "partial":
      await rm(path, { force: true });
      if (!path.endsWith(RANGES_SUFFIX)) await rm(rangesPath(path), { force: true });
      return;
    default:
      await rm(path, { recursive: true, force: true });
      if (item.kind === "whisper") await rm(fileRecordPath(root, item.path), { force: true });
      if (item.kind === "snapshot-entry" || item.kind === "ref") await removeEmptyParents(path, root);
  }
}

async function removeEmptyParents(path: string, root: string): Promise<void> {
  let dir = join(path, "..");
  while (dir.startsWith(`${root}/`) && !/\/(snapshots|refs)$/.test(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = join(dir, "..");
  }
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const path of await filesBelow(dir)) {
    const info = await lstat(path);
    if (info.isFile()) total += info.size;
  }
  return total;
}
