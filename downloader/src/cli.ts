/**
 * The `model-cache` CLI: download, verify, prune. `main` never calls process.exit: it returns
 * the exit code, so tests run it in-process and the bin sets process.exitCode.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { Command, CommanderError, Option } from "commander";
import { DEFAULT_DOWNLOAD_CONCURRENCY, HUB_ENDPOINT_ENV, MANIFEST_ENV } from "../../components/core/contract.js";
import type { Manifest } from "../../components/core/manifest.js";
import { runDownload } from "./download.js";
import { InterruptedError, toCliError } from "./errors.js";
import { EXIT, type ExitCode, worstExitCode } from "./exit-codes.js";
import { formatBytes, formatDuration, formatTable } from "./format.js";
import { redactText } from "./http.js";
import { loadManifest } from "./manifest-input.js";
import {
  CACHE_DIR_ENV,
  CONCURRENCY_ENV,
  CONNECTIONS_ENV,
  DEFAULT_MAX_SIZE,
  DEFAULT_MAX_TIME_S,
  DEFAULT_MIN_RATE,
  resolveSettings,
  type Settings,
} from "./options.js";
import { createReporter, type Reporter } from "./progress.js";
import { registerRegistryCommands } from "./registry/commands.js";
import { type CommandReport, failureLines, type ModelReport, summaryTable, toJson } from "./report.js";

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: Readable;
  env: Record<string, string | undefined>;
  /** Aborted on SIGINT/SIGTERM (with an InterruptedError as its reason). */
  signal?: AbortSignal;
}

type CommandName = "download" | "verify" | "prune";

export async function main(argv: string[], io: Io = processIo()): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and the like exit 0; everything else commander rejects is bad usage.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const failure = toCliError(error);
    io.stderr.write(`model-cache: error: ${failure.message}\n`);
    return failure.exitCode;
  }
  return exitCode;
}

function buildProgram(io: Io, setExit: (code: ExitCode) => void): Command {
  const program = new Command("model-cache")
    .description("Fill, check and tidy a verified, offline Hugging Face / Whisper model cache from a manifest.")
    .version(packageVersion(), "--version")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError("(run model-cache <command> --help for usage)")
    .addHelpText(
      "after",
      `\nExit codes: 0 ok, 1 unexpected, 2 bad usage or manifest, 3 incomplete cache, 4 network/auth, 5 checksum mismatch, 6 filesystem, 130/143 interrupted.\nEnvironment: ${MANIFEST_ENV}, ${CACHE_DIR_ENV}, ${HUB_ENDPOINT_ENV}, HF_TOKEN, ${CONCURRENCY_ENV}.`,
    );

  const common = (command: Command) =>
    command
      .option("-m, --manifest <file>", `manifest JSON file, or - for stdin (default: $${MANIFEST_ENV})`)
      .option("-c, --cache <dir>", `cache root (default: $${CACHE_DIR_ENV})`)
      .option("--json", "print a machine-readable report on stdout")
      .addOption(new Option("--progress <mode>", "progress display").choices(["auto", "bars", "lines", "none"]).default("auto"))
      .option("--progress-interval <seconds>", "seconds between progress lines when not on a TTY", "10");

  const run = (name: CommandName) => async (options: Record<string, unknown>) => {
    setExit(await runCommand(name, options, io));
  };

  common(program.command("download").description("fetch what is missing, verify everything, write the cache layout"))
    .option("-j, --concurrency <n>", `parallel file downloads (default: $${CONCURRENCY_ENV} or ${DEFAULT_DOWNLOAD_CONCURRENCY})`)
    .option("--connections <n>", `connections per file for large files (default: $${CONNECTIONS_ENV}, else one per 16 MiB, up to 8)`)
    .option("--retries <n>", "retries per file on 5xx, 429, resets, timeouts", "5")
    .option("--timeout <seconds>", "abandon (and resume) a connection idle this long, or below --min-rate for this long", "60")
    .option("--min-rate <bytes>", "bytes per second a transfer must keep up over a --timeout window (0: off)", String(DEFAULT_MIN_RATE))
    .option("--max-time <seconds>", "the most one file may take, retries included", String(DEFAULT_MAX_TIME_S))
    .option("--max-size <bytes>", "the most bytes accepted for a file the manifest gives no size for", String(DEFAULT_MAX_SIZE))
    .option("--backoff <ms>", "first retry delay, doubled each retry", "500")
    .option("--no-fsync", "skip fsync before each rename (faster, not power-cut safe)")
    .action(run("download"));

  common(program.command("verify").description("read-only: exit 0 iff every file of every model is present and verified"))
    .option("--deep", "re-hash every byte instead of trusting the verification records")
    .option("-j, --concurrency <n>", `files hashed in parallel with --deep (default: ${DEFAULT_DOWNLOAD_CONCURRENCY})`)
    .action(run("verify"));

  common(program.command("prune").description("list (or with --yes remove) what no model of the manifest uses"))
    .option("--yes", "remove the listed items")
    .action(run("prune"));

  registerRegistryCommands(program, io, setExit, () => `model-cache/${packageVersion()}`);
  return program;
}

