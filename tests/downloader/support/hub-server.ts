/**
 * A fake Hugging Face hub on loopback, with faults on demand. Two node:http servers:
 * - the hub (`http://127.0.0.1:<port>`): HEAD/GET `/<org>/<name>/resolve/<rev>/<path>` with
 *   X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size; git-stored files served directly, LFS
 *   files redirected (302) to the CDN; 401 for unknown or gated repos, 404 for unknown files;
 * - the CDN (`http://localhost:<port>`: another host name), serving LFS blobs and plain URLs.
 * Both honour `Range: bytes=N-`. Faults are queued per file and consumed by its next content
 * response: socket reset mid-body, truncated body, corrupted bytes, a status, a stall.
 * Every request is logged (host, method, path, authorization, range) for the tests to assert on.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream/promises";

export type Body = Buffer | { path: string; size: number; sha256: string; gitSha1: string };

export type Fault =
  /** Destroy the socket (RST) after `afterBytes` body bytes. */
  | { kind: "reset"; afterBytes: number }
  /** Announce the full Content-Length, send `afterBytes`, then close the connection cleanly (FIN). */
  | { kind: "truncate"; afterBytes: number }
  /** Send the right number of bytes, one of them wrong. */
  | { kind: "corrupt" }
  /** Answer with this status (and no body). */
  | { kind: "status"; status: number; headers?: Record<string, string> }
  /**
   * Stop sending for `stallMs` after `afterBytes`, then go on (if the client is still there);
   * `ignoreRange` answers 200 from byte 0 first; `onStall` is told when the pause begins.
   */
  | { kind: "stall"; afterBytes: number; stallMs: number; ignoreRange?: boolean; onStall?: () => void; until?: Promise<void> }
  /** Answer 200 with the whole body even when a Range was asked. */
  | { kind: "ignore-range" }
  /** Send one byte every `intervalMs` (at most `maxBytes` of them, then close): above the idle timeout's radar. */
  | { kind: "trickle"; intervalMs: number; maxBytes: number }
  /** Send the status line and headers one byte every `intervalMs` (at most `maxBytes`, then close). */
  | { kind: "trickle-head"; intervalMs: number; maxBytes: number }
  /** 200 without Content-Length (chunked), an endless body of `chunkBytes` chunks, until the client goes or `maxBytes`. */
  | { kind: "endless"; chunkBytes: number; maxBytes: number }
  /** Answer a Range request with a Content-Range whose total is off by `delta` (the bytes themselves are right). */
  | { kind: "wrong-total"; delta: number }
  /** Answer a Range request with another piece of the file than the one asked for. */
  | { kind: "wrong-range" };

export interface RequestLog {
  server: "hub" | "cdn";
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
}

export interface HubFileSpec {
  path: string;
  data: Body;
  /** Stored with LFS: the hub redirects to the CDN and its etag is the sha256. */
  lfs: boolean;
}

export interface HubFileInfo {
  path: string;
  size: number;
  sha256: string;
  gitSha1: string;
  lfs: boolean;
  etag: string;
}

interface Repo {
  commit: string;
  branches: Map<string, string>;
  files: Map<string, HubFileSpec & HubFileInfo>;
  gatedToken: string | undefined;
}

export interface HubOptions {
  /** Slow every content response down: `chunkBytes` then a `delayMs` pause (kill -9 tests). */
  throttle?: { chunkBytes: number; delayMs: number };
  /** Cap each response at this many bytes per second, as CDNs cap a single connection (bench). */
  bytesPerSecondPerConnection?: number;
}

export function digestsOf(data: Buffer): { sha256: string; gitSha1: string; size: number } {
  return {
    sha256: createHash("sha256").update(data).digest("hex"),
    gitSha1: createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex"),
    size: data.length,
  };
}

function info(data: Body): { sha256: string; gitSha1: string; size: number } {
  return Buffer.isBuffer(data) ? digestsOf(data) : data;
}

export class FakeHub {
  readonly requests: RequestLog[] = [];
  private readonly repos = new Map<string, Repo>();
  private readonly lfsBlobs = new Map<string, { data: Body; key: string }>();
  private readonly plain = new Map<string, Body>();
  private readonly faults = new Map<string, Fault[]>();
  throttle: HubOptions["throttle"];
  /** Behave like a server without range support: every GET is a 200 with the whole body, no Accept-Ranges. */
  noRanges = false;
  bytesPerSecondPerConnection: number | undefined;

  private constructor(
    private readonly hub: http.Server,
    private readonly cdn: http.Server,
    options: HubOptions,
  ) {
    this.throttle = options.throttle;
    this.bytesPerSecondPerConnection = options.bytesPerSecondPerConnection;
  }

