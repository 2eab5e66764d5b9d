/**
 * A small HTTP(S) client on node:http: keep-alive agents, a read timeout, redirects followed by
 * hand so that the hub token is sent to the hub's origin only (never to the CDN host an LFS
 * file redirects to), and errors that never contain a header or a signed query string.
 */
import type http from "node:http";
import type https from "node:https";
import { createRequire } from "node:module";
import { CliError, certificateHint, NetworkError } from "./errors.js";
import { lanesAllowed, RangeLane } from "./range-lane.js";

// A plain require, not import(): the bundle is compiled through vm.Script, which has no dynamic-import hook.
const requireBuiltin = createRequire(__filename);

export interface HttpClientOptions {
  /** The only origin (scheme, host, port) that ever receives `authorization: Bearer <token>`. */
  hubOrigin: string;
  token?: string;
  /** Connect and idle-read timeout: a body that sends nothing for this long is abandoned (and resumed). */
  timeoutMs: number;
  maxSockets: number;
  userAgent: string;
}

/** follow: every redirect; same-origin: relative ones only (how the hub renames repos); none. */
export type RedirectPolicy = "follow" | "same-origin" | "none";

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  url: URL;
  body: http.IncomingMessage;
}

const MAX_REDIRECTS = 10;
const MAX_IDLE_LANES = 16;

export class HttpClient {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  /** Requests sent, by method: the warm-path tests assert there are none. */
  readonly sent = { HEAD: 0, GET: 0 };
  private readonly idleLanes: RangeLane[] = [];
  private lanesOut = 0;
  private readonly laneWaiters: (() => void)[] = [];

  /** node:http and node:https are loaded here, on first need: a warm run never pays for them (nor TLS). */
  static create(options: HttpClientOptions): HttpClient {
    return new HttpClient(options, requireBuiltin("node:http"), requireBuiltin("node:https"));
  }