async function runCommand(name: CommandName, options: Record<string, unknown>, io: Io): Promise<ExitCode> {
  const began = Date.now();
  let settings: Settings | undefined;
  let reporter: Reporter | undefined;
  try {
    settings = resolveSettings(options, io.env);
    const { manifest } = await loadManifest({ file: settings.manifestFile, env: io.env, stdin: io.stdin });
    const signal = io.signal ?? new AbortController().signal;
    if (name === "prune") return await prune(manifest, settings, io, signal);
    reporter = await createReporter({
      mode: name === "verify" && !settings.deep ? "none" : settings.progress,
      stream: io.stderr,
      intervalMs: settings.progressIntervalMs,
    });
    let models: ModelReport[];
    if (name === "download") {
      io.stderr.write(`model-cache download: ${describeManifest(manifest)} into ${settings.root} from ${redactText(settings.endpoint)}\n`);
      const result = await runDownload(
        manifest,
        {
          root: settings.root,
          endpoint: settings.endpoint,
          token: settings.token,
          concurrency: settings.concurrency,
          retries: settings.retries,
          backoffMs: settings.backoffMs,
          timeoutMs: settings.timeoutMs,
          minBytesPerSecond: settings.minBytesPerSecond,
          maxTimeMs: settings.maxTimeMs,
          maxBytes: settings.maxBytes,
          connections: settings.connections,
          lockStaleMs: settings.lockStaleMs,
          durable: settings.durable,
          userAgent: `model-cache/${packageVersion()}`,
        },
        reporter,
        signal,
      );
      models = result.models;
    } else {
      const { runVerify } = await import("./verify.js");
      models = await runVerify(manifest, { root: settings.root, deep: settings.deep, concurrency: settings.concurrency }, reporter, signal);
    }
    reporter.stop();
    if (io.signal?.aborted) throw io.signal.reason;
    return finish(name, settings, models, began, io);
  } catch (error) {
    reporter?.stop();
    const failure = toCliError(error);
    if (settings?.json && name !== "prune") {
      const report: CommandReport = {
        command: name,
        ok: false,
        exitCode: failure.exitCode,
        cache: settings.root,
        seconds: (Date.now() - began) / 1000,
        models: [],
        error: failure.message,
      };
      io.stdout.write(`${toJson(report)}\n`);
    } else if (settings?.json) {
      io.stdout.write(`${JSON.stringify({ command: name, ok: false, exitCode: failure.exitCode, error: failure.message })}\n`);
    }
    io.stderr.write(`model-cache ${name}: FAILED (exit ${failure.exitCode}): ${failure.message}\n`);
    return failure.exitCode;
  }
}

