/** Command-line options and environment, validated with zod into the settings each command uses. */
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import {
  CONCURRENCY_ENV,
  DEFAULT_DOWNLOAD_CONCURRENCY,
  DEFAULT_HUB_ENDPOINT,
  HUB_ENDPOINT_ENV,
  HUB_TOKEN_ENV_KEYS,
} from "../../components/core/contract.js";
import { UsageError } from "./errors.js";
import { DEFAULT_LOCK_STALE_MS } from "./lock.js";
import type { ProgressMode } from "./progress.js";

export { CONCURRENCY_ENV };
/** How long a dead downloader's lock blocks others (ms, at least 2000): tests shorten it. */
export const LOCK_STALE_ENV = "MODEL_CACHE_LOCK_STALE_MS";
export const CACHE_DIR_ENV = "HF_HUB_CACHE";
/** Connections per file (range-split downloads). */
export const CONNECTIONS_ENV = "MODEL_CACHE_CONNECTIONS";

/** --min-rate: bytes/s a body must keep up over a --timeout window. */
export const DEFAULT_MIN_RATE = 1000;
/** --max-time: seconds one file may take, retries included (a day). */
export const DEFAULT_MAX_TIME_S = 86_400;
/** --max-size: bytes accepted for a file nobody gave a size for (128 GiB, more than any model shard). */
export const DEFAULT_MAX_SIZE = 128 * 1024 ** 3;

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A path from the command line: NUL cannot be in any path (the kernel would refuse it with a less helpful error). */
const pathArg = z
  .string()
  .min(1)
  .refine((p) => !p.includes("\0"), "must not contain a NUL character");

const RawOptionsSchema = z.object({
  manifest: pathArg.optional(),
  cache: pathArg.optional(),
  json: z.boolean().default(false),
  progress: z.enum(["auto", "bars", "lines", "none"]).default("auto"),
  progressInterval: z.coerce.number().positive().max(3600).default(10),
  concurrency: intIn(1, 64).optional(),
  connections: intIn(1, 64).optional(),
  retries: intIn(0, 100).default(5),
  timeout: z.coerce.number().positive().max(3600).default(60),
  minRate: z.coerce.number().int().nonnegative().default(DEFAULT_MIN_RATE),
  maxTime: z.coerce
    .number()
    .positive()
    .max(30 * 86400)
    .default(DEFAULT_MAX_TIME_S),
  maxSize: z.coerce.number().int().positive().default(DEFAULT_MAX_SIZE),
  backoff: intIn(0, 600_000).default(500),
  fsync: z.boolean().default(true),
  deep: z.boolean().default(false),
  yes: z.boolean().default(false),
});

const EnvSchema = z.object({
  [CONCURRENCY_ENV]: intIn(1, 64).optional(),
  [CONNECTIONS_ENV]: intIn(1, 64).optional(),
  [LOCK_STALE_ENV]: intIn(2000, 3_600_000).optional(),
  [HUB_ENDPOINT_ENV]: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL")
    .optional(),
});

export interface Settings {
  manifestFile: string | undefined;
  root: string;
  json: boolean;
  progress: ProgressMode;
  progressIntervalMs: number;
  concurrency: number;
  connections: number | undefined;
  retries: number;
  timeoutMs: number;
  minBytesPerSecond: number;
  maxTimeMs: number;
  maxBytes: number;
  backoffMs: number;
  durable: boolean;
  deep: boolean;
  yes: boolean;
  endpoint: string;
  token: string | undefined;
  lockStaleMs: number;
}

/** Merge commander's options with the environment; every error names the flag or variable. */
export function resolveSettings(raw: Record<string, unknown>, env: Record<string, string | undefined>): Settings {
  const options = RawOptionsSchema.safeParse(raw);
  if (!options.success) {
    const issue = options.error.issues[0]!;
    throw new UsageError(`--${kebab(String(issue.path[0]))}: ${issue.message}`);
  }
  const envValues = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsedEnv = EnvSchema.safeParse(envValues);
  if (!parsedEnv.success) {
    const issue = parsedEnv.error.issues[0]!;
    throw new UsageError(`environment variable ${String(issue.path[0])}: ${issue.message}`);
  }
  const o = options.data;
  const e = parsedEnv.data;
  const cache = o.cache ?? env[CACHE_DIR_ENV];
  if (!cache) throw new UsageError(`no cache directory: pass --cache DIR or set ${CACHE_DIR_ENV}`);
  if (cache.includes("\0")) throw new UsageError(`environment variable ${CACHE_DIR_ENV}: must not contain a NUL character`);
  const root = isAbsolute(cache) ? cache : resolve(cache);
  const tokenKey = HUB_TOKEN_ENV_KEYS.find((key) => !!env[key]?.trim());
  const token = tokenKey ? env[tokenKey]?.trim() : undefined;
  // Checked here, not by the HTTP stack (which throws a bare ERR_INVALID_CHAR); the value is never echoed.
  if (tokenKey && token && !/^[\x21-\x7e]+$/.test(token)) {
    throw new UsageError(
      `environment variable ${tokenKey}: the token contains characters that cannot go in an HTTP header (CR, LF, spaces, control or non-ASCII characters); set it to the bare token`,
    );
  }
  return {
    manifestFile: o.manifest,
    root: root.replace(/\/+$/, "") || "/",
    json: o.json,
    progress: o.progress,
    progressIntervalMs: o.progressInterval * 1000,
    concurrency: o.concurrency ?? e[CONCURRENCY_ENV] ?? DEFAULT_DOWNLOAD_CONCURRENCY,
    connections: o.connections ?? e[CONNECTIONS_ENV],
    retries: o.retries,
    timeoutMs: Math.round(o.timeout * 1000),
    minBytesPerSecond: o.minRate,
    maxTimeMs: Math.round(o.maxTime * 1000),
    maxBytes: o.maxSize,
    backoffMs: o.backoff,
    durable: o.fsync,
    deep: o.deep,
    yes: o.yes,
    endpoint: normalizeEndpoint(e[HUB_ENDPOINT_ENV] ?? DEFAULT_HUB_ENDPOINT),
    token,
    lockStaleMs: e[LOCK_STALE_ENV] ?? DEFAULT_LOCK_STALE_MS,
  };
}

/** No trailing slash on the path and no fragment; a query string is kept (a mirror may want it) and goes on every request. */
function normalizeEndpoint(endpoint: string): string {
  const url = new URL(endpoint);
  url.hash = "";
  url.pathname = url.pathname.replace(/\/+$/, "");
  return url.href.replace(/\/+(\?|$)/, "$1");
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
