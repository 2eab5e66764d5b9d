/**
 * sha256 (and git blob sha1) of a file's prefix `[0, n)` in a worker thread, read back from the
 * page cache through the same file descriptor the ranges are written with. The receiving thread
 * only says how far the contiguous prefix reaches; reading and hashing run on another core.
 *
 * The worker's code is a string (`eval`), so the single-file bundle the image ships needs no
 * second file beside it.
 */
import { Worker } from "node:worker_threads";
import { CliError, FilesystemError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import type { Digests } from "./hashing.js";

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require("node:worker_threads");
const { readSync } = require("node:fs");
const { createHash } = require("node:crypto");
const { fd, gitBlobSize, bufferBytes } = workerData;
const sha256 = createHash("sha256");
const sha1 = gitBlobSize === undefined ? undefined : createHash("sha1").update("blob " + gitBlobSize + "\0");
const buffer = Buffer.allocUnsafe(bufferBytes);
let hashed = 0;
let target = 0;
let finish;
let over = false;
parentPort.on("message", (message) => {
  if (over) return;
  if (message.type === "advance") target = Math.max(target, message.target);
  else if (message.type === "finish") { finish = message.size; target = Math.max(target, message.size); }
  let progressed = false;
  while (hashed < target) {
    const length = Math.min(buffer.length, target - hashed);
    const read = readSync(fd, buffer, 0, length, hashed);
    if (read === 0) { over = true; parentPort.postMessage({ type: "short", hashed }); return; }
    const chunk = read === buffer.length ? buffer : buffer.subarray(0, read);
    sha256.update(chunk);
    if (sha1) sha1.update(chunk);
    hashed += read;
    progressed = true;
  }
  if (finish !== undefined && hashed >= finish) {
    over = true;
    parentPort.postMessage({ type: "done", hashed, sha256: sha256.digest("hex"), gitSha1: sha1 ? sha1.digest("hex") : undefined });
  } else if (progressed) parentPort.postMessage({ type: "progress", hashed });
});
`;

type FromWorker =
  | { type: "progress"; hashed: number }
  | { type: "short"; hashed: number }
  | { type: "done"; hashed: number; sha256: string; gitSha1?: string };

/** The prefix a reader expected was not there: whoever calls decides what that means (e.g. a takeover). */
export class ShortReadError extends Error {
  constructor(readonly at: number) {
    super(`the file ended at byte ${at} while hashing`);
  }
}

export class HashWorker {
  private readonly worker: Worker;
  private hashedBytes = 0;
  private failure: Error | undefined;
  private result: Digests | undefined;
  private readonly settled: Promise<void>;
  private finishing = false;

  /** `fd` stays owned by the caller, who must not close it before `stop()` resolved. */
  constructor(fd: number, options: { gitBlobSize?: number; label: string; bufferBytes?: number }) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { fd, gitBlobSize: options.gitBlobSize, bufferBytes: options.bufferBytes ?? 2 * 1024 * 1024 },
      // Hashing needs almost no heap: keep the thread's footprint small (the buffer lives outside the heap).
      resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2, stackSizeMb: 1 },
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    this.settled = new Promise<void>((resolve) => {
      const fail = (error: Error) => {
        this.failure ??= error;
        resolve();
      };
      this.worker.on("message", (message: FromWorker) => {
        this.hashedBytes = message.hashed;
        if (message.type === "short") fail(new ShortReadError(message.hashed));
        else if (message.type === "done") {
          this.result = message.gitSha1 === undefined ? { sha256: message.sha256 } : { sha256: message.sha256, gitSha1: message.gitSha1 };
          resolve();
        }
      });
      // A read that failed (EIO, ...) is the disk's problem, as for any other file-system call; anything else
      // (the thread ran out of memory, a bug) fails this file only.
      this.worker.on("error", (error: Error & { code?: unknown }) => {
        const message = `${options.label}: hashing failed after ${this.hashedBytes} bytes: ${error.message}`;
        fail(
          typeof error.code === "string" && /^E[A-Z]+$/.test(error.code)
            ? new FilesystemError(message, { cause: error })
            : new CliError(message, EXIT.unexpected, { cause: error }),
        );
      });
      this.worker.on("exit", (code) => {
        if (this.result === undefined)
          fail(
            new CliError(
              `${options.label}: the hashing thread stopped (exit code ${code}) after ${this.hashedBytes} bytes`,
              EXIT.unexpected,
            ),
          );
      });
    });
  }

  /** Bytes hashed so far (as last reported). */
  get hashed(): number {
    return this.hashedBytes;
  }

  /** Set once the worker failed or stopped early: the caller should give the file up. */
  get error(): Error | undefined {
    return this.result === undefined ? this.failure : undefined;
  }

  /** The prefix `[0, contiguous)` is on disk. */
  advance(contiguous: number): void {
    if (!this.finishing && this.failure === undefined) this.worker.postMessage({ type: "advance", target: contiguous });
  }

  /** Hash up to `size` and return the digests of exactly those bytes. */
  async finish(size: number): Promise<Digests> {
    if (this.failure === undefined && !this.finishing) {
      this.finishing = true;
      this.worker.postMessage({ type: "finish", size });
    }
    this.worker.ref();
    await this.settled;
    if (this.result !== undefined && this.hashedBytes === size) return this.result;
    throw this.failure ?? new CliError(`hashed ${this.hashedBytes} of ${size} bytes`, EXIT.unexpected);
  }

  /** Ends the thread; after this the caller may close the file descriptor. */
  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
