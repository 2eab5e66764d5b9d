/**
 * The exit codes of the `model-cache` CLI, in one place: the Docker and Kubernetes components,
 * the docs and the tests all read them from here.
 */
export const EXIT = {
  /** Every file of every model is present and verified (download, verify), or prune succeeded. */
  ok: 0,
  /** A bug or an error nobody classified: the message says what happened. */
  unexpected: 1,
  /** Bad command line, or a missing or malformed manifest (the message names the field). */
  usage: 2,
  /** verify: a file is missing, unverified or changed since it was verified. */
  incomplete: 3,
  /** Network or hub failure: retries exhausted, 401/403/404, a host that does not answer. */
  network: 4,
  /** Downloaded or cached bytes do not match the manifest's (or the hub's) checksum. */
  checksum: 5,
  /** The cache directory is read-only, full or not ours to write. */
  filesystem: 6,
  /** Stopped by SIGINT (128 + 2); partial downloads are kept and resume on the next run. */
  interrupted: 130,
  /** Stopped by SIGTERM (128 + 15); partial downloads are kept and resume on the next run. */
  terminated: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** When models fail for different reasons, the process exits with the most actionable one. */
const PRIORITY: readonly ExitCode[] = [
  EXIT.terminated,
  EXIT.interrupted,
  EXIT.usage,
  EXIT.filesystem,
  EXIT.checksum,
  EXIT.network,
  EXIT.unexpected,
  EXIT.incomplete,
];

export function worstExitCode(codes: Iterable<ExitCode>): ExitCode {
  const seen = new Set(codes);
  return PRIORITY.find((code) => seen.has(code)) ?? EXIT.ok;
}
