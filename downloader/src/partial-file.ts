/**
 * The only place partial bytes live: `<dir>/<stem>.<random>.incomplete`, each written by one
 * writer only. Bytes are hashed as they arrive and written in order; once complete and verified
 * the file is fsynced and renamed to its final name in one atomic step.
 *
 * A partial left by an earlier run is resumed, but never written in place: its writer may still
 * be alive (a frozen container, a stalled NFS client, a SIGSTOP) and go on writing into it once it
 * wakes. The taker renames it away (so that writer's final rename fails and it starts again), then
 * moves its bytes into a file of its own, from the end, truncating the old one as it goes: no
 * more disk space than one chunk, and a crash in the middle leaves a valid (shorter) partial.
 */

import type { BigIntStats } from "node:fs";
import { constants } from "node:fs";
import { copyFile, type FileHandle, open, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { NetworkError } from "./errors.js";
import { fsyncDir, isErrno, mkdirNoLinks, randomSuffix } from "./fs-util.js";
import { type ContentHasher, hashOpenFile } from "./hashing.js";

export const PARTIAL_SUFFIX = ".incomplete";
/** The tail of a partial being moved into its new owner's file: never resumed (its head is still in the old partial). */
export const MOVING_SUFFIX = ".moving";
/** A ranged download's state beside its partial: which byte spans are on disk (ranged.ts). */
export const RANGES_SUFFIX = ".ranges";

export function rangesPath(partialPath: string): string {
  return `${partialPath}${RANGES_SUFFIX}`;
}
/** Pause the socket when this many received bytes wait for the disk: memory stays flat whatever the file size. */
const MAX_QUEUED_BYTES = 2 * 1024 * 1024;
/** Per connection of a ranged download: several share the budget of one stream. */
const MAX_QUEUED_RANGE_BYTES = 512 * 1024;
const MOVE_CHUNK_BYTES = 8 * 1024 * 1024;

/** With fsync on, flush to disk every this many bytes while downloading, so the final fsync has little left. */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;
/** One background sync at a time in the process: each holds a libuv pool thread the writes need. */
let backgroundSyncRunning = false;

/** The partial was taken over (renamed away) by another downloader while this one wrote it: start again. */
export class PartialTakenError extends NetworkError {
  constructor(file: string) {
    super(`${file}: another downloader took over the partial download while this one was stalled`, true);
  }
}

/** The body went past the size it was allowed. */
export class OverflowError extends NetworkError {}

export class PartialFile {
  private closed = false;
  private syncing: Promise<void> | undefined;
  /** Bytes written since the last background sync (ranged writes land anywhere, so `size` does not tell). */
  private dirty = 0;
  /** Set by a durable transfer: write back while receiving instead of all at the end. */
  syncWhileWriting = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    /** Bytes on disk (written and, during a transfer, hashed). */
    public size: number,
  ) {}

  /**
   * A partial of this writer's own: with `resume`, holding the bytes of the largest one left for
   * `stem` (moved, not shared; the others are deleted); otherwise empty.
   */
  static async open(dir: string, stem: string, options: { resume: boolean } = { resume: true }): Promise<PartialFile> {
    await mkdirNoLinks(dir);
    const own = join(dir, `${stem}.${randomSuffix()}${PARTIAL_SUFFIX}`);
    if (options.resume) {
      const leftovers = await listLeftovers(dir, stem);
      for (const extra of leftovers.slice(1)) await rm(extra.path, { force: true });
      const largest = leftovers[0];
      if (largest && (await takeOver(largest.path, own, dir, stem))) {
        const handle = await open(own, "r+");
        return new PartialFile(own, handle, Number((await handle.stat()).size));
      }
    }
    return new PartialFile(own, await open(own, "wx+", 0o644), 0);
  }
  /** The open descriptor, for a reader on another thread (it must be done before `close()`). */
  get fd(): number {
    return this.handle.fd;
  }

  async truncate(size: number): Promise<void> {
    await this.syncing;
    await this.handle.truncate(size);
    this.size = size;
  }

  /** Hash the bytes already on disk (a resumed partial). */
  async rehash(hasher: ContentHasher, signal?: AbortSignal): Promise<void> {
    await hashOpenFile(this.handle, hasher, this.size, undefined, signal);
  }

  /**
   * Append a response body: each chunk is hashed on arrival and queued for the disk; writes run
   * in order while the next chunks arrive. Resolves when the body ended and every byte is on disk;
   * on a network error, rejects after the bytes received so far are written, so `size` is exact
   * and the next attempt resumes from it.
   */
  async append(body: Readable, hasher: ContentHasher, onBytes: (bytes: number) => void, limit?: number): Promise<void> {
    await pumpBody(
      this.handle,
      body,
      () => this.size,
      limit === undefined ? undefined : limit - this.size,
      (chunk) => {
        hasher.update(chunk);
        onBytes(chunk.length);
      },
      (bytes) => {
        this.size += bytes;
        this.dirty += bytes;
        this.backgroundSync();
      },
    );
  }

  /**
   * Write a body at `position` (a range of a ranged download): at most `length` bytes, in order.
   * `onWritten` is told each batch that reached the file, so on an error the caller knows exactly
   * how many bytes of the range are on disk. Nothing is hashed here.
   */
  async writeRange(
    body: Readable,
    position: number,
    length: number,
    onBytes: (bytes: number) => void,
    onWritten: (bytes: number) => void,
  ): Promise<void> {
    let done = 0;
    await pumpBody(
      this.handle,
      body,
      () => position + done,
      length,
      (chunk) => onBytes(chunk.length),
      (bytes) => {
        done += bytes;
        this.dirty += bytes;
        this.backgroundSync();
        onWritten(bytes);
      },
      MAX_QUEUED_RANGE_BYTES,
    );
  }

  /** Bytes a range lane wrote through `fd`: counted for the background sync like any other write. */
  wroteThroughFd(bytes: number): void {
    this.dirty += bytes;
    this.backgroundSync();
  }

  /** Bytes a range lane appended through `fd`, at `size`: the partial is that much longer. */
  appendedThroughFd(bytes: number): void {
    this.size += bytes;
    this.wroteThroughFd(bytes);
  }

  /** Whether this partial's name no longer leads to its file: another downloader took it over (renamed it away). */
  async taken(): Promise<boolean> {
    const [mine, named] = await Promise.all([this.handle.stat(), stat(this.path).catch(() => undefined)]);
    return !named || named.ino !== mine.ino || named.dev !== mine.dev;
  }

  /** Set the file's length (a ranged download's holes read as zeros until their range lands). */
  async resize(size: number): Promise<void> {
    await this.handle.truncate(size);
  }

  /** Read `[position, position + length)` into `buffer` (a ranged download hashes its contiguous prefix back from the page cache). */
  async readInto(buffer: Buffer, position: number, length: number): Promise<number> {
    let read = 0;
    while (read < length) {
      const { bytesRead } = await this.handle.read(buffer, read, length - read, position + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return read;
  }

  /** Start a datasync when enough bytes were written since the last one (never two at once). */
  private backgroundSync(): void {
    if (!this.syncWhileWriting || this.syncing || backgroundSyncRunning || this.dirty < SYNC_EVERY_BYTES) return;
    this.dirty = 0;
    backgroundSyncRunning = true;
    this.syncing = this.handle
      .datasync()
      .catch(() => undefined)
      .finally(() => {
        this.syncing = undefined;
        backgroundSyncRunning = false;
      });
  }

  /**
   * fsync, close and rename into place: the final name only ever holds complete, verified bytes.
   * Resolves with the file's fstat after the last write (what the verification record checks the
   * renamed file against); rejects with PartialTakenError when another downloader took the partial.
   */
  async commit(finalPath: string, durable: boolean, file: string): Promise<BigIntStats> {
    let info: BigIntStats;
    try {
      await this.syncing;
      await this.handle.chmod(0o644).catch(() => undefined);
      if (durable) await this.handle.sync();
      info = await this.handle.stat({ bigint: true });
    } finally {
      await this.close();
    }
    await mkdirNoLinks(dirname(finalPath));
    try {
      await rename(this.path, finalPath);
    } catch (error) {
      if (isErrno(error, "ENOENT")) throw new PartialTakenError(file);
      throw error;
    }
    if (durable) await fsyncDir(dirname(finalPath));
    return info;
  }

  async discard(): Promise<void> {
    await this.syncing;
    await this.close();
    await rm(this.path, { force: true });
    await rm(rangesPath(this.path), { force: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.syncing;
    await this.handle.close();
  }
}

async function listLeftovers(dir: string, stem: string): Promise<{ path: string; size: number }[]> {
  const prefix = `${stem}.`;
  const out: { path: string; size: number }[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix)) continue;
    const path = join(dir, name);
    if (name.endsWith(MOVING_SUFFIX)) {
      // A move that crashed: its head is still in the old partial.
      await rm(path, { force: true });
      continue;
    }
    if (!name.endsWith(PARTIAL_SUFFIX)) continue;
    try {
      out.push({ path, size: (await stat(path)).size });
    } catch {
      // Removed meanwhile.
    }
  }
  return out.sort((a, b) => b.size - a.size);
}

/** Move `leftover`'s bytes into `own` (which must not exist); false when there was nothing to take. */
async function takeOver(leftover: string, own: string, dir: string, stem: string): Promise<boolean> {
  // Claim it: from now on its old writer's rename fails, and no other taker finds it under that name. A ranged
  // partial's state goes first: the one taken then never claims bytes its writer wrote after (a subset is safe).
  const claimed = join(dir, `${stem}.${randomSuffix()}${PARTIAL_SUFFIX}`);
  await renameIfThere(rangesPath(leftover), rangesPath(claimed));
  try {
    await rename(leftover, claimed);
  } catch (error) {
    if (isErrno(error, "ENOENT")) {
      await rm(rangesPath(claimed), { force: true });
      return false;
    }
    throw error;
  }
  const moving = `${own.slice(0, -PARTIAL_SUFFIX.length)}${MOVING_SUFFIX}`;
  try {
    // A reflink (btrfs, XFS) costs nothing; elsewhere, move the bytes.
    await copyFile(claimed, moving, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
  } catch {
    await rm(moving, { force: true });
    await moveFromTheEnd(claimed, moving);
  }
  await rename(moving, own);
  await renameIfThere(rangesPath(claimed), rangesPath(own));
  await rm(claimed, { force: true });
  return true;
}

async function renameIfThere(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
}

/**
 * Copy `from` into the new file `to` chunk by chunk from the end, truncating `from` behind each
 * chunk: disk use stays flat, and at every moment `from` still holds a valid prefix. Only the
 * bytes `from` held when it was claimed are moved (a stalled writer may append past them).
 */
async function moveFromTheEnd(from: string, to: string): Promise<void> {
  const source = await open(from, "r+");
  try {
    const target = await open(to, "wx", 0o644);
    try {
      let end = Number((await source.stat()).size);
      await target.truncate(end);
      const buffer = Buffer.allocUnsafe(Math.min(MOVE_CHUNK_BYTES, Math.max(1, end)));
      while (end > 0) {
        const start = Math.max(0, end - buffer.length);
        const length = end - start;
        let read = 0;
        while (read < length) {
          const { bytesRead } = await source.read(buffer, read, length - read, start + read);
          if (bytesRead === 0) throw new Error(`${from} shrank while it was moved`);
          read += bytesRead;
        }
        let written = 0;
        while (written < length) written += (await target.write(buffer, written, length - written, start + written)).bytesWritten;
        await source.truncate(start);
        end = start;
      }
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * Pump a response body into a file: each chunk is handed to `onChunk` on arrival and queued for
 * the disk; writes run in order at `position()` while the next chunks arrive, and the socket is
 * paused while too much waits. Resolves when the body ended and every byte is on disk; on a
 * network error, rejects after the bytes received so far are written (each batch reported to
 * `onWritten`). At most `limit` bytes are accepted (more fails with OverflowError).
 */
async function pumpBody(
  handle: FileHandle,
  body: Readable,
  position: () => number,
  limit: number | undefined,
  onChunk: (chunk: Buffer) => void,
  onWritten: (bytes: number) => void,
  maxQueued = MAX_QUEUED_BYTES,
): Promise<void> {
  let queue: Buffer[] = [];
  let queued = 0;
  let accepted = 0;
  let writing: Promise<void> | undefined;
  let writeError: unknown;
  let paused = false;
  let overflow = false;

  const pump = async (): Promise<void> => {
    while (queue.length > 0 && writeError === undefined) {
      const batch = queue;
      const bytes = queued;
      queue = [];
      queued = 0;
      try {
        let written = 0;
        const at = position();
        while (written < bytes) {
          const pending = written === 0 ? batch : [Buffer.concat(batch).subarray(written)];
          const { bytesWritten } = await handle.writev(pending, at + written);
          written += bytesWritten;
        }
        onWritten(bytes);
      } catch (error) {
        writeError = error;
        body.destroy();
      }
      if (paused && queued < maxQueued / 2) {
        paused = false;
        body.resume();
      }
    }
    writing = undefined;
  };

  body.on("data", (chunk: Buffer) => {
    if (writeError !== undefined || overflow) return;
    if (limit !== undefined && accepted + chunk.length > limit) {
      // More bytes than the file (or range) has: the server is wrong; keep nothing past the limit.
      overflow = true;
      chunk = chunk.subarray(0, Math.max(0, limit - accepted));
      body.destroy(new OverflowError(`the server sent more than the expected ${limit} bytes`, true));
    }
    if (chunk.length === 0) return;
    accepted += chunk.length;
    onChunk(chunk);
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= maxQueued && !paused) {
      paused = true;
      body.pause();
    }
    writing ??= pump();
  });

  let streamError: unknown;
  try {
    await finished(body);
  } catch (error) {
    streamError = error;
  }
  while (writing) await writing;
  if (writeError !== undefined) throw writeError;
  if (streamError !== undefined) throw streamError;
}
