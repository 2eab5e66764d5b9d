/**
 * Where things live in the cache (docs/architecture.md, "Cache layout"): what
 * huggingface_hub reads offline, plus the downloader's own state in `<root>/.model-cache/`,
 * which no consumer reads.
 */
import { createHash } from "node:crypto";
import { mkdir, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { CACHEDIR_TAG_FILE, DOWNLOADER_STATE_DIR, hubRepoFolder, WHISPER_DIR } from "../../components/core/contract.js";
import type { FileModel, WhisperModel } from "../../components/core/manifest.js";
import { FilesystemError } from "./errors.js";
import { isErrno, realpathOrUndefined, writeFileAtomic, writeFileIfChanged } from "./fs-util.js";

/** The downloader's own state below the cache root: records, locks, partial plain-URL downloads. */
export const STATE_DIR = DOWNLOADER_STATE_DIR;

export const CACHEDIR_TAG = CACHEDIR_TAG_FILE;
/** https://bford.info/cachedir/: backup tools skip a directory holding this file. */
export const CACHEDIR_TAG_CONTENT =
  "Signature: 8a477f597d28d172789f06886806bc55\n" +
  "# This file is a cache directory tag created by model-cache.\n" +
  "# For information about cache directory tags, see https://bford.info/cachedir/\n";

/** Blob names are the hub's etags: a 64-hex sha256 (LFS) or a 40-hex git blob sha1. */
export const ETAG_FILE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface HubRepoPaths {
  folder: string;
  dir: string;
  blobsDir: string;
}

export function hubRepoPaths(root: string, repo: string): HubRepoPaths {
  const folder = hubRepoFolder(repo);
  const dir = join(root, folder);
  return { folder, dir, blobsDir: join(dir, "blobs") };
}

export function blobPath(repo: HubRepoPaths, etag: string): string {
  return join(repo.blobsDir, etag);
}

export function snapshotDir(repo: HubRepoPaths, commit: string): string {
  return join(repo.dir, "snapshots", commit);
}

/** `snapshots/<commit>/<path>`: where a consumer opens the file. */
export function pointerPath(repo: HubRepoPaths, commit: string, file: string): string {
  return join(snapshotDir(repo, commit), ...file.split("/"));
}

export function refPath(repo: HubRepoPaths, ref: string): string {
  return join(repo.dir, "refs", ...ref.split("/"));
}

/** The relative link a pointer holds: `../../blobs/<etag>`, one more `../` per sub-folder. */
export function pointerTarget(pointer: string, blob: string): string {
  return relative(dirname(pointer), blob);
}

/** The blob name a pointer's link designates, if it has the expected `../…/blobs/<etag>` shape. */
export function blobNameFromTarget(repo: HubRepoPaths, pointer: string, target: string): string | undefined {
  const resolved = join(dirname(pointer), target);
  if (dirname(resolved) !== repo.blobsDir) return undefined;
  const name = resolved.slice(repo.blobsDir.length + 1);
  return ETAG_FILE_RE.test(name) && pointerTarget(pointer, resolved) === target ? name : undefined;
}

/** Whisper reads `$XDG_CACHE_HOME/whisper/<name>.pt`; plain files sit at `<root>/<path>`. */
export function urlModelPath(root: string, model: WhisperModel | FileModel): { path: string; relative: string } {
  const rel = model.kind === "whisper" ? `${WHISPER_DIR}/${model.name}.pt` : model.path;
  return { path: join(root, ...rel.split("/")), relative: rel };
}

/** The cache root's real path (created first with `create`; as given when it does not exist). */
export async function realRoot(root: string, options: { create: boolean }): Promise<string> {
  if (options.create) await mkdir(root, { recursive: true });
  return (await realpathOrUndefined(root)) ?? resolve(root);
}

/** Records, locks and partials must live in the cache itself: a linked state folder is refused, never trusted. */
export async function assertStateDirReal(root: string): Promise<void> {
  for (const dir of [stateDir(root), join(stateDir(root), "verified")]) {
    const real = await realpathOrUndefined(dir);
    if (real !== undefined && real !== dir) {
      throw new FilesystemError(`${dir} is a symbolic link (to ${real}): the downloader's records must live in the cache; remove the link`);
    }
  }
}

/** A plain file's partials are `<stem>.<random>.incomplete` in partialsDir, one stem per destination. */
export function urlPartialStem(relativePath: string): string {
  return createHash("sha256").update(relativePath).digest("hex");
}

export function stateDir(root: string): string {
  return join(root, STATE_DIR);
}

export function locksDir(root: string): string {
  return join(root, STATE_DIR, "locks");
}

/** Partial downloads of plain URLs (whisper, files): same volume as their target, so the rename is atomic. */
export function partialsDir(root: string): string {
  return join(root, STATE_DIR, "partial");
}

/** `refs/<ref>` holds the bare commit, no trailing newline (huggingface_hub reads it verbatim). */
export async function writeRef(repo: HubRepoPaths, ref: string, commit: string): Promise<boolean> {
  return writeFileIfChanged(refPath(repo, ref), commit);
}

export async function ensureCacheDirTag(root: string): Promise<void> {
  const path = join(root, CACHEDIR_TAG);
  try {
    await stat(path);
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
    await writeFileAtomic(path, CACHEDIR_TAG_CONTENT);
  }
}
