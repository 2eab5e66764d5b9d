/**
 * One keep-alive HTTP/1.1 connection that fetches byte ranges of a large file straight into its
 * partial: the bulk of every ranged download goes through here.
 *
 * Why not node:http for these bodies: it allocates a fresh buffer for every socket read and hands
 * each to JavaScript as a stream chunk. For a 512 MiB file that cost 0.64 s of CPU and 154 MiB of
 * RSS against 0.21 s and 54 MiB for a socket reading into one reused buffer (`onread`, measured on
 * loopback), and downloads here are bound by the client's CPU per byte. So a lane reads into one
 * static buffer and writes each read at its offset in the partial before the next read; memory
 * stays the same whatever the file size.
 *
 * A lane reads one kind of body: the `206` (or, for a whole file asked for without a Range, the
 * `200`) with a `Content-Length` and the `Content-Range` asked for. An error status comes back with
 * its headers for the caller's usual handling (Retry-After, hints); anything else (a redirect,
 * chunked encoding, a head it cannot parse strictly) comes back as `fallback` before a single byte
 * is written, and the caller asks node:http, which follows redirects as for any other request.
 */
import { writeSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { NetworkError } from "./errors.js";
// A cycle (http.ts hands out lanes), used only at run time: one wording for every network error.
import { wrapNetworkError } from "./http.js";

export interface LaneOptions {
  /** The Authorization header for this URL, if any (the HTTP client's rule: the hub's origin only). */
  authorizationFor: (url: URL) => string | undefined;
  userAgent: string;
  /** Connect timeout, idle-read timeout and the deadline for a whole response head. */
  timeoutMs: number;
  /** Told of every request sent (the client's count: a warm run sends none). */
  onRequest: () => void;
}

export interface LaneRequest {
  url: URL;
  /** The bytes `[start, end)` of a file of `size` bytes. */
  start: number;
  end: number;
  size: number;
  sink: RangeSink;
  signal: AbortSignal;
  /** range (the default): `bytes=start-(end-1)`; rest (end is size): the file from `start`, as a plain download or a resume asks for it. */
  form?: "range" | "rest";
}

export interface RangeSink {
  fd: number;
  /** Each piece of the body as it arrives, in order, before it reaches the disk (valid during the call only). */
  onReceived: (chunk: Buffer) => void;
  /** Bytes of the range that reached the file, in order from its start. */
  onWritten: (bytes: number) => void;
}

/**
 * done: every byte on disk; wrong-size: the server gave another total; status: an error status (4xx, 5xx) with its
 * headers, nothing written; fallback: anything else that is not a plain 206 (a redirect, a 200, an odd head), nothing
 * written: ask node:http.
 */
export type LaneAnswer =
  | { kind: "done" }
  | { kind: "fallback"; reason: string }
  | { kind: "wrong-size"; total: string }
  | { kind: "status"; status: number; headers: Record<string, string> };

const RECEIVE_BUFFER_BYTES = 256 * 1024;
const MAX_HEAD_BYTES = 64 * 1024;

/** Whether lanes may be used at all: not through a proxy node:http is told to use (they would go around it). */
export function lanesAllowed(env: NodeJS.ProcessEnv = process.env): boolean {
  const proxied = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"].some((key) => !!env[key]);
  return !(proxied && (env.NODE_USE_ENV_PROXY === "1" || /--use-env-proxy/.test(env.NODE_OPTIONS ?? "")));
}

interface Head {
  status: number;
  headers: Map<string, string>;
  keepAlive: boolean;
}

/** A strict reading of a response head; undefined for anything unusual (the caller falls back to node:http). */
export function parseHead(text: string): Head | undefined {
  const lines = text.split("\r\n");
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/.exec(lines[0] ?? "");
  if (!statusLine) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const match = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!match) return undefined; // obs-fold, a bare CR, a name with spaces: not ours to guess
    const name = match[1]!.toLowerCase();
    const value = match[2]!;
    if (/[\0\r\n]/.test(value)) return undefined;
    const before = headers.get(name);
    if (before !== undefined && (name === "content-length" || name === "content-range") && before !== value) return undefined;
    headers.set(name, before === undefined || name === "content-length" || name === "content-range" ? value : `${before}, ${value}`);
  }
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const keepAlive = statusLine[1] === "1" ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
  return { status: Number(statusLine[2]), headers, keepAlive };
}