  static async start(options: HubOptions = {}): Promise<FakeHub> {
    let self: FakeHub | undefined;
    const hub = http.createServer((req, res) => self!.handleHub(req, res));
    const cdn = http.createServer((req, res) => self!.handleCdn(req, res));
    self = new FakeHub(hub, cdn, options);
    await Promise.all([listen(hub), listen(cdn)]);
    return self;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
  }

  /** A different host name than the hub's: a token must never reach it. */
  get cdnOrigin(): string {
    return `http://localhost:${(this.cdn.address() as AddressInfo).port}`;
  }

  addRepo(repo: string, commit: string, files: HubFileSpec[], options: { gatedToken?: string; branches?: string[] } = {}): HubFileInfo[] {
    const entries = new Map<string, HubFileSpec & HubFileInfo>();
    for (const file of files) {
      const digests = info(file.data);
      const etag = file.lfs ? digests.sha256 : digests.gitSha1;
      entries.set(file.path, { ...file, ...digests, etag });
      if (file.lfs) this.lfsBlobs.set(digests.sha256, { data: file.data, key: `${repo}/${file.path}` });
    }
    const branches = new Map((options.branches ?? ["main"]).map((b) => [b, commit]));
    this.repos.set(repo, { commit, branches, files: entries, gatedToken: options.gatedToken });
    return [...entries.values()].map(({ path, size, sha256, gitSha1, lfs, etag }) => ({ path, size, sha256, gitSha1, lfs, etag }));
  }

  /** A plain URL on the CDN host (Whisper checkpoints, YuNet). */
  addPlainFile(name: string, data: Body, options: { onHub?: boolean } = {}): { url: string; sha256: string; size: number } {
    this.plain.set(name, data);
    const digests = info(data);
    return { url: `${options.onHub ? this.endpoint : this.cdnOrigin}/plain/${name}`, sha256: digests.sha256, size: digests.size };
  }

  /** Queue faults for the next content responses of `key` (`<repo>/<path>` or `plain/<name>`), or its HEADs (`HEAD <key>`). */
  fail(key: string, ...faults: Fault[]): void {
    this.faults.set(key, [...(this.faults.get(key) ?? []), ...faults]);
  }

  /** Forget every queued fault (each test starts from a well-behaved hub). */
  clearFaults(): void {
    this.faults.clear();
  }

  pendingFaults(key: string): number {
    return this.faults.get(key)?.length ?? 0;
  }

  contentRequests(key: string): RequestLog[] {
    const repoFile = this.fileByKey(key);
    return this.requests.filter((r) => {
      if (r.method !== "GET") return false;
      if (key.startsWith("plain/")) return r.path === `/${key}`;
      if (!repoFile) return false;
      return repoFile.lfs
        ? r.server === "cdn" && r.path.startsWith(`/lfs/${repoFile.sha256}`)
        : r.server === "hub" && r.path.endsWith(`/${repoFile.path}`);
    });
  }

  async close(): Promise<void> {
    for (const server of [this.hub, this.cdn]) server.closeAllConnections();
    await Promise.all([new Promise((r) => this.hub.close(r)), new Promise((r) => this.cdn.close(r))]);
  }

  private fileByKey(key: string): HubFileInfo | undefined {
    for (const [name, repo] of this.repos) {
      if (key.startsWith(`${name}/`)) return repo.files.get(key.slice(name.length + 1));
    }
    return undefined;
  }

  private log(server: "hub" | "cdn", req: http.IncomingMessage): void {
    this.requests.push({
      server,
      method: req.method ?? "",
      path: req.url ?? "",
      authorization: req.headers.authorization,
      range: req.headers.range,
    });
  }

  private takeFault(key: string): Fault | undefined {
    const queue = this.faults.get(key);
    const fault = queue?.shift();
    if (queue && queue.length === 0) this.faults.delete(key);
    return fault;
  }

