import { randomBytes } from "node:crypto";
import { lstat, mkdir, open, readdir, readFile, readlink, realpath, rename, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { FilesystemError } from "./errors.js";

export function randomSuffix(): string {
  return randomBytes(8).toString("hex");
}

/** Write a file so readers see the old content or the new one, never a mix: temp file, fsync, rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: { durable?: boolean } = {}): Promise<void> {
  await mkdirNoLinks(dirname(path));
  const temp = `${path}.${randomSuffix()}.tmp`;
  const handle = await open(temp, "wx", 0o644);
  try {
    await handle.writeFile(data);
    // Skipped for the downloader's own bookkeeping (records, range state): one lost to a power cut is only re-done.
    if (options.durable !== false) await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Write only when the content differs, so a warm run writes nothing. */
export async function writeFileIfChanged(path: string, data: string): Promise<boolean> {
  if ((await readFileOrUndefined(path)) === data) return false;
  await writeFileAtomic(path, data);
  return true;
}

export async function readFileOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT", "ENOTDIR", "EISDIR")) return undefined;
    throw error;
  }
}

export async function readlinkOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch (error) {
    // EINVAL: the path exists but is not a symlink.
    if (isErrno(error, "ENOENT", "ENOTDIR", "EINVAL")) return undefined;
    throw error;
  }
}

/** Point `path` at `target` atomically (symlink under a temp name, then rename over the old entry). */
export async function symlinkAtomic(target: string, path: string): Promise<void> {
  // Checked first: an entry that already says the right thing may sit in a linked folder (snapshots/ -> elsewhere).
  await mkdirNoLinks(dirname(path));
  if ((await readlinkOrUndefined(path)) === target) return;
  const temp = `${path}.${randomSuffix()}.tmp`;
  await symlink(target, temp);
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Make a rename inside `dir` durable (best effort: some file systems refuse to fsync a directory). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // EINVAL/EISDIR on some network file systems: the rename is still atomic, only less durable.
  } finally {
    await handle?.close();
  }
}

export function isErrno(error: unknown, ...codes: string[]): boolean {
  return !!error && typeof error === "object" && "code" in error && codes.includes(String((error as { code: unknown }).code));
}

/** The real path, or undefined when it does not exist. */
export async function realpathOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (error) {
    if (isErrno(error, "ENOENT", "ENOTDIR")) return undefined;
    throw error;
  }
}

/**
 * `mkdir -p` that refuses to write through a link: every path the downloader writes is built on
 * the cache root's real path, so any difference between a folder's text and its real path is a
 * link below the root (`snapshots/`, `blobs/`, `whisper/` pointing elsewhere), and writing through
 * it would touch files outside the cache.
 */
export async function mkdirNoLinks(dir: string): Promise<void> {
  for (let existing = dir; ; existing = dirname(existing)) {
    const real = await realpathOrUndefined(existing);
    if (real === undefined) {
      if (dirname(existing) === existing) break;
      continue;
    }
    if (real !== existing) {
      throw new FilesystemError(
        `${existing} is a symbolic link (to ${real}): the downloader never writes through a link in the cache; remove the link and run again`,
      );
    }
    break;
  }
  await mkdir(dir, { recursive: true });
}

/**
 * Entries of `dir` in name order (lstat types), or none when `dir` is missing or is not a real
 * folder: a link to a folder is never followed, so nothing outside the cache is listed.
 */
export async function listRealDir(dir: string) {
  try {
    if (!(await lstat(dir)).isDirectory()) return [];
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  } catch (error) {
    if (isErrno(error, "ENOENT", "ENOTDIR")) return [];
    throw error;
  }
}

/** Files and symlinks below `dir`, in name order, not following links. */
export async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await listRealDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesBelow(path)));
    else out.push(path);
  }
  return out;
}