export class RangeLane {
  private socket: net.Socket | undefined;
  private origin: string | undefined;
  private readonly receive = Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES);
  /** What the socket's reads are for, while a request is open. */
  private onData: ((bytes: Buffer) => boolean) | undefined;
  private onGone: ((error: Error) => void) | undefined;

  constructor(private readonly options: LaneOptions) {}

  /**
   * GET `[start, end)` of `url` into `sink.fd` at `start`. Resolves with a `LaneAnswer` ("done" once
   * every byte is on disk; the others before any is written); rejects with a retryable NetworkError
   * after a reset, a timeout or a short body, once the bytes that came are written.
   */
  async fetch(request: LaneRequest): Promise<LaneAnswer> {
    request.signal.throwIfAborted();
    const reused = this.socket !== undefined && this.origin === request.url.origin;
    try {
      return await this.attempt(request);
    } catch (error) {
      // A kept-alive connection the server closed meanwhile fails before a byte: once more on a new one.
      if (reused && error instanceof StaleConnectionError && !request.signal.aborted) return this.attempt(request);
      throw error;
    }
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(url: URL): net.Socket {
    if (this.socket && this.origin === url.origin && !this.socket.destroyed) return this.socket;
    this.close();
    const secure = url.protocol === "https:";
    const port = Number(url.port) || (secure ? 443 : 80);
    // URL keeps IPv6 literals in brackets; sockets want them bare.
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    const onread = { buffer: this.receive, callback: (bytes: number, buffer: Uint8Array) => this.received(buffer, bytes) };
    const socket = secure
      ? // node:tls takes `onread` as net does (documented for tls.connect; missing from @types/node).
        tls.connect({
          host,
          port,
          servername: net.isIP(host) ? undefined : host,
          ALPNProtocols: ["http/1.1"],
          onread,
        } as tls.ConnectionOptions)
      : net.connect({ host, port, onread });
    socket.setNoDelay(true);
    socket.setTimeout(this.options.timeoutMs);
    socket.on("timeout", () =>
      socket.destroy(new NetworkError(`no data for ${this.options.timeoutMs / 1000}s (read timeout, --timeout)`, true)),
    );
    // Only the current connection speaks to the open request: one closed for another origin goes quietly.
    socket.on("error", (error) => {
      if (this.socket === socket) this.onGone?.(error);
    });
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.onGone?.(new StaleConnectionError("the server closed the connection"));
    });
    this.socket = socket;
    this.origin = url.origin;
    return socket;
  }

  private received(buffer: Uint8Array, bytes: number): boolean {
    if (!this.onData) {
      // Bytes nobody asked for (between two requests): the connection is out of step; never read it again.
      this.close();
      return false;
    }
    return this.onData(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
  }

  /** For the minimum-rate watch (which starts its window over for a paused body); writes are synchronous, so: no. */
  isPaused(): boolean {
    return this.socket?.isPaused() ?? false;
  }

  /** For the minimum-rate watch: abandon the current request with `error`. */
  destroy(error: Error): void {
    this.socket?.destroy(error);
  }

  private attempt({ url, start, end, size, sink, signal, form = "range" }: LaneRequest): Promise<LaneAnswer> {
    const whole = form === "rest" && start === 0;
    const socket = this.connect(url);
    const length = end - start;
    return new Promise<LaneAnswer>((resolve, reject) => {
      let head: Buffer<ArrayBufferLike> | undefined = Buffer.alloc(0);
      // Bytes of the range received, and (as each read is written before the next) on disk.
      let bodyReceived = 0;
      let settled = false;
      let keepAlive = false;

      const headDeadline = setTimeout(
        () => socket.destroy(new NetworkError(`no complete response head within ${this.options.timeoutMs / 1000}s (--timeout)`, true)),
        this.options.timeoutMs,
      );
      headDeadline.unref();
      const onAbort = () => socket.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      signal.addEventListener("abort", onAbort, { once: true });

      /** The request is over: nothing more is read for it. The connection is kept only after a whole body. */
      const settle = (keep: boolean) => {
        settled = true;
        clearTimeout(headDeadline);
        signal.removeEventListener("abort", onAbort);
        this.onData = undefined;
        this.onGone = undefined;
        if (!keep) this.close();
      };
      const fail = (error: Error) => {
        if (settled) return;
        settle(false);
        reject(error);
      };
      const answerWithoutBody = (answer: LaneAnswer) => {
        settle(false);
        resolve(answer);
      };
      const fallback = (reason: string) => answerWithoutBody({ kind: "fallback", reason });
      // Written where it was read, synchronously: a write into the page cache costs less than handing it to the thread
      // pool (measured: 0.68 s against 0.81 s for 512 MiB without fsync), and a disk that cannot keep up holds the socket back.
      const write = (chunk: Buffer<ArrayBufferLike>, at: number): boolean => {
        try {
          for (let offset = 0; offset < chunk.length; ) offset += writeSync(sink.fd, chunk, offset, chunk.length - offset, at + offset);
        } catch (error) {
          fail(error as Error);
          return false;
        }
        sink.onWritten(chunk.length);
        return true;
      };

      this.onGone = (error) => {
        if (settled) return;
        if (head !== undefined && head.length === 0) {
          // Nothing came back: on a kept-alive connection, the server may have closed it just before (fetch tries once more).
          const wrapped = wrapNetworkError(error, "GET", url);
          const retryable = !(error instanceof NetworkError) && wrapped instanceof NetworkError && wrapped.retryable;
          fail(retryable ? new StaleConnectionError(wrapped.message) : wrapped);
          return;
        }
        if (bodyReceived < length) {
          fail(
            error instanceof StaleConnectionError
              ? new NetworkError(`the range ${start}-${end - 1} closed after ${bodyReceived} of ${length} bytes`, true)
              : wrapNetworkError(error, "GET", url),
          );
        }
      };
      this.onData = (data) => {
        if (settled) return true;
        let body = data;
        if (head !== undefined) {
          // Most heads arrive whole, with the first body bytes behind them: read them where they are.
          const joined = head.length === 0 ? data : Buffer.concat([head, data]);
          const at = joined.indexOf("\r\n\r\n");
          if (at < 0) {
            head = Buffer.from(joined); // kept: the read buffer is reused for the next read
            if (head.length > MAX_HEAD_BYTES) fallback("a response head over 64 KiB");
            return true;
          }
          head = joined;
          const parsed = parseHead(head.subarray(0, at).toString("latin1"));
          body = head.subarray(at + 4);
          head = undefined;
          clearTimeout(headDeadline);
          const problem = checkHead(parsed, start, end, size, whole);
          if (problem === "status") {
            answerWithoutBody({ kind: "status", status: parsed!.status, headers: Object.fromEntries(parsed!.headers) });
            return true;
          }
          if (problem === "size") {
            const announced =
              parsed?.status === 200 ? parsed.headers.get("content-length") : parsed?.headers.get("content-range")?.split("/")[1];
            answerWithoutBody({ kind: "wrong-size", total: announced ?? "?" });
            return true;
          }
          if (problem === "range") {
            fail(new NetworkError(`the server answered bytes ${start}-${end - 1} with another range; fetching it again`, true));
            return true;
          }
          if (problem) {
            fallback(problem);
            return true;
          }
          keepAlive = parsed!.keepAlive;
        }
        if (body.length === 0) return true;
        const accept = Math.min(body.length, length - bodyReceived);
        if (accept < body.length) {
          // Bytes past the range on a connection we never pipelined on: the server is confused; keep the range, drop the connection.
          keepAlive = false;
        }
        const piece = accept === body.length ? body : body.subarray(0, accept);
        sink.onReceived(piece);
        if (!write(piece, start + bodyReceived)) return false;
        bodyReceived += accept;
        if (bodyReceived === length) {
          settle(keepAlive);
          resolve({ kind: "done" });
        }
        return true;
      };

      const authorization = this.options.authorizationFor(url);
      if (authorization !== undefined && /[\r\n\0]/.test(authorization)) {
        fallback("a credential with a line break");
        return;
      }
      const request = [
        `GET ${url.pathname}${url.search} HTTP/1.1`,
        `Host: ${url.host}`,
        `User-Agent: ${this.options.userAgent}`,
        "Accept-Encoding: identity",
        // The whole file: no Range, as for any plain download; the rest of it: an open range, as a resume is asked for.
        ...(whole ? [] : [`Range: bytes=${start}-${form === "rest" ? "" : end - 1}`]),
        ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
        "",
        "",
      ].join("\r\n");
      this.options.onRequest();
      socket.write(request);
    });
  }
}

