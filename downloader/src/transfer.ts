/**
 * One file from a URL to its final path: resumable (HTTP Range, in the same run after a dropped
 * connection and in the next run after a crash), hashed while streaming, verified before the
 * atomic rename, retried with backoff on 5xx/429/resets/timeouts/truncated bodies, and retried
 * once from scratch on a checksum mismatch.
 */
import type { IncomingHttpHeaders } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { ChecksumMismatchError, NetworkError, toCliError } from "./errors.js";
import { ContentHasher, type Digests } from "./hashing.js";
import { type HttpClient, type StatusHints, statusError } from "./http.js";
import { PartialFile } from "./partial-file.js";

export interface Mismatch {
  algorithm: string;
  expected: string;
  actual: string;
}

export interface TransferSpec {
  url: URL;
  /** Partial bytes live in `<partialDir>/<partialStem>.<random>.incomplete`. */
  partialDir: string;
  partialStem: string;
  finalPath: string;
  /** Expected total size when known (hub HEAD, manifest). */
  size: number | undefined;
  /** Also compute the git blob sha1 (git-stored hub files: their etag). */
  gitBlob: boolean;
  /** Compare the digests of the complete bytes with what is expected. */
  check: (digests: Digests, size: number) => Mismatch | undefined;
  hints: StatusHints;
  model: string;
  file: string;
}

export interface FileProgress {
  /** Called when the size becomes known and how many bytes are already on disk. */
  start(total: number | undefined, done: number): void;
  advance(bytes: number): void;
  /** The bytes on disk were dropped (restart from zero). */
  reset(): void;
}

export interface TransferContext {
  http: HttpClient;
  retries: number;
  backoffMs: number;
  signal: AbortSignal;
  /** fsync before the rename, so a verified file survives a power cut, not only a process crash. */
  durable: boolean;
  progress: FileProgress;
  log: (message: string) => void;
}

export interface TransferResult {
  size: number;
  /** Bytes received from the network in this run. */
  fetched: number;
  /** Bytes that were already on disk from an earlier, interrupted run. */
  resumedFrom: number;
  digests: Digests;
}

export async function transfer(spec: TransferSpec, ctx: TransferContext): Promise<TransferResult> {
  let fetched = 0;
  for (let pass = 1; ; pass++) {
    const partial = await PartialFile.open(spec.partialDir, spec.partialStem);
    partial.syncWhileWriting = ctx.durable;
    try {
      const resumedFrom = partial.size;
      const outcome = await fill(partial, spec, ctx);
      fetched += outcome.fetched;
      const mismatch = spec.check(outcome.digests, outcome.size);
      if (mismatch) {
        await partial.discard();
        const what = `${spec.model}: ${spec.file}: ${mismatch.algorithm} mismatch: expected ${mismatch.expected}, got ${mismatch.actual}`;
        if (pass === 1) {
          ctx.log(`${what}; deleted the bad bytes, downloading again (once)`);
          ctx.progress.reset();
          continue;
        }
        throw new ChecksumMismatchError(
          spec.model,
          spec.file,
          mismatch.algorithm,
          mismatch.expected,
          mismatch.actual,
          "after a second download",
        );
      }
      await partial.commit(spec.finalPath, ctx.durable);
      return { size: outcome.size, fetched, resumedFrom, digests: outcome.digests };
    } finally {
      await partial.close();
    }
  }
}