function finish(command: "download" | "verify", settings: Settings, models: ModelReport[], began: number, io: Io): ExitCode {
  const exitCode = worstExitCode(models.flatMap((m) => (m.exitCode === undefined ? [] : [m.exitCode])));
  const seconds = (Date.now() - began) / 1000;
  // Everything is formatted before anything is written: whatever fails, stdout carries one JSON document or none.
  const lines = [summaryTable(models)];
  if (exitCode === EXIT.ok) {
    const bytes = models.reduce((sum, m) => sum + m.bytes, 0);
    const fetched = models.reduce((sum, m) => sum + m.fetchedBytes, 0);
    const unverified = models.filter((m) => !m.verified).map((m) => m.id);
    const listed =
      unverified.length > 10 ? `${unverified.slice(0, 10).join(", ")} and ${unverified.length - 10} more` : unverified.join(", ");
    lines.push(
      `model-cache ${command}: OK: ${models.length} models, ${formatBytes(bytes)}` +
        (command === "download" ? `, fetched ${formatBytes(fetched)}` : settings.deep ? ", every byte re-hashed" : "") +
        `, in ${formatDuration(seconds)}` +
        (unverified.length > 0 ? ` (no checksum to verify: ${listed})` : ""),
    );
  } else {
    lines.push(...failureLines(command, models, exitCode));
  }
  const json = settings.json ? `${toJson({ command, ok: exitCode === EXIT.ok, exitCode, cache: settings.root, seconds, models })}\n` : "";
  io.stdout.write(json);
  io.stderr.write(`${lines.join("\n")}\n`);
  return exitCode;
}

async function prune(manifest: Manifest, settings: Settings, io: Io, signal: AbortSignal): Promise<ExitCode> {
  const { applyPrune, planPrune } = await import("./prune.js");
  const plan = await planPrune(manifest, settings.root, settings.lockStaleMs);
  const { items } = plan;
  if (settings.yes) await applyPrune(plan, settings.lockStaleMs, signal);
  const bytes = items.reduce((sum, item) => sum + item.bytes, 0);
  if (settings.json) {
    io.stdout.write(
      `${JSON.stringify({ command: "prune", ok: true, exitCode: EXIT.ok, cache: settings.root, removed: settings.yes, bytes, items })}\n`,
    );
  }
  if (items.length === 0) {
    io.stderr.write(`model-cache prune: nothing to prune in ${settings.root}\n`);
    return EXIT.ok;
  }
  const rows = items.map((item) => [item.kind, item.path, item.bytes > 0 ? formatBytes(item.bytes) : "-", item.outcome ?? ""]);
  io.stderr.write(`${formatTable(["kind", "path", "size", settings.yes ? "outcome" : ""], rows, new Set([2]))}\n`);
  const kept = items.filter((item) => item.outcome && item.outcome !== "removed").length;
  io.stderr.write(
    settings.yes
      ? `model-cache prune: removed ${items.length - kept} items (${formatBytes(bytes)})${kept > 0 ? `, kept ${kept} in use` : ""}\n`
      : `model-cache prune: ${items.length} items (${formatBytes(bytes)}) no model of the manifest uses; run again with --yes to remove them\n`,
  );
  return EXIT.ok;
}

function describeManifest(manifest: Manifest): string {
  const files = manifest.models.reduce((sum, m) => sum + (m.kind === "huggingface" ? m.files.length : 1), 0);
  return `${manifest.models.length} models, ${files} files`;
}

let version: string | undefined;
/** The package's version, found by walking up to its package.json (src/ under tests, dist/ when built). */
export function packageVersion(): string {
  if (version) return version;
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "model-cache" && pkg.version) {
        version = pkg.version;
        return version;
      }
    } catch {
      // Not here: keep walking up.
    }
    if (dirname(dir) === dir) {
      version = "0.0.0";
      return version;
    }
  }
}

function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Entry point of the bin: wires SIGINT/SIGTERM to a clean stop (partials kept), then sets the exit code. */
export async function runFromProcess(argv: string[]): Promise<void> {
  const controller = new AbortController();
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    if (controller.signal.aborted) process.exit(signal === "SIGINT" ? EXIT.interrupted : EXIT.terminated);
    controller.abort(new InterruptedError(signal));
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  const code = await main(argv, { ...processIo(), signal: controller.signal });
  process.exitCode = code;
}
