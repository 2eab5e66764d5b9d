/**
 * The fast path for plain-HTTP GET bodies: one `Connection: close` request on a bare socket whose
 * reads land straight in large buffers the body then hands on (net's `onread`), instead of
 * node:http's 64 KiB buffer per read, parser callback and stream hop per chunk. On the 2-vCPU
 * loopback bench that halves the client's CPU per byte outside hashing and writing.
 *
 * It only speaks the simple case: a status line, headers, then a body of exactly Content-Length
 * bytes (or none). Anything else (chunked, no length, an odd status line) answers `undefined`
 * before a body byte was handed on, and the caller asks again through node:http.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { NetworkError } from "./errors.js";

/** Reads land in slabs of this size; a slab is never reused (the body's chunks are views of it). */
const SLAB_BYTES = 4 * 1024 * 1024;
/** Start a new slab rather than read into less than this. */
const MIN_READ_BYTES = 256 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;

export interface RawGetOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  timeoutError: () => Error;
  signal: AbortSignal | undefined;
  connect: (options: {
    host: string;
    port: number;
    onread: { buffer: () => Uint8Array; callback: (n: number, buf: Uint8Array) => boolean };
  }) => Socket;
  wrapError: (error: unknown) => Error;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** The body: chunks are pushed as they are read; back-pressure stops the socket's reads. */
export class RawBody extends Readable {
  socket: Socket | undefined;
  /** Set by rawGet: the consumer is done with the first `bytes` body bytes (their slabs can be reused). */
  onReleased: ((bytes: number) => void) | undefined;
  /** The consumer (PartialFile.append) no longer holds the next `bytes` bytes of the chunks it was given. */
  released(bytes: number): void {
    this.onReleased?.(bytes);
  }
  constructor() {
    super({ highWaterMark: 1024 * 1024 });
  }
  override _read(): void {
    this.socket?.resume();
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket?.destroy();
    callback(error);
  }
}

export function rawGet(url: URL, options: RawGetOptions): Promise<RawResponse | undefined> {
  return new Promise((resolve, reject) => {
    // Slabs are recycled once the consumer released every body byte they held: fresh memory costs
    // a page fault per 4 KiB, as much system time as the copy it avoids.
    const free: Buffer[] = [];
    const retired: { slab: Buffer; until: number }[] = [];
    let pushed = 0;
    let released = 0;
    let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_BYTES);
    let offset = 0;
    let head: Buffer | undefined;
    let body: RawBody | undefined;
    let remaining = 0;
    let settled = false;
    const settle = (value: RawResponse | undefined, error?: Error) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve(value);
    };

    const onChunk = (chunk: Buffer): boolean => {
      if (body) {
        if (chunk.length > remaining) chunk = chunk.subarray(0, remaining);
        remaining -= chunk.length;
        pushed += chunk.length;
        const more = chunk.length === 0 || body.push(chunk);
        if (remaining === 0) {
          body.push(null);
          socket.destroy();
          return false;
        }
        return more;
      }
      head = head ? Buffer.concat([head, chunk]) : Buffer.from(chunk);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > MAX_HEADER_BYTES) decline();
        return true;
      }
      const parsed = parseHead(head.subarray(0, end).toString("latin1"));
      const rest = head.subarray(end + 4);
      head = undefined;
      if (!parsed) return decline();
      const length = parsed.headers["content-length"];
      const noBody = parsed.status === 204 || parsed.status === 304 || (parsed.status >= 100 && parsed.status < 200);
      if (noBody || parsed.headers["transfer-encoding"] !== undefined || length === undefined || !/^\d+$/.test(length)) {
        // A body we do not frame ourselves: only fine when the caller never reads it (redirects, errors).
        if (parsed.status === 200 || parsed.status === 206) return decline();
      }
      remaining = length !== undefined && /^\d+$/.test(length) ? Number(length) : 0;
      body = new RawBody();
      body.socket = socket;
      body.onReleased = (bytes) => {
        released += bytes;
        while (retired.length > 0 && retired[0]!.until <= released) {
          const done = retired.shift()!;
          if (free.length < 4) free.push(done.slab);
        }
      };
      settle({ status: parsed.status, headers: parsed.headers, body });
      if (remaining === 0) {
        body.push(null);
        socket.destroy();
        return false;
      }
      return onChunk(rest);
    };
    const decline = (): false => {
      socket.destroy();
      settle(undefined);
      return false;
    };

    const socket = options.connect({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 80),
      onread: {
        buffer: () => {
          if (SLAB_BYTES - offset < MIN_READ_BYTES) {
            retired.push({ slab, until: pushed });
            slab = free.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES);
            offset = 0;
          }
          return slab.subarray(offset);
        },
        callback: (n: number) => {
          const chunk = slab.subarray(offset, offset + n);
          offset += n;
          return onChunk(chunk);
        },
      },
    });
    socket.setNoDelay(true);
    socket.setTimeout(options.timeoutMs, () => socket.destroy(options.timeoutError()));
    const onAbort = () => socket.destroy(options.signal?.reason ?? new Error("aborted"));
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    socket.on("error", (error) => {
      const wrapped = error instanceof NetworkError ? error : options.wrapError(error);
      if (body) body.destroy(wrapped);
      else settle(undefined, wrapped);
    });
    socket.on("close", () => {
      options.signal?.removeEventListener("abort", onAbort);
      if (!body)
        return settle(undefined, new NetworkError(`GET ${url.host}${url.pathname}: the connection closed before a response`, true));
      if (remaining > 0 && !body.destroyed) {
        body.destroy(new NetworkError(`the connection closed with ${remaining} bytes of the body still to come`, true));
      }
    });
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, "connection: close"];
    for (const [name, value] of Object.entries(options.headers)) lines.push(`${name}: ${value}`);
    socket.write(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  });
}

function parseHead(text: string): { status: number; headers: IncomingHttpHeaders } | undefined {
  const lines = text.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? "");
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(status[1]), headers };
}
