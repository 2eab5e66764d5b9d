import { CACHE_GID, CACHE_UID } from "../../components/core/contract.js";
import { EXIT, type ExitCode } from "./exit-codes.js";

/** An error whose message is meant for the user, with the exit code it maps to. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

export class ManifestError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

export class NetworkError extends CliError {
  constructor(
    message: string,
    /** Worth another attempt (5xx, 429, reset, timeout, truncated body); 401/403/404 are not. */
    readonly retryable: boolean,
    options?: { cause?: unknown; retryAfterMs?: number; status?: number },
  ) {
    super(message, EXIT.network, options);
    this.retryAfterMs = options?.retryAfterMs;
    this.status = options?.status;
  }
  readonly retryAfterMs: number | undefined;
  /** The HTTP status that said so, when one did. */
  readonly status: number | undefined;
}

/** Node's codes for a server certificate it could not verify: no retry helps. */
const UNVERIFIED_CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** What to do about a certificate the connection refused, or undefined when `code` is not that. */
export function certificateHint(code: unknown): string | undefined {
  if (typeof code !== "string" || !UNVERIFIED_CERTIFICATE_CODES.has(code)) return undefined;
  return "the server's certificate could not be verified (not retried): for a mirror with its own CA, point NODE_EXTRA_CA_CERTS at that CA's PEM file; for an expired or not-yet-valid one, check the server and this machine's clock";
}

/** A body below the minimum rate for a whole window (--min-rate): retried, but counted as a failure even with progress. */
export class SlowTransferError extends NetworkError {}

export class ChecksumMismatchError extends CliError {
  constructor(
    readonly model: string,
    readonly file: string,
    readonly algorithm: string,
    readonly expected: string,
    readonly actual: string,
    detail?: string,
  ) {
    super(`${model}: ${file}: ${algorithm} mismatch: expected ${expected}, got ${actual}${detail ? ` (${detail})` : ""}`, EXIT.checksum);
  }
}

export class FilesystemError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.filesystem, options);
  }
}

export class InterruptedError extends CliError {
  constructor(signal: "SIGINT" | "SIGTERM") {
    super(
      `interrupted by ${signal}; partial downloads are kept and resume on the next run`,
      signal === "SIGINT" ? EXIT.interrupted : EXIT.terminated,
    );
  }
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "HPE_INVALID_CONSTANT",
  "HPE_UNEXPECTED_CONTENT_LENGTH",
]);

/** Name-resolution and refused connections rarely heal by themselves within a run, but do sometimes (DNS, pod start). */
export function isNetworkErrnoCode(code: string | undefined): boolean {
  return code !== undefined && (NETWORK_CODES.has(code) || code.startsWith("UND_ERR_"));
}

function errnoCode(error: unknown): string | undefined {
  if (error && typeof error === "object" && "code" in error && typeof error.code === "string") return error.code;
  return undefined;
}

function errnoPath(error: unknown): string | undefined {
  if (error && typeof error === "object" && "path" in error && typeof error.path === "string") return error.path;
  return undefined;
}

/** A plain-language message for the filesystem errors a downloader meets, or undefined. */
export function describeFilesystemError(error: unknown): string | undefined {
  const code = errnoCode(error);
  const where = errnoPath(error) ?? "the cache directory";
  switch (code) {
    case "EROFS":
      return `${where} is on a read-only file system (EROFS): the downloader needs the models volume mounted read-write`;
    case "EACCES":
    case "EPERM":
      return `permission denied (${code}) on ${where}: the cache must be writable by the downloader's user (the image runs as ${CACHE_UID}:${CACHE_GID})`;
    case "ENOSPC":
      return `no space left on the device holding ${where} (ENOSPC): free space or grow the volume; partial downloads are kept and resume on the next run`;
    case "EDQUOT":
      return `disk quota exceeded on ${where} (EDQUOT): raise the quota or free space; partial downloads are kept and resume on the next run`;
    case "EIO":
      return `I/O error on ${where} (EIO): check the volume's health`;
    case "EMFILE":
    case "ENFILE":
      return `too many open files (${code}): lower --concurrency`;
    case "ENOTDIR":
    case "EISDIR":
    case "ENAMETOOLONG":
    case "ELOOP":
      return `unexpected file type at ${where} (${code}): something other than the downloader wrote into the cache`;
    default:
      return undefined;
  }
}

/** Classify anything thrown into a CliError, keeping CliErrors as they are. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const fsMessage = describeFilesystemError(error);
  if (fsMessage) return new FilesystemError(fsMessage, { cause: error });
  const code = errnoCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (isNetworkErrnoCode(code))
    return new NetworkError(`${message}${code && !message.includes(code) ? ` (${code})` : ""}`, true, { cause: error });
  return new CliError(message, EXIT.unexpected, { cause: error });
}
