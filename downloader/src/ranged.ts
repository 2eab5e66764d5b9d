/**
 * Range-split downloads: a large file of known size is fetched over several connections at once,
 * each writing its ranges straight into the partial at their offsets (CDNs cap each connection,
 * not the client). The sha256 (and git blob sha1) are computed in order over the contiguous
 * prefix as it grows, read back from the page cache by a worker thread (hash-worker.ts), so the receiving path never waits for the
 * hash and no second full read is needed at the end.
 *
 * A small state file beside the partial (`<partial>.ranges`, written atomically) lists the byte
 * spans already on disk, so a run after a crash fetches only the missing ones. A server that
 * answers the probe with 200 (it ignores Range) gets the single-stream path instead; a range the
 * server answers wrongly (another start, end or total) is fetched again, never trusted.
 */
import { rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { NetworkError, SlowTransferError, toCliError } from "./errors.js";
import { readFileOrUndefined, writeFileAtomic } from "./fs-util.js";
import { HashWorker, ShortReadError } from "./hash-worker.js";
import type { Digests } from "./hashing.js";
import { statusError, statusErrorOf } from "./http.js";
import { type PartialFile, PartialTakenError, rangesPath } from "./partial-file.js";
import type { RangeLane } from "./range-lane.js";
import {
  announcedSizeMismatch,
  backoffDelay,
  isRefusal,
  overLane,
  parseContentRange,
  RateWatch,
  type TransferContext,
  type TransferSpec,
} from "./transfer.js";

const MIB = 1024 * 1024;

export const MAX_DEFAULT_CONNECTIONS = 8;

/** Connections for one file: the setting when given, else one per 16 MiB up to 8 (files under 32 MiB: one). */
export function connectionsFor(size: number, setting: number | undefined): number {
  if (setting !== undefined) return Math.max(1, Math.min(setting, Math.floor(size / MIN_CHUNK)));
  if (size < 32 * MIB) return 1;
  return Math.min(MAX_DEFAULT_CONNECTIONS, Math.ceil(size / (16 * MIB)));
}

/**
 * A range is a unit of work: big enough to amortise a request, small enough to share out the tail
 * and to keep the hash close behind (the contiguous prefix lags by about one range per connection).
 */
const MIN_CHUNK = 64 * 1024;
const PROBE_BYTES = 256 * 1024;
function chunkFor(size: number, connections: number): number {
  const target = Math.ceil(size / (connections * 16));
  return Math.max(MIN_CHUNK, Math.min(16 * MIB, Math.max(Math.min(MIB, target), Math.ceil(target / MIN_CHUNK) * MIN_CHUNK)));
}

const StateSchema = z.object({
  version: z.literal(1),
  size: z.number().int().nonnegative(),
  /** Sorted, merged [start, end) spans whose bytes are on disk. */
  done: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
});
type Span = [number, number];

export { rangesPath };

/** The spans a ranged partial holds, or undefined when it has no (valid) state: then none of its bytes count. */
export async function readRangeState(partialPath: string, size: number): Promise<Span[] | undefined> {
  const text = await readFileOrUndefined(rangesPath(partialPath));
  if (text === undefined) return undefined;
  try {
    const state = StateSchema.parse(JSON.parse(text));
    if (state.size !== size) return undefined;
    return merge(state.done.filter(([a, b]) => a < b && b <= size) as Span[]);
  } catch {
    return undefined;
  }
}

function merge(spans: Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const out: Span[] = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** The missing [start, end) pieces of [0, size), each cut to at most `chunk` bytes. */
function missingChunks(done: Span[], size: number, chunk: number): Span[] {
  const out: Span[] = [];
  let at = 0;
  for (const [a, b] of [...done, [size, size] as Span]) {
    for (let start = at; start < a; start += chunk) out.push([start, Math.min(a, start + chunk)]);
    at = Math.max(at, b);
  }
  return out;
}

/** Whether the server splits this file into ranges: a probe for its first bytes. */
export type Probe = { ranged: true; url: URL } | { ranged: false };

export async function fillRanged(
  partial: PartialFile,
  spec: TransferSpec & { size: number },
  ctx: TransferContext,
  connections: number,
): Promise<{ size: number; digests: Digests; fetched: number } | "unsupported"> {
  const size = spec.size;
  const chunk = chunkFor(size, connections);
  let done = (await readRangeState(partial.path, size)) ?? [];
  if (done.length === 0 && partial.size > 0 && partial.size < size) {
    // A single-stream partial: its bytes are a valid prefix. (One of the full size without a state may be a ranged
    // partial whose state was lost: with its holes, nothing in it counts.)
    done = [[0, partial.size]];
  }
  // The state first: from the moment the file has holes, a crash leaves a state saying which bytes count.
  await saveState(partial.path, size, done);
  await partial.resize(size);
  const already = done.reduce((sum, [a, b]) => sum + b - a, 0);
  if (already > 0) ctx.log(`${spec.model}: ${spec.file}: resuming with ${already} of ${size} bytes on disk`);
  ctx.progress.start(size, already);

  const prefix = new HashWorker(partial.fd, { gitBlobSize: spec.gitBlob ? size : undefined, label: `${spec.model}: ${spec.file}` });
  const queue = missingChunks(done, size, chunk);
  let fetched = 0;
  let digests: Digests = { sha256: "" };
  // The CDN URL the hub's HEAD gave, when it did (as huggingface_hub downloads from it); else the resolve URL, redirected.
  let url = spec.directUrl ?? spec.url;
  let lastSave = Date.now();
  let saving: Promise<void> | undefined;
  const markDone = (span: Span) => {
    done = merge([...done, span]);
    prefix.advance(done[0]?.[0] === 0 ? done[0][1] : 0);
    if (Date.now() - lastSave > 1000 && !saving) {
      lastSave = Date.now();
      const snapshot = done.map((s) => [...s] as Span);
      saving = saveState(partial.path, size, snapshot).finally(() => {
        saving = undefined;
      });
    }
  };
  prefix.advance(done[0]?.[0] === 0 ? done[0][1] : 0);

  /** Fetch [start, end) once over a lane (after the probe); node:http for whatever the lane does not take. */
  const fetchRange = async (
    start: number,
    end: number,
    probe: boolean,
    lane: RangeLane | undefined,
  ): Promise<"unsupported" | undefined> => {
    if (lane && !probe) {
      let written = 0;
      let answer: Awaited<ReturnType<typeof overLane>>;
      try {
        answer = await overLane(lane, spec, ctx, {
          url,
          start,
          end,
          size,
          sink: {
            fd: partial.fd,
            onReceived: (chunk) => {
              fetched += chunk.length;
            },
            onWritten: (bytes) => {
              written += bytes;
              partial.wroteThroughFd(bytes);
            },
          },
        });
      } finally {
        if (written > 0) markDone([start, start + written]);
      }
      if (answer.kind === "done") return undefined;
      if (answer.kind === "status") throw statusErrorOf({ status: answer.status, headers: answer.headers, url }, spec.hints);
      // Not a plain 206 (a redirect, a 200, a head it could not read strictly): node:http says what it is.
    }
    return fetchOverHttp(start, end, probe);
  };

  /** Fetch [start, end) once through node:http; resolves with the bytes written (all of them, or throws after writing some). */
  const fetchOverHttp = async (start: number, end: number, probe: boolean): Promise<"unsupported" | undefined> => {
    const response = await ctx.http.open("GET", url, {
      headers: { range: `bytes=${start}-${end - 1}` },
      redirects: "follow",
      signal: ctx.signal,
    });
    if (response.status === 200) {
      response.body.destroy();
      if (probe) return "unsupported";
      throw new NetworkError(`${spec.file}: the server answered a range request with the whole file (200); fetching the range again`, true);
    }
    if (response.status !== 206) throw statusError(response, spec.hints);
    const range = parseContentRange(response.headers["content-range"]);
    if (!range || range.start !== start || range.end !== end - 1) {
      response.body.destroy();
      throw new NetworkError(`${spec.file}: the server answered bytes ${start}-${end - 1} with another range; fetching it again`, true);
    }
    if (range.total !== undefined && range.total !== size) {
      response.body.destroy();
      throw announcedSizeMismatch(spec, size, range.total);
    }
    // The CDN's URL after the redirect: the other ranges go there directly (the token never does).
    url = response.url;
    const watch = new RateWatch(response.body, ctx.minBytesPerSecond, ctx.timeoutMs, spec.file);
    let written = 0;
    try {
      await partial.writeRange(
        response.body,
        start,
        end - start,
        (bytes) => {
          fetched += bytes;
          watch.add(bytes);
          ctx.progress.advance(bytes);
        },
        (bytes) => {
          written += bytes;
        },
      );
    } finally {
      watch.stop();
      // Whatever reached the disk in order counts, even when the body failed midway.
      if (written > 0) markDone([start, start + written]);
    }
    if (written < end - start) {
      throw new NetworkError(`${spec.file}: the range ${start}-${end - 1} closed after ${written} of ${end - start} bytes`, true);
    }
    return undefined;
  };

  const withRetry = async (span: Span, probe: boolean, lane?: RangeLane): Promise<"unsupported" | undefined> => {
    let [start] = span;
    const end = span[1];
    let failures = 0;
    while (true) {
      ctx.signal.throwIfAborted();
      const before = progressOf(done, start, end);
      const asked = url;
      try {
        return await fetchRange(start, end, probe, lane);
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
        const failure = toCliError(error);
        if (failure instanceof NetworkError && isRefusal(failure.status) && asked !== spec.url) {
          // The CDN refused its own URL (a signature that expired during a long download): the resolve URL gives a fresh one.
          if (url === asked) {
            url = spec.url;
            ctx.log(`${spec.model}: ${spec.file}: ${failure.message}; asking the hub for a fresh download URL`);
          }
          start += progressOf(done, start, end);
          if (start >= end) return undefined;
          continue;
        }
        if (!(failure instanceof NetworkError) || !failure.retryable) throw failure;
        const after = progressOf(done, start, end);
        // Progress resets the count, unless the attempt was abandoned for being too slow.
        if (after > before && !(failure instanceof SlowTransferError)) failures = 0;
        failures++;
        if (failures > ctx.retries) {
          throw new NetworkError(`${spec.model}: ${failure.message} (gave up after ${ctx.retries} retries)`, false, { cause: failure });
        }
        start += after;
        probe = false;
        if (start >= end) return undefined;
        const delay = backoffDelay(failures, ctx.backoffMs, failure.retryAfterMs);
        ctx.log(`${spec.model}: ${spec.file}: ${failure.message}; retry ${failures}/${ctx.retries} in ${delay}ms from byte ${start}`);
        await sleep(delay, undefined, { signal: ctx.signal }).catch(() => {
          throw ctx.signal.reason;
        });
      }
    }
  };

  try {
    // The first missing range doubles as the probe: does the server split, and where does it redirect? It goes through
    // node:http (which follows redirects), so it is kept small; the lanes take the rest.
    let first = queue.shift();
    if (first && first[1] - first[0] > PROBE_BYTES) {
      queue.unshift([first[0] + PROBE_BYTES, first[1]]);
      first = [first[0], first[0] + PROBE_BYTES];
    }
    if (first && (await withRetry(first, true)) === "unsupported") {
      // Back to one stream: only the contiguous prefix counts.
      const prefixEnd = done[0]?.[0] === 0 ? done[0][1] : 0;
      await partial.truncate(prefixEnd);
      done = [];
      return "unsupported";
    }
    const workers = Array.from({ length: Math.min(connections, queue.length) }, async () => {
      // A lane from the client's budget (shared by every file); by the time one is free, the others may have done the rest.
      const lane = await ctx.http.lane(ctx.signal);
      try {
        for (let span = queue.shift(); span; span = queue.shift()) {
          // The hashing thread failed (or the partial was taken away): give the file up now, not after every range.
          if (prefix.error) throw hashFailure(prefix.error, spec.file);
          await withRetry(span, false, lane);
        }
      } finally {
        if (lane) ctx.http.release(lane);
      }
    });
    const results = await Promise.allSettled(workers);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const missing = missingChunks(done, size, size);
    if (missing.length > 0) throw new NetworkError(`${spec.file}: ranges ${JSON.stringify(missing)} are still missing`, true);
    digests = await prefix.finish(size).catch((error: unknown) => {
      throw hashFailure(error, spec.file);
    });
  } finally {
    await saving;
    await prefix.stop();
    if (done.length > 0) await saveState(partial.path, size, done).catch(() => undefined);
    else await rm(rangesPath(partial.path), { force: true });
  }
  partial.size = size;
  return { size, digests, fetched };
}

/** Bytes of [start, end) that are done, counted from `start` (the contiguous part only). */
function progressOf(done: Span[], start: number, end: number): number {
  for (const [a, b] of done) if (a <= start && b > start) return Math.min(b, end) - start;
  return 0;
}

async function saveState(partialPath: string, size: number, done: Span[]): Promise<void> {
  await writeFileAtomic(rangesPath(partialPath), JSON.stringify({ version: 1, size, done }), { durable: false });
}

/** A short read back means another downloader took this partial over (and moved its bytes away). */
function hashFailure(error: unknown, file: string): unknown {
  return error instanceof ShortReadError ? new PartialTakenError(file) : error;
}
