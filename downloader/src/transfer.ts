/**
 * One file from a URL to its final path: resumable (HTTP Range, in the same run after a dropped
 * connection and in the next run after a crash), hashed while streaming, verified before the
 * atomic rename, retried with backoff on 5xx/429/resets/timeouts/truncated bodies, and retried
 * once from scratch on a checksum mismatch.
 */

import type { BigIntStats } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { ChecksumMismatchError, CliError, NetworkError, SlowTransferError, toCliError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { ContentHasher, type Digests } from "./hashing.js";
import { type HttpClient, type StatusHints, statusError, statusErrorOf } from "./http.js";
import { OverflowError, PartialFile, PartialTakenError } from "./partial-file.js";
import type { LaneAnswer, LaneRequest, RangeLane } from "./range-lane.js";
import { connectionsFor, fillRanged, rangesPath, readRangeState } from "./ranged.js";

export interface Mismatch {
  algorithm: string;
  expected: string;
  actual: string;
}

export interface TransferSpec {
  url: URL;
  /** Where the bytes are when the hub said so (an LFS file's CDN URL from its HEAD): tried first, without the token. */
  directUrl?: URL;
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
  /** --timeout: the window the minimum rate is measured over (the idle timeout itself is the HTTP client's). */
  timeoutMs: number;
  /** --min-rate: a body below this many bytes/s over a whole window is abandoned and resumed (0: off). */
  minBytesPerSecond: number;
  /** --max-time: the most one file may take, retries included. */
  maxTimeMs: number;
  /** --max-size: the most bytes accepted for a file whose size nobody gave. */
  maxBytes: number;
  /** --connections: connections per file (undefined: chosen from the size). */
  connections: number | undefined;
}

export interface TransferResult {
  size: number;
  /** Bytes received from the network in this run. */
  fetched: number;
  /** Bytes that were already on disk from an earlier, interrupted run. */
  resumedFrom: number;
  digests: Digests;
  /** The file's fstat after its last write, before the rename. */
  committed: BigIntStats;
}

export async function transfer(spec: TransferSpec, outer: TransferContext): Promise<TransferResult> {
  // The whole file, retries included, within --max-time: a server that keeps sending just enough never holds a run forever.
  const deadline = new AbortController();
  const timer = setTimeout(
    () =>
      deadline.abort(
        new NetworkError(
          `${spec.model}: ${spec.file}: not complete after ${outer.maxTimeMs / 1000}s (--max-time); the partial download is kept and resumes on the next run`,
          false,
        ),
      ),
    outer.maxTimeMs,
  );
  timer.unref();
  const ctx: TransferContext = { ...outer, signal: AbortSignal.any([outer.signal, deadline.signal]) };
  let fetched = 0;
  let taken = 0;
  try {
    for (let pass = 1; ; ) {
      const partial = await PartialFile.open(spec.partialDir, spec.partialStem, { resume: pass === 1 });
      partial.syncWhileWriting = ctx.durable;
      try {
        const resumedFrom = partial.size;
        const outcome = await fillBest(partial, spec, ctx);
        fetched += outcome.fetched;
        const mismatch = spec.check(outcome.digests, outcome.size);
        // Wrong bytes in a partial someone else took over are that takeover's doing, not the server's.
        if (mismatch && (await partial.taken())) throw new PartialTakenError(spec.file);
        if (mismatch) {
          await partial.discard();
          await rm(rangesPath(partial.path), { force: true });
          const what = `${spec.model}: ${spec.file}: ${mismatch.algorithm} mismatch: expected ${mismatch.expected}, got ${mismatch.actual}`;
          if (pass === 1) {
            ctx.log(`${what}; deleted the bad bytes, downloading again (once)`);
            ctx.progress.reset();
            pass++;
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
        const committed = await partial.commit(spec.finalPath, ctx.durable, spec.file);
        await rm(rangesPath(partial.path), { force: true });
        return { size: outcome.size, fetched, resumedFrom, digests: outcome.digests, committed };
      } catch (error) {
        // Our partial was claimed by a downloader that thought this one dead: take back whatever it left.
        if (error instanceof PartialTakenError && ++taken <= MAX_TAKEOVERS && !ctx.signal.aborted) {
          ctx.log(`${error.message}; starting again from what is on disk`);
          ctx.progress.reset();
          continue;
        }
        throw error;
      } finally {
        await partial.close();
      }
    }
  } catch (error) {
    if (deadline.signal.aborted && !outer.signal.aborted) throw deadline.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

const MAX_TAKEOVERS = 3;

/** Several connections for a large file of known size whose server splits it into ranges; else one stream. */
async function fillBest(
  partial: PartialFile,
  spec: TransferSpec,
  ctx: TransferContext,
): Promise<{ size: number; digests: Digests; fetched: number }> {
  if (spec.size !== undefined) {
    const connections = connectionsFor(spec.size, ctx.connections);
    if (connections > 1) {
      const outcome = await fillRanged(partial, { ...spec, size: spec.size }, ctx, connections);
      if (outcome !== "unsupported") return outcome;
      ctx.log(`${spec.model}: ${spec.file}: the server does not split it into ranges; one stream`);
      return fill(partial, spec, ctx);
    }
    // One stream on a partial a ranged run left: only its contiguous prefix counts.
    const spans = await readRangeState(partial.path, spec.size);
    if (spans) {
      await partial.truncate(spans[0]?.[0] === 0 ? spans[0][1] : 0);
      await rm(rangesPath(partial.path), { force: true });
    }
  }
  return fill(partial, spec, ctx);
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
  const tooLarge = (bytes: number) =>
    new CliError(
      `${spec.model}: ${spec.file}: the server sent more than ${bytes} bytes for a file the manifest gives no size for (--max-size); add its size to the manifest or raise --max-size`,
      EXIT.network,
    );

  // The first attempt at a file of known size goes over a range lane, straight to where the bytes are (the CDN URL the
  // hub's HEAD answered, as huggingface_hub does); whatever the lane does not take, and every retry, goes through node:http.
  let laneUrl = total !== undefined ? (spec.directUrl ?? spec.url) : undefined;
  const fillOverLane = async (url: URL, size: number, active: ContentHasher): Promise<boolean> => {
    const lane = await ctx.http.lane(ctx.signal);
    if (!lane) return false;
    try {
      const answer = await overLane(lane, spec, ctx, {
        url,
        start: partial.size,
        end: size,
        size,
        sink: {
          fd: partial.fd,
          onReceived: (chunk) => {
            active.update(chunk);
            fetched += chunk.length;
          },
          onWritten: (bytes) => partial.appendedThroughFd(bytes),
        },
        form: "rest",
      });
      if (answer.kind === "status") {
        // A resume refused (416): node:http starts over, as it does for any 416. A CDN URL refused: node:http asks the
        // resolve URL for a fresh one, now.
        if (answer.status === 416 || (url !== spec.url && isRefusal(answer.status))) return false;
        throw statusErrorOf({ status: answer.status, headers: answer.headers, url }, spec.hints);
      }
      return answer.kind === "done";
    } catch (error) {
      // Received but never written (a write failed after the connection did): hash again from what is on disk.
      if (active.bytes !== partial.size) hasher = undefined;
      throw error;
    } finally {
      ctx.http.release(lane);
    }
  };

  if (total !== undefined) {
    if (partial.size > total) await partial.truncate(0);
    if (partial.size > 0) ctx.log(`${spec.model}: ${spec.file}: resuming at byte ${partial.size} of ${total}`);
    await startHasher();
  } else if (partial.size > ctx.maxBytes) {
    await partial.truncate(0);
  }

  while (total === undefined || hasher === undefined || partial.size < total) {
    ctx.signal.throwIfAborted();
    const before = partial.size;
    let watch: RateWatch | undefined;
    try {
      if (laneUrl && total !== undefined && hasher) {
        const url = laneUrl;
        laneUrl = undefined;
        if (await fillOverLane(url, total, hasher)) continue;
      }
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
          // The bytes already here are still good (the range started where they end): keep them for the next run.
          response.body.destroy();
          throw announcedSizeMismatch(spec, total, answerTotal);
        }
        if (total === undefined && answerTotal > ctx.maxBytes) {
          response.body.destroy();
          throw tooLarge(ctx.maxBytes);
        }
        total = answerTotal;
      }
      const active = hasher ?? (await startHasher());
      watch = new RateWatch(response.body, ctx.minBytesPerSecond, ctx.timeoutMs, spec.file);
      const counting = watch;
      await partial.append(
        response.body,
        active,
        (bytes) => {
          fetched += bytes;
          counting.add(bytes);
          ctx.progress.advance(bytes);
        },
        total ?? ctx.maxBytes,
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
      if (failure instanceof OverflowError && total === undefined) {
        await partial.truncate(0);
        throw tooLarge(ctx.maxBytes);
      }
      if (!(failure instanceof NetworkError) || !failure.retryable) throw failure;
      // Progress resets the count, unless the attempt was abandoned for being too slow: a trickle makes "progress" forever.
      if (partial.size > before && !(failure instanceof SlowTransferError)) failures = 0;
      failures++;
      if (failures > ctx.retries) {
        throw new NetworkError(`${spec.model}: ${failure.message} (gave up after ${ctx.retries} retries)`, false, { cause: failure });
      }
      const delay = backoffDelay(failures, ctx.backoffMs, failure.retryAfterMs);
      ctx.log(`${spec.model}: ${spec.file}: ${failure.message}; retry ${failures}/${ctx.retries} in ${delay}ms from byte ${partial.size}`);
      await sleep(delay, undefined, { signal: ctx.signal }).catch(() => {
        throw ctx.signal.reason;
      });
    } finally {
      watch?.stop();
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

/** The server announced another size than the file's. */
export function announcedSizeMismatch(spec: TransferSpec, size: number, announced: number | string): ChecksumMismatchError {
  return new ChecksumMismatchError(spec.model, spec.file, "size", String(size), String(announced), "as the server announced it");
}

/**
 * A 4xx other than 416 from a URL the hub redirected to: the CDN refused its own URL (a signature that expired during a
 * long download), so the resolve URL is asked for a fresh one.
 */
export function isRefusal(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && status !== 416;
}

/**
 * One body over a range lane, counted as progress and watched for the minimum rate like any body. A total the server
 * announces other than the file's is a size mismatch; what else comes back is the caller's to decide.
 */
export async function overLane(
  lane: RangeLane,
  spec: TransferSpec,
  ctx: TransferContext,
  request: Omit<LaneRequest, "signal">,
): Promise<Exclude<LaneAnswer, { kind: "wrong-size" }>> {
  const watch = new RateWatch(lane, ctx.minBytesPerSecond, ctx.timeoutMs, spec.file);
  try {
    const answer = await lane.fetch({
      ...request,
      signal: ctx.signal,
      sink: {
        ...request.sink,
        onReceived: (chunk) => {
          watch.add(chunk.length);
          ctx.progress.advance(chunk.length);
          request.sink.onReceived(chunk);
        },
      },
    });
    if (answer.kind === "wrong-size") throw announcedSizeMismatch(spec, request.size, answer.total);
    return answer;
  } finally {
    watch.stop();
  }
}

/**
 * Abandons a body that stays below `minBytesPerSecond` over a sliding window of `windowMs`
 * (the idle timeout only catches a body that sends nothing; a byte every few seconds passes it).
 */
export class RateWatch {
  private readonly buckets: number[] = [];
  private current = 0;
  private readonly timer: NodeJS.Timeout | undefined;

  /** `body`: a response body, or a range lane (anything that can say it is paused and be abandoned). */
  constructor(
    body: Pick<Readable, "isPaused"> & { destroy(error: Error): unknown },
    minBytesPerSecond: number,
    windowMs: number,
    file: string,
  ) {
    if (minBytesPerSecond <= 0) return;
    const slots = Math.max(1, Math.ceil(windowMs / RATE_TICK_MS));
    this.timer = setInterval(() => {
      this.buckets.push(this.current);
      this.current = 0;
      if (this.buckets.length > slots) this.buckets.shift();
      // Paused for the disk: not the network's fault, and the window starts over once the body flows again.
      if (body.isPaused()) this.buckets.length = 0;
      if (this.buckets.length < slots) return;
      const received = this.buckets.reduce((sum, b) => sum + b, 0);
      const seconds = (slots * RATE_TICK_MS) / 1000;
      if (received < minBytesPerSecond * seconds) {
        body.destroy(
          new SlowTransferError(
            `${file}: ${received} bytes in ${seconds}s, below the minimum of ${minBytesPerSecond} bytes/s (--min-rate over --timeout)`,
            true,
          ),
        );
      }
    }, RATE_TICK_MS);
    this.timer.unref();
  }

  add(bytes: number): void {
    this.current += bytes;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

const RATE_TICK_MS = 250;

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