async function fill(
  partial: PartialFile,
  spec: TransferSpec,
  ctx: TransferContext,
): Promise<{ size: number; digests: Digests; fetched: number }> {
  let total = spec.size;
  let hasher: ContentHasher | undefined;
  let fetched = 0;
  let failures = 0;

  const startHasher = async (): Promise<ContentHasher> => {
    const fresh = new ContentHasher(spec.gitBlob && total !== undefined ? total : undefined);
    if (partial.size > 0) await partial.rehash(fresh, ctx.signal);
    hasher = fresh;
    ctx.progress.start(total, partial.size);
    return fresh;
  };
  const restart = async () => {
    await partial.truncate(0);
    hasher = undefined;
    ctx.progress.reset();
  };

  if (total !== undefined) {
    if (partial.size > total) await partial.truncate(0);
    if (partial.size > 0) ctx.log(`${spec.model}: ${spec.file}: resuming at byte ${partial.size} of ${total}`);
    await startHasher();
  }

  while (total === undefined || hasher === undefined || partial.size < total) {
    ctx.signal.throwIfAborted();
    const before = partial.size;
    try {
      const headers: Record<string, string> = partial.size > 0 ? { range: `bytes=${partial.size}-` } : {};
      const response = await ctx.http.open("GET", spec.url, { headers, redirects: "follow", signal: ctx.signal });
      if (response.status === 416) {
        response.body.resume();
        await restart();
        throw new NetworkError(`${spec.file}: the server refused to resume at byte ${before} (416); starting over`, true);
      }
      if (response.status !== 200 && response.status !== 206) throw statusError(response, spec.hints);
      const length = contentLength(response.headers);
      let answerTotal: number | undefined;
      if (response.status === 206) {
        const range = parseContentRange(response.headers["content-range"]);
        if (!range || range.start !== partial.size) {
          response.body.resume();
          await restart();
          throw new NetworkError(`${spec.file}: the server answered an unexpected range; starting over`, true);
        }
        answerTotal = range.total;
      } else {
        if (partial.size > 0) {
          ctx.log(`${spec.model}: ${spec.file}: the server ignored the Range request; starting over`);
          await restart();
        }
        answerTotal = length;
      }
      if (answerTotal !== undefined) {
        if (total !== undefined && answerTotal !== total) {
          response.body.resume();
          await restart();
          throw new ChecksumMismatchError(spec.model, spec.file, "size", String(total), String(answerTotal), "as the server announced it");
        }
        total = answerTotal;
      }
      const active = hasher ?? (await startHasher());
      await partial.append(
        response.body,
        active,
        (bytes) => {
          fetched += bytes;
          ctx.progress.advance(bytes);
        },
        total,
      );
      if (total === undefined) {
        total = partial.size;
        break;
      }
      if (partial.size < total) {
        throw new NetworkError(`${spec.file}: the connection closed after ${partial.size} of ${total} bytes`, true);
      }
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
      const failure = toCliError(error);
      if (!(failure instanceof NetworkError) || !failure.retryable) throw failure;
      if (partial.size > before) failures = 0;
      failures++;
      if (failures > ctx.retries) {
        throw new NetworkError(`${spec.model}: ${failure.message} (gave up after ${ctx.retries} retries)`, false, { cause: failure });
      }
      const delay = backoffDelay(failures, ctx.backoffMs, failure.retryAfterMs);
      ctx.log(`${spec.model}: ${spec.file}: ${failure.message}; retry ${failures}/${ctx.retries} in ${delay}ms from byte ${partial.size}`);
      await sleep(delay, undefined, { signal: ctx.signal }).catch(() => {
        throw ctx.signal.reason;
      });
    }
  }

  let digests = (hasher as ContentHasher).digest();
  if (spec.gitBlob && !digests.gitSha1) {
    // The size was unknown until the end (no Content-Length): hash once more, now that it is known.
    const again = new ContentHasher(total);
    await partial.rehash(again, ctx.signal);
    digests = again.digest();
  }
  return { size: total, digests, fetched };
}

function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers["content-length"];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

export function parseContentRange(value: string | undefined): { start: number; end: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? "");
  if (!match) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === "*" ? undefined : Number(match[3]) };
}

/** Exponential backoff with ±25% jitter, capped at 30 s; a server's Retry-After wins when longer (capped at 60 s). */
export function backoffDelay(failure: number, baseMs: number, retryAfterMs?: number): number {
  const exponential = Math.min(30_000, baseMs * 2 ** (failure - 1));
  const jittered = Math.round(exponential * (0.75 + Math.random() * 0.5));
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, 60_000));
}
