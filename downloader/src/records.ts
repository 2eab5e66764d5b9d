/**
 * Verification records: written when a file's bytes were hashed and matched, so `verify` and a
 * warm `download` can trust the file again without re-reading it, as long as its device, inode,
 * size, mtime and ctime are unchanged. ctime cannot be set back from user space (`touch -r` sets
 * mtime, and changes ctime), so an in-place edit with size and mtime restored is still seen.
 * One small JSON file per blob (or plain file) so that two downloaders never read-modify-write a
 * shared file; each is written atomically.
 */
import type { BigIntStats } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { SHA1_RE, SHA256_RE } from "../../components/core/contract.js";
import { isErrno, readFileOrUndefined, writeFileAtomic } from "./fs-util.js";
import { type Digests, hashFile } from "./hashing.js";
import { STATE_DIR } from "./layout.js";

export const RecordSchema = z
  .object({
    version: z.literal(2),
    size: z.number().int().nonnegative(),
    /** Nanoseconds, device and inode as decimal strings: all can exceed 2^53 (NFS/EFS file ids do). */
    mtimeNs: z.string().regex(/^\d+$/),
    ctimeNs: z.string().regex(/^\d+$/),
    dev: z.string().regex(/^\d+$/),
    ino: z.string().regex(/^\d+$/),
    sha256: z.string().regex(SHA256_RE),
    gitSha1: z.string().regex(SHA1_RE).optional(),
    /** What the bytes were compared with: "manifest sha256", "manifest gitSha1", "hub etag". */
    checkedAgainst: z.array(z.string()),
    verifiedAt: z.string(),
  })
  .strict();

export type VerificationRecord = z.infer<typeof RecordSchema>;

export function blobRecordPath(root: string, repoFolder: string, etag: string): string {
  return join(root, STATE_DIR, "verified", "blobs", repoFolder, `${etag}.json`);
}

export function fileRecordPath(root: string, relativePath: string): string {
  return join(root, STATE_DIR, "verified", "files", ...`${relativePath}.json`.split("/"));
}

export async function readRecord(path: string): Promise<VerificationRecord | undefined> {
  const text = await readFileOrUndefined(path);
  if (text === undefined) return undefined;
  try {
    const parsed = RecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function statOrUndefined(path: string): Promise<BigIntStats | undefined> {
  try {
    return await stat(path, { bigint: true });
  } catch (error) {
    if (isErrno(error, "ENOENT", "ENOTDIR")) return undefined;
    throw error;
  }
}

/** The identity of a file's bytes as cheap metadata: what a record is checked against. */
export function sameFile(a: BigIntStats, b: BigIntStats, options: { ctime: boolean }): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && (!options.ctime || a.ctimeNs === b.ctimeNs);
}

/**
 * Record that `verifiedFile` holds bytes with these digests. `hashedAs` is the file's fstat taken
 * when those bytes were hashed (before the rename, which changes ctime): when the file on disk is
 * no longer that one (another writer, an edit), the record is not written from the stream's
 * digests but the file is hashed again first; undefined when its bytes differ.
 */
export async function writeRecord(
  recordPath: string,
  verifiedFile: string,
  digests: Digests,
  checkedAgainst: string[],
  hashedAs?: BigIntStats,
): Promise<VerificationRecord | undefined> {
  let info = await stat(verifiedFile, { bigint: true });
  if (hashedAs && !sameFile(info, hashedAs, { ctime: false })) {
    const again = await hashFile(verifiedFile, { gitBlob: digests.gitSha1 !== undefined });
    if (again.sha256 !== digests.sha256 || again.gitSha1 !== digests.gitSha1) return undefined;
    info = await stat(verifiedFile, { bigint: true });
  }
  const record: VerificationRecord = {
    version: 2,
    size: Number(info.size),
    mtimeNs: info.mtimeNs.toString(),
    ctimeNs: info.ctimeNs.toString(),
    dev: info.dev.toString(),
    ino: info.ino.toString(),
    sha256: digests.sha256,
    ...(digests.gitSha1 ? { gitSha1: digests.gitSha1 } : {}),
    checkedAgainst,
    verifiedAt: new Date().toISOString(),
  };
  await writeFileAtomic(recordPath, `${JSON.stringify(record, null, 1)}\n`, { durable: false });
  return record;
}

export interface ExpectedContent {
  sha256?: string;
  gitSha1?: string;
  size?: number;
}

/** Why a record does not vouch for the file (undefined when it does). */
export function recordProblem(record: VerificationRecord, info: BigIntStats, expected: ExpectedContent): string | undefined {
  if (
    BigInt(record.size) !== info.size ||
    record.mtimeNs !== info.mtimeNs.toString() ||
    record.ctimeNs !== info.ctimeNs.toString() ||
    record.dev !== info.dev.toString() ||
    record.ino !== info.ino.toString()
  ) {
    return "changed since it was verified (size, mtime, ctime, device or inode differ)";
  }
  if (expected.size !== undefined && expected.size !== record.size) {
    return `size ${record.size} differs from the manifest's ${expected.size}`;
  }
  if (expected.sha256 !== undefined && record.sha256 !== expected.sha256) {
    return `verified sha256 ${record.sha256} differs from the manifest's ${expected.sha256}`;
  }
  if (expected.gitSha1 !== undefined && record.gitSha1 !== expected.gitSha1) {
    return `verified git sha1 ${record.gitSha1 ?? "(none)"} differs from the expected ${expected.gitSha1}`;
  }
  return undefined;
}