  private constructor(
    private readonly options: HttpClientOptions,
    private readonly http: typeof import("node:http"),
    private readonly https: typeof import("node:https"),
  ) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, scheduling: "lifo" as const };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  async open(
    method: "GET" | "HEAD",
    url: URL,
    options: { headers?: Record<string, string>; redirects: RedirectPolicy; signal?: AbortSignal },
  ): Promise<HttpResponse> {
    let current = url;
    for (let hop = 0; ; hop++) {
      const response = await this.once(method, current, options.headers ?? {}, options.signal);
      const location = response.headers.location;
      if (isRedirect(response.status) && location) {
        const next = new URL(location, current);
        const follow = options.redirects === "follow" || (options.redirects === "same-origin" && next.origin === current.origin);
        if (follow) {
          response.body.resume();
          if (hop >= MAX_REDIRECTS) throw new NetworkError(`${method} ${redact(url)}: more than ${MAX_REDIRECTS} redirects`, false);
          current = next;
          continue;
        }
      }
      return { ...response, url: current };
    }
  }

  /**
   * A connection of its own for a body (range-lane.ts), with this client's token rule, user agent
   * and timeout; undefined when node:http must carry everything (a proxy). At most `maxSockets`
   * lanes are out at once, whatever the number of files and connections per file: a caller waits
   * for one to come back (`release`).
   */
  async lane(signal?: AbortSignal): Promise<RangeLane | undefined> {
    if (!lanesAllowed()) return undefined;
    while (this.lanesOut >= this.options.maxSockets) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const waiter = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const at = this.laneWaiters.indexOf(waiter);
          if (at >= 0) this.laneWaiters.splice(at, 1);
          reject(signal?.reason);
        };
        this.laneWaiters.push(waiter);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
    this.lanesOut++;
    const idle = this.idleLanes.pop();
    if (idle) return idle;
    return new RangeLane({
      authorizationFor: (url) => this.authorizationFor(url),
      userAgent: this.options.userAgent,
      timeoutMs: this.options.timeoutMs,
      onRequest: () => {
        this.sent.GET++;
      },
    });
  }

  /** A lane back from a file: its kept-alive connection serves the next file (CDN connections are costly under TLS). */
  release(lane: RangeLane): void {
    this.lanesOut--;
    if (this.idleLanes.length < MAX_IDLE_LANES) this.idleLanes.push(lane);
    else lane.close();
    this.laneWaiters.shift()?.();
  }

  private authorizationFor(url: URL): string | undefined {
    return this.options.token && url.origin === this.options.hubOrigin ? `Bearer ${this.options.token}` : undefined;
  }

  close(): void {
    for (const lane of this.idleLanes.splice(0)) lane.close();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private once(
    method: "GET" | "HEAD",
    url: URL,
    extraHeaders: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: http.IncomingMessage }> {
    const headers: Record<string, string> = {
      "user-agent": this.options.userAgent,
      // Sizes and hashes are of the stored bytes: never let a proxy or server compress them.
      "accept-encoding": "identity",
      ...extraHeaders,
    };
    const authorization = this.authorizationFor(url);
    if (authorization !== undefined) headers.authorization = authorization;
    const isHttps = url.protocol === "https:";
    if (!isHttps && url.protocol !== "http:") {
      return Promise.reject(new NetworkError(`${method} ${redact(url)}: unsupported protocol ${url.protocol}`, false));
    }
    this.sent[method]++;
    return new Promise((resolve, reject) => {
      const request = (isHttps ? this.https : this.http).request(url, {
        method,
        headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        signal,
      });
      let response: http.IncomingMessage | undefined;
      request.setTimeout(this.options.timeoutMs, () => {
        const error = new NetworkError(
          `${method} ${redact(url)}: no data for ${formatSeconds(this.options.timeoutMs)} (read timeout, --timeout)`,
          true,
        );
        if (response && !response.complete) response.destroy(error);
        else request.destroy(error);
      });
      // The idle timeout never fires on headers trickling in a byte at a time: the whole head has this long, from the
      // moment the request has a socket (not while it waits in the agent's queue for one).
      let headDeadline: NodeJS.Timeout | undefined;
      request.once("socket", () => {
        headDeadline = setTimeout(() => {
          request.destroy(
            new NetworkError(
              `${method} ${redact(url)}: no complete response head within ${formatSeconds(this.options.timeoutMs)} (--timeout)`,
              true,
            ),
          );
        }, this.options.timeoutMs);
        headDeadline.unref();
      });
      request.on("response", (res) => {
        clearTimeout(headDeadline);
        response = res;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      request.on("error", (error) => {
        clearTimeout(headDeadline);
        reject(wrapNetworkError(error, method, url));
      });
      request.end();
    });
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function formatSeconds(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

/** A URL fit for a log line: no query string (CDN URLs carry signatures there), no credentials. */
export function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Like `redact`, for a URL given as text (an endpoint from the environment may carry credentials). */
export function redactText(url: string): string {
  try {
    return redact(new URL(url));
  } catch {
    return "(invalid URL)";
  }
}

export function wrapNetworkError(error: unknown, method: string, url: URL): Error {
  if (error instanceof CliError) return error;
  if (error instanceof Error && error.name === "AbortError") return error;
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  const hint = certificateHint(code);
  return new NetworkError(
    `${method} ${redact(url)}: ${message}${code && !message.includes(code) ? ` (${code})` : ""}${hint ? `: ${hint}` : ""}`,
    hint === undefined,
    { cause: error },
  );
}

/** Seconds from a Retry-After header (delta-seconds or HTTP date), in ms; undefined when absent or odd. */
export function retryAfterMs(headers: http.IncomingHttpHeaders): number | undefined {
  const value = headers["retry-after"];
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export interface StatusHints {
  /** What was requested, e.g. `google/siglip (model.safetensors at 9fdf…)`. */
  what: string;
  unauthorized?: string;
  forbidden?: string;
  notFound?: string;
}

/** The error for a non-success status: 5xx, 408 and 429 are retryable; others name what to check. */
export function statusError(response: HttpResponse, hints: StatusHints): NetworkError {
  response.body.resume();
  return statusErrorOf(response, hints);
}

/** `statusError` for an answer whose body is someone else's to drain (a range lane's). */
export function statusErrorOf(response: Pick<HttpResponse, "status" | "headers" | "url">, hints: StatusHints): NetworkError {
  const { status } = response;
  const errorCode = response.headers["x-error-code"];
  const prefix = `HTTP ${status}${typeof errorCode === "string" ? ` ${errorCode}` : ""} for ${hints.what} (${redact(response.url)})`;
  if (status >= 500 || status === 408 || status === 429) {
    return new NetworkError(prefix, true, { retryAfterMs: retryAfterMs(response.headers), status });
  }
  const hint = status === 401 ? hints.unauthorized : status === 403 ? hints.forbidden : status === 404 ? hints.notFound : undefined;
  return new NetworkError(hint ? `${prefix}: ${hint}` : prefix, false, { status });
}