  private handleHub(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.log("hub", req);
    const url = new URL(req.url ?? "/", "http://hub");
    // Plain URLs on the hub's own host are served too (a whisper checkpoint in a hub repo, say).
    const plainOnHub = /^\/plain\/(.+)$/.exec(url.pathname);
    const plainData = plainOnHub ? this.plain.get(plainOnHub[1]!) : undefined;
    if (plainOnHub && plainData) return void this.serve(req, res, plainData, `plain/${plainOnHub[1]}`, {});
    // The model-info API huggingface_hub's snapshot_download lists a repo with (the downloader never asks it).
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (api) {
      const repo = this.repos.get(api[1]!);
      const commit = repo
        ? (repo.branches.get(decodeURIComponent(api[2]!)) ?? (api[2] === repo.commit ? repo.commit : undefined))
        : undefined;
      if (!repo || !commit) return void end(res, 404, { "x-error-code": "RevisionNotFound" });
      const body = Buffer.from(
        JSON.stringify({ id: api[1], sha: commit, siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })) }),
      );
      res.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) });
      return void res.end(body);
    }
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!match) return void end(res, 404, { "x-error-code": "NotFound" });
    const [, repoName, revision, encodedPath] = match as unknown as [string, string, string, string];
    const path = encodedPath.split("/").map(decodeURIComponent).join("/");
    const repo = this.repos.get(repoName);
    const token = req.headers.authorization?.replace(/^Bearer /, "");
    if (!repo) return void end(res, 401, { "x-error-code": "RepoNotFound", "x-error-message": "Repository not found" });
    if (repo.gatedToken !== undefined && token !== repo.gatedToken) {
      return void end(res, token ? 403 : 401, { "x-error-code": "GatedRepo", "x-error-message": "Access to this repo is restricted" });
    }
    const commit = repo.branches.get(revision) ?? (revision === repo.commit ? repo.commit : undefined);
    if (!commit) return void end(res, 404, { "x-error-code": "RevisionNotFound" });
    const file = repo.files.get(path);
    if (!file) return void end(res, 404, { "x-error-code": "EntryNotFound", "x-repo-commit": commit });

    const key = `${repoName}/${path}`;
    if (req.method === "HEAD") {
      const fault = this.takeFault(`HEAD ${key}`);
      if (fault?.kind === "status") return void end(res, fault.status, fault.headers ?? {});
      if (fault?.kind === "reset") return void req.socket.resetAndDestroy();
    }
    if (file.lfs) {
      return void end(res, 302, {
        location: `${this.cdnOrigin}/lfs/${file.sha256}?signature=secret-cdn-signature`,
        "x-repo-commit": commit,
        "x-linked-etag": `"${file.sha256}"`,
        "x-linked-size": String(file.size),
        etag: `"${file.gitSha1}"`,
        "content-length": "0",
      });
    }
    const headers = { "x-repo-commit": commit, etag: `"${file.gitSha1}"` };
    if (req.method === "HEAD") return void end(res, 200, { ...headers, "content-length": String(file.size) });
    this.serve(req, res, file.data, key, headers);
  }

  private handleCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.log("cdn", req);
    const url = new URL(req.url ?? "/", "http://cdn");
    const lfs = /^\/lfs\/([0-9a-f]{64})$/.exec(url.pathname);
    if (lfs) {
      const blob = this.lfsBlobs.get(lfs[1]!);
      if (!blob) return void end(res, 404, {});
      this.serve(req, res, blob.data, blob.key, { etag: `"${lfs[1]}"` });
      return;
    }
    const plain = /^\/plain\/(.+)$/.exec(url.pathname);
    const data = plain ? this.plain.get(plain[1]!) : undefined;
    if (!plain || !data) return void end(res, 404, {});
    this.serve(req, res, data, `plain/${plain[1]}`, {});
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse, data: Body, key: string, headers: Record<string, string>): void {
    const size = Buffer.isBuffer(data) ? data.length : data.size;
    const fault = req.method === "GET" ? this.takeFault(key) : undefined;
    if (fault?.kind === "status") return void end(res, fault.status, fault.headers ?? {});
    if (fault?.kind === "trickle-head") return void trickle(req, Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${size}\r\n\r\n`), fault);
    if (fault?.kind === "endless") return void this.endless(res, headers, fault);
    let start = 0;
    const ignoreRange = fault?.kind === "ignore-range" || (fault?.kind === "stall" && fault.ignoreRange);
    // `bytes=N-` and `bytes=N-M` (a ranged download's pieces).
    const range = ignoreRange || this.noRanges ? undefined : /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    let stop = size;
    if (range) {
      start = Number(range[1]);
      if (start >= size) return void end(res, 416, { "content-range": `bytes */${size}` });
      if (range[2]) stop = Math.min(size, Number(range[2]) + 1);
      const total = fault?.kind === "wrong-total" ? size + fault.delta : size;
      // A wrong-range fault answers another piece than the one asked for (shifted by 1000 bytes).
      if (fault?.kind === "wrong-range") {
        start = Math.min(size - 1, start + 1000);
        stop = Math.min(size, stop + 1000);
      }
      res.writeHead(206, {
        ...headers,
        "accept-ranges": "bytes",
        "content-length": String(stop - start),
        "content-range": `bytes ${start}-${stop - 1}/${total}`,
      });
    } else {
      res.writeHead(200, { ...headers, ...(this.noRanges ? {} : { "accept-ranges": "bytes" }), "content-length": String(size) });
    }
    if (req.method === "HEAD") return void res.end();
    if (fault?.kind === "trickle") {
      res.flushHeaders();
      return void trickle(req, Buffer.isBuffer(data) ? data.subarray(start, stop) : Buffer.alloc(fault.maxBytes), fault);
    }
    void this.stream(res, data, start, stop, fault);
  }

  /** Chunked and endless (as far as the client can tell): a size-less file that never ends. */
  private async endless(
    res: http.ServerResponse,
    headers: Record<string, string>,
    fault: { chunkBytes: number; maxBytes: number },
  ): Promise<void> {
    res.writeHead(200, headers);
    const chunk = Buffer.alloc(fault.chunkBytes, 0x61);
    try {
      for (let sent = 0; sent < fault.maxBytes && !res.destroyed; sent += chunk.length) await write(res, chunk);
      res.end();
    } catch {
      res.destroy();
    }
  }

  /** Send bytes [start, size) of `data` (`size`: the end of the range asked for). */
  private async stream(res: http.ServerResponse, data: Body, start: number, size: number, fault: Fault | undefined): Promise<void> {
    if (!fault && !this.throttle && !this.bytesPerSecondPerConnection && !Buffer.isBuffer(data)) {
      // The plain path (the bench's): let the stream machinery pace a file straight into the socket.
      pipeline(createReadStream(data.path, { start, end: size - 1, highWaterMark: 4 * 1024 * 1024 }), res).catch(() => res.destroy());
      return;
    }
    const chunkBytes = this.throttle?.chunkBytes ?? 256 * 1024;
    let sent = 0;
    const stopAt = fault?.kind === "reset" || fault?.kind === "truncate" ? fault.afterBytes : Number.POSITIVE_INFINITY;
    const source = Buffer.isBuffer(data) ? undefined : createReadStream(data.path, { start, end: size - 1, highWaterMark: 1024 * 1024 });
    const chunks: AsyncIterable<Buffer> = source ?? slices(data as Buffer, start, size, chunkBytes);
    const began = Date.now();
    const rate = this.bytesPerSecondPerConnection;
    try {
      for await (let chunk of chunks) {
        if (res.destroyed) break;
        if (sent + chunk.length > stopAt) chunk = chunk.subarray(0, stopAt - sent);
        if (fault?.kind === "corrupt" && sent <= (size - start) / 2 && sent + chunk.length > (size - start) / 2) {
          chunk = Buffer.from(chunk);
          const at = Math.floor((size - start) / 2) - sent;
          chunk[at] = (chunk[at] ?? 0) ^ 0xff;
        }
        if (fault?.kind === "stall" && sent <= fault.afterBytes && sent + chunk.length > fault.afterBytes) {
          const before = fault.afterBytes - sent;
          if (before > 0) await write(res, chunk.subarray(0, before));
          sent += before;
          chunk = chunk.subarray(before);
          fault.onStall?.();
          await Promise.race([sleep(fault.stallMs), fault.until ?? new Promise(() => undefined)]);
          if (res.destroyed) break;
        }
        if (chunk.length > 0) await write(res, chunk);
        sent += chunk.length;
        if (sent >= stopAt) {
          if (fault?.kind === "reset") res.socket?.resetAndDestroy();
          else res.socket?.end();
          source?.destroy();
          return;
        }
        if (this.throttle) await sleep(this.throttle.delayMs);
        if (rate) {
          const ahead = (sent / rate) * 1000 - (Date.now() - began);
          if (ahead > 1) await sleep(ahead);
        }
      }
      res.end();
    } catch {
      res.destroy();
    } finally {
      source?.destroy();
    }
  }
}

/** Write `bytes` one at a time straight to the socket, then close it; stops when the client goes. */
function trickle(req: http.IncomingMessage, bytes: Buffer, fault: { intervalMs: number; maxBytes: number }): void {
  const socket = req.socket;
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || sent >= Math.min(fault.maxBytes, bytes.length)) {
      clearInterval(timer);
      socket.destroy();
      return;
    }
    socket.write(bytes.subarray(sent, sent + 1));
    sent++;
  }, fault.intervalMs);
  socket.once("close", () => clearInterval(timer));
}

async function* slices(data: Buffer, start: number, stop: number, chunkBytes: number): AsyncIterable<Buffer> {
  for (let offset = start; offset < stop; offset += chunkBytes) yield data.subarray(offset, Math.min(stop, offset + chunkBytes));
}

function write(res: http.ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.write(chunk)) return resolve();
    const onDrain = () => {
      res.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      res.off("drain", onDrain);
      reject(new Error("client went away"));
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

function end(res: http.ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { "content-length": "0", ...headers });
  res.end();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function listen(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
}
