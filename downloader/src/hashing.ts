import { createHash, type Hash } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

export interface Digests {
  sha256: string;
  /** The git blob sha1 (`sha1("blob <size>\0" + bytes)`): what the hub's etag is for files stored in git. */
  gitSha1?: string;
}

const READ_BUFFER_BYTES = 2 * 1024 * 1024;

/** sha256 of every byte, plus the git blob sha1 when the total size is known up front. */
export class ContentHasher {
  private readonly sha256 = createHash("sha256");
  private readonly sha1: Hash | undefined;
  private hashed = 0;

  constructor(gitBlobSize?: number) {
    if (gitBlobSize !== undefined) {
      this.sha1 = createHash("sha1");
      this.sha1.update(`blob ${gitBlobSize}\0`);
    }
  }

  get bytes(): number {
    return this.hashed;
  }

  update(chunk: Uint8Array): void {
    this.sha256.update(chunk);
    this.sha1?.update(chunk);
    this.hashed += chunk.length;
  }

  digest(): Digests {
    const sha256 = this.sha256.digest("hex");
    return this.sha1 ? { sha256, gitSha1: this.sha1.digest("hex") } : { sha256 };
  }
}

/**
 * Feed the first `length` bytes of an open file into `hasher`. Two buffers alternate so the
 * next read (in the libuv pool) overlaps the hashing of the current one (on this thread).
 */
export async function hashOpenFile(
  handle: FileHandle,
  hasher: ContentHasher,
  length: number,
  onBytes?: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  if (length <= 0) return;
  const size = Math.min(READ_BUFFER_BYTES, length);
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let position = 0;
  let current = 0;
  let pending = handle.read(buffers[0]!, 0, Math.min(size, length), 0);
  while (true) {
    const { bytesRead } = await pending;
    if (bytesRead === 0) throw new Error(`file ended after ${position} of ${length} bytes`);
    const chunk = buffers[current]!.subarray(0, bytesRead);
    position += bytesRead;
    current ^= 1;
    const remaining = length - position;
    if (remaining > 0) pending = handle.read(buffers[current]!, 0, Math.min(size, remaining), position);
    hasher.update(chunk);
    onBytes?.(bytesRead);
    if (remaining <= 0) return;
    signal?.throwIfAborted();
  }
}

/** Hash a whole file on disk; `gitBlob` also computes its git blob sha1. */
export async function hashFile(
  path: string,
  options: { gitBlob?: boolean; onBytes?: (bytes: number) => void; signal?: AbortSignal } = {},
): Promise<Digests & { size: number; info: BigIntStats }> {
  const handle = await open(path, "r");
  try {
    const info = await handle.stat({ bigint: true });
    const size = Number(info.size);
    const hasher = new ContentHasher(options.gitBlob ? size : undefined);
    await hashOpenFile(handle, hasher, size, options.onBytes, options.signal);
    return { ...hasher.digest(), size, info };
  } finally {
    await handle.close();
  }
}
