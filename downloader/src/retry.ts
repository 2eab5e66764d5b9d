import { setTimeout as sleep } from "node:timers/promises";
import { NetworkError, toCliError } from "./errors.js";
import { backoffDelay } from "./transfer.js";

export interface RetryOptions {
  retries: number;
  backoffMs: number;
  signal: AbortSignal;
  log: (message: string) => void;
}

/** Run `attempt` again on retryable network errors (5xx, 429, resets, timeouts), with backoff. */
export async function withRetries<T>(what: string, options: RetryOptions, attempt: () => Promise<T>): Promise<T> {
  for (let failures = 0; ; ) {
    try {
      return await attempt();
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason ?? error;
      const failure = toCliError(error);
      if (!(failure instanceof NetworkError) || !failure.retryable) throw failure;
      failures++;
      if (failures > options.retries) {
        throw new NetworkError(`${what}: ${failure.message} (gave up after ${options.retries} retries)`, false, { cause: failure });
      }
      const delay = backoffDelay(failures, options.backoffMs, failure.retryAfterMs);
      options.log(`${what}: ${failure.message}; retry ${failures}/${options.retries} in ${delay}ms`);
      await sleep(delay, undefined, { signal: options.signal }).catch(() => {
        throw options.signal.reason;
      });
    }
  }
}
