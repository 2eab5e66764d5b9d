/**
 * The only place partial bytes live: `<dir>/<stem>.<random>.incomplete`. Bytes are hashed as
 * they arrive and written in order; once complete and verified the file is fsynced and renamed
 * to its final name in one atomic step. A partial left by a crash is found by its stem and
 * resumed (its bytes are re-hashed from disk first).
 */
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { NetworkError } from "./errors.js";
import { fsyncDir, randomSuffix } from "./fs-util.js";
import { type ContentHasher, hashOpenFile } from "./hashing.js";

const SUFFIX = ".incomplete";
/** Pause the socket when this many received bytes wait for the disk: memory stays flat whatever the file size. */
const MAX_QUEUED_BYTES = 2 * 1024 * 1024;

/** With fsync on, flush to disk every this many bytes while downloading, so the final fsync has little left. */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;
/** One background sync at a time in the process: each holds a libuv pool thread the writes need. */
let backgroundSyncRunning = false;

export class PartialFile {
  private closed = false;
  private syncing: Promise<void> | undefined;
  private syncedUpTo = 0;
  /** Set by a durable transfer: write back while receiving instead of all at the end. */
  syncWhileWriting = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    /** Bytes on disk (written and, during a transfer, hashed). */
    public size: number,
  ) {}

  /** Reuse the largest partial left for `stem` (others are deleted), or create a new one. */
  static async open(dir: string, stem: string): Promise<PartialFile> {
    await mkdir(dir, { recursive: true });
    const prefix = `${stem}.`;
    const leftovers: { path: string; size: number }[] = [];
    for (const name of await readdir(dir)) {
      if (!name.startsWith(prefix) || !name.endsWith(SUFFIX)) continue;
      const path = join(dir, name);
      try {
        leftovers.push({ path, size: (await stat(path)).size });
      } catch {
        // Removed meanwhile by its owner.
      }
    }
    leftovers.sort((a, b) => b.size - a.size);
    for (const extra of leftovers.slice(1)) await rm(extra.path, { force: true });
    const reuse = leftovers[0];
    if (reuse) {
      try {
        const handle = await open(reuse.path, "r+");
        return new PartialFile(reuse.path, handle, (await handle.stat()).size);
      } catch {
        await rm(reuse.path, { force: true });
      }
    }
    const path = join(dir, `${stem}.${randomSuffix()}${SUFFIX}`);
    return new PartialFile(path, await open(path, "wx+", 0o644), 0);
  }

  async truncate(size: number): Promise<void> {
    await this.syncing;
    await this.handle.truncate(size);
    this.size = size;
    this.syncedUpTo = Math.min(this.syncedUpTo, size);
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
    let queue: Buffer[] = [];
    let queued = 0;
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
          while (written < bytes) {
            const pending = written === 0 ? batch : [Buffer.concat(batch).subarray(written)];
            const { bytesWritten } = await this.handle.writev(pending, this.size + written);
            written += bytesWritten;
          }
          this.size += bytes;
          this.backgroundSync();
        } catch (error) {
          writeError = error;
          body.destroy();
        }
        if (paused && queued < MAX_QUEUED_BYTES / 2) {
          paused = false;
          body.resume();
        }
      }
      writing = undefined;
    };

    body.on("data", (chunk: Buffer) => {
      if (writeError !== undefined || overflow) return;
      if (limit !== undefined && this.size + queued + chunk.length > limit) {
        // More bytes than the file has: the server is wrong; keep nothing past the limit.
        overflow = true;
        chunk = chunk.subarray(0, Math.max(0, limit - this.size - queued));
        body.destroy(new NetworkError(`the server sent more than the expected ${limit} bytes`, true));
      }
      if (chunk.length === 0) return;
      hasher.update(chunk);
      onBytes(chunk.length);
      queue.push(chunk);
      queued += chunk.length;
      if (queued >= MAX_QUEUED_BYTES && !paused) {
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

  /** Start a datasync when enough bytes were written since the last one (never two at once). */
  private backgroundSync(): void {
    if (!this.syncWhileWriting || this.syncing || backgroundSyncRunning || this.size - this.syncedUpTo < SYNC_EVERY_BYTES) return;
    const upTo = this.size;
    backgroundSyncRunning = true;
    this.syncing = this.handle
      .datasync()
      .then(() => {
        this.syncedUpTo = upTo;
      })
      .catch(() => undefined)
      .finally(() => {
        this.syncing = undefined;
        backgroundSyncRunning = false;
      });
  }

  /** fsync, close and rename into place: the final name only ever holds complete, verified bytes. */
  async commit(finalPath: string, durable: boolean): Promise<void> {
    try {
      await this.syncing;
      await this.handle.chmod(0o644).catch(() => undefined);
      if (durable) await this.handle.sync();
    } finally {
      await this.close();
    }
    await mkdir(dirname(finalPath), { recursive: true });
    await rename(this.path, finalPath);
    if (durable) await fsyncDir(dirname(finalPath));
  }

  async discard(): Promise<void> {
    await this.syncing;
    await this.close();
    await rm(this.path, { force: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.syncing;
    await this.handle.close();
  }
}
