/**
 * One lock per blob (or plain file), shared by every downloader on the volume, two pods
 * included: proper-lockfile's atomic `mkdir` works on local disks and NFS/EFS alike, and a lock
 * whose holder died (kill -9, node lost) goes stale after `staleMs` and is taken over.
 * The lock only saves a second download: correctness comes from verify-then-rename, so even two
 * writers racing past a stale lock would both rename identical, verified bytes.
 */

import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { mkdirNoLinks } from "./fs-util.js";

export const DEFAULT_LOCK_STALE_MS = 10_000;

export interface LockOptions {
  staleMs: number;
  signal: AbortSignal;
  /** Called once when another process holds the lock and this one starts waiting. */
  onWait?: () => void;
  /** Re-checked while waiting: when it turns true (the other process finished the file), stop waiting. */
  done?: () => Promise<boolean>;
  /** false: give up at once (resolve undefined) when another process holds the lock. */
  wait?: boolean;
}

export type Release = () => Promise<void>;

/** A lock name safe as one path segment: `models--org--name@<etag>`, `file@whisper%2Fmedium.pt`. */
export function lockKey(kind: "blob" | "file", ...parts: string[]): string {
  return `${kind === "blob" ? "" : "file@"}${parts.map((p) => encodeURIComponent(p)).join("@")}`;
}

/** Acquire the lock, waiting for another holder; resolves undefined when `done()` reports the work was done meanwhile. */
export async function acquireLock(locksDir: string, key: string, options: LockOptions): Promise<Release | undefined> {
  // Loaded on first use: a warm run takes no lock and should not pay for the module.
  const { default: lockfile } = await import("proper-lockfile");
  await mkdirNoLinks(locksDir);
  const target = join(locksDir, key);
  let waited = false;
  let delay = 100;
  while (true) {
    options.signal.throwIfAborted();
    try {
      const release = await lockfile.lock(target, {
        realpath: false,
        lockfilePath: `${target}.lock`,
        stale: options.staleMs,
        retries: 0,
        // The default throws from a timer (crashing the process); losing the lock only costs a duplicate download.
        onCompromised: () => undefined,
      });
      return async () => {
        await release().catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
    }
    if (options.wait === false) return undefined;
    if (!waited) {
      waited = true;
      options.onWait?.();
    }
    if (options.done && (await options.done())) return undefined;
    await sleep(delay, undefined, { signal: options.signal }).catch(() => {
      throw options.signal.reason;
    });
    delay = Math.min(delay * 2, 1000);
  }
}

/** Whether a live (not stale) holder has the lock now. */
export async function isLocked(locksDir: string, key: string, staleMs: number): Promise<boolean> {
  const { default: lockfile } = await import("proper-lockfile");
  const target = join(locksDir, key);
  return lockfile.check(target, { realpath: false, lockfilePath: `${target}.lock`, stale: staleMs }).catch(() => false);
}
