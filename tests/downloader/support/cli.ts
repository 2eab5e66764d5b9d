/** Run the CLI in-process (fast, most tests) or as a real process (kill -9, two downloaders, another uid). */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, renameSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { main } from "../../../downloader/src/cli.js";

export const REPO_ROOT = resolve(__dirname, "..", "..", "..");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The `--json` report, when one was printed. */
  json: JsonReport | undefined;
}

export interface JsonReport {
  command: string;
  ok: boolean;
  exitCode: number;
  error?: string;
  models: {
    id: string;
    status: string;
    files: number;
    bytes: number;
    fetchedBytes: number;
    verified: boolean;
    reason?: string;
    problems?: { file: string; state: string; reason: string }[];
  }[];
}

/** Defaults that keep tests fast: plain progress (no TTY), tiny backoff. */
const FAST = ["--progress", "lines", "--progress-interval", "0.2"];

export async function runCli(args: string[], env: Record<string, string | undefined> = {}, stdin = ""): Promise<RunResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const [command, ...rest] = args;
  const extra = command === "download" ? [...FAST, "--backoff", "5"] : command === "verify" ? FAST : [];
  const code = await main([command!, ...extra, ...rest], { stdout, stderr, stdin: Readable.from([stdin]), env });
  const text = Buffer.concat(out).toString("utf8");
  return { code, stdout: text, stderr: Buffer.concat(err).toString("utf8"), json: parseJson(text) };
}

function parseJson(text: string): JsonReport | undefined {
  const line = text
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  return line ? (JSON.parse(line) as JsonReport) : undefined;
}

/**
 * Node for a process of another uid: this one's binary when every folder above it lets others in,
 * else a hard link to it in a world-readable temp folder (a Node kept under /root, mode 700).
 */
function nodeFor(options: { uid?: number }): string {
  if (options.uid === undefined || options.uid === process.getuid?.()) return process.execPath;
  let reachable = true;
  for (let dir = dirname(process.execPath); dir !== dirname(dir); dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) reachable = false;
  }
  if (reachable) return process.execPath;
  const shared = join(tmpdir(), `model-cache-node-${process.version}-${process.getuid?.()}`);
  const linked = join(shared, "node");
  if (!existsSync(linked)) {
    mkdirSync(shared, { recursive: true, mode: 0o755 });
    chmodSync(shared, 0o755);
    const temp = `${linked}.${process.pid}`;
    try {
      linkSync(process.execPath, temp);
    } catch {
      copyFileSync(process.execPath, temp);
      chmodSync(temp, 0o755);
    }
    renameSync(temp, linked);
  }
  return linked;
}

/** The CLI as a separate process, through tsx (no build step needed). */
export function spawnCli(
  args: string[],
  env: Record<string, string | undefined>,
  options: { uid?: number; gid?: number } = {},
): ChildProcess {
  return spawn(nodeFor(options), ["--import", "tsx", join(REPO_ROOT, "downloader", "src", "bin.ts"), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, ...env } as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
    ...options,
  });
}

export async function collect(child: ChildProcess): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (c: Buffer) => out.push(c));
  child.stderr?.on("data", (c: Buffer) => err.push(c));
  const code = await new Promise<number>((resolveExit) => child.on("close", (c, signal) => resolveExit(c ?? (signal ? 128 : -1))));
  const stdout = Buffer.concat(out).toString("utf8");
  return { code, stdout, stderr: Buffer.concat(err).toString("utf8"), json: parseJson(stdout) };
}

export async function tempDir(prefix = "model-cache-test-"): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Poll `condition` until it holds (bounded: fails the test after `timeoutMs`, generous for a loaded machine). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 25));
  }
}

/** Accumulate a child's stderr as it arrives (to wait for a line). */
export function watchStderr(child: ChildProcess): { text: () => string } {
  let text = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { text: () => text };
}
