import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CliError, FilesystemError } from "../../downloader/src/errors.js";
import { EXIT } from "../../downloader/src/exit-codes.js";
import { HashWorker, ShortReadError } from "../../downloader/src/hash-worker.js";
import { hashFile } from "../../downloader/src/hashing.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "hash-worker-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("hashing in a worker thread", () => {
  it("gives the digests of exactly the bytes on disk, fed in uneven steps, sha256 and git blob sha1", async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 12345);
    const path = join(dir, "f");
    await writeFile(path, bytes);
    const handle = await open(path, "r");
    const worker = new HashWorker(handle.fd, { gitBlobSize: bytes.length, label: "f", bufferBytes: 64 * 1024 + 7 });
    try {
      for (const step of [1, 100_000, 100_000, 3 * 1024 * 1024]) worker.advance(step);
      const digests = await worker.finish(bytes.length);
      expect(digests.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
      expect(digests.gitSha1).toBe(createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex"));
      // The same as the main-thread hasher that verify uses.
      expect(digests).toEqual(await hashFile(path, { gitBlob: true }).then(({ sha256, gitSha1 }) => ({ sha256, gitSha1 })));
    } finally {
      await worker.stop();
      await handle.close();
    }
  });

  it("an empty prefix hashes to the empty digest", async () => {
    const path = join(dir, "empty");
    await writeFile(path, "");
    const handle = await open(path, "r");
    const worker = new HashWorker(handle.fd, { label: "empty" });
    try {
      expect(await worker.finish(0)).toEqual({ sha256: createHash("sha256").digest("hex") });
    } finally {
      await worker.stop();
      await handle.close();
    }
  });

  it("a file shorter than the prefix it was told about fails with a short read (the caller's takeover signal)", async () => {
    const path = join(dir, "short");
    await writeFile(path, randomBytes(1000));
    const handle = await open(path, "r");
    const worker = new HashWorker(handle.fd, { label: "short" });
    try {
      const error = await worker.finish(5000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ShortReadError);
      expect((error as ShortReadError).at).toBe(1000);
      expect(worker.error).toBe(error);
    } finally {
      await worker.stop();
      await handle.close();
    }
  });

  it("a thread whose reads fail fails the file with a file-system error (exit 6), no digest", async () => {
    // A directory's descriptor: reading it throws EISDIR inside the thread, an uncaught error that ends it.
    const handle = await open(dir, "r");
    const worker = new HashWorker(handle.fd, { label: "m: gone" });
    try {
      const error = await worker.finish(1000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FilesystemError);
      expect((error as Error).message).toMatch(/^m: gone: hashing failed after 0 bytes: EISDIR/);
      expect((error as CliError).exitCode).toBe(EXIT.filesystem);
    } finally {
      await worker.stop();
      await handle.close();
    }
  });

  it("a thread that ends before the end fails this file only (exit 1, not a disk error), no digest", async () => {
    const path = join(dir, "stopped");
    await writeFile(path, randomBytes(1000));
    const handle = await open(path, "r");
    const worker = new HashWorker(handle.fd, { label: "m: stopped" });
    try {
      await worker.stop();
      const error = await worker.finish(1000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CliError);
      expect(error).not.toBeInstanceOf(FilesystemError);
      expect((error as CliError).exitCode).toBe(EXIT.unexpected);
      expect((error as Error).message).toContain("m: stopped: the hashing thread stopped");
    } finally {
      await handle.close();
    }
  });
});