/**
 * Why a head is not a plain answer to `bytes=start-(end-1)` of a `size`-byte file (or a 200 with all of it, when all
 * of it was asked for): "status" (an error status), "range"
 * and "size" are the server's to answer for; any other reason sends the request to node:http.
 */
function checkHead(head: Head | undefined, start: number, end: number, size: number, whole: boolean): string | undefined {
  if (!head) return "a response head that is not plain HTTP/1.1";
  if (head.status >= 400) return "status";
  if (head.status !== 206 && !(head.status === 200 && whole)) return `status ${head.status}`;
  if (head.headers.has("transfer-encoding")) return "a transfer-encoded body";
  const length = head.headers.get("content-length");
  if (length === undefined || !/^\d+$/.test(length)) return "no Content-Length";
  if (head.status === 200) return Number(length) === size ? undefined : "size";
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(head.headers.get("content-range") ?? "");
  if (!range) return "no Content-Range";
  if (range[3] !== "*" && Number(range[3]) !== size) return "size";
  if (Number(range[1]) !== start || Number(range[2]) !== end - 1 || Number(length) !== end - start) return "range";
  return undefined;
}

/** The connection was gone before the answer started (a kept-alive socket the server had closed). */
class StaleConnectionError extends NetworkError {
  constructor(message: string) {
    super(message, true);
  }
}
