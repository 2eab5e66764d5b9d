/**
 * `npm run bench:check`: wall time of `npm run check -- --stack <name>` per stack, the command a
 * pull request runs. Prints, asserts nothing.
 *
 * - cold: the first run on a fresh machine: run-policy-pack's ts-node compiles and type-checks the
 *   pack (its cache, normally under the OS temp dir, is pointed at an empty folder) and tsx compiles
 *   the gate and the program (its cache disabled);
 * - warm: later runs (ts-node's cache filled), the usual case on a developer's machine.
 *
 * Each run also reports where the time goes (program under mocks, pack start, analysis), from
 * the gate's own timings (MODEL_CACHE_CHECK_TIMINGS=1). BENCH_RUNS sets the warm runs (default 5).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import * as path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..");
const RUNS = Number(process.env["BENCH_RUNS"] ?? 5);
const STACKS = (process.env["BENCH_STACKS"] ?? "dev,prod").split(",");

interface Run {
  seconds: number;
  code: number | null;
  timings?: { programMs: number; packWaitMs: number; analyzeMs: number; totalMs: number };
}

function runCheck(stack: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn("npm", ["run", "-s", "check", "--", "--stack", stack], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, MODEL_CACHE_CHECK_TIMINGS: "1" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const line = stderr.split("\n").find((l) => l.startsWith("check timings: "));
      resolve({ seconds, code, ...(line ? { timings: JSON.parse(line.slice("check timings: ".length)) } : {}) });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const fmt = (s: number) => `${s.toFixed(2)} s`;

function breakdown(run: Run): string {
  const t = run.timings;
  if (!t) return "";
  const process = run.seconds - t.totalMs / 1000;
  return `node, tsx and npm ${fmt(process)}; program under mocks ${fmt(t.programMs / 1000)}, then waiting for the pack ${fmt(t.packWaitMs / 1000)}, analysis ${fmt(t.analyzeMs / 1000)}`;
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  console.log(
    `npm run check wall time: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${RUNS} warm runs per stack`,
  );
  console.log(`load average before: ${load()}\n`);
  for (const stack of STACKS) {
    const cache = mkdtempSync(path.join(tmpdir(), "bench-check-ts-node-"));
    try {
      const cold = await runCheck(stack, { TS_NODE_CACHE_DIRECTORY: cache, TSX_DISABLE_CACHE: "1" });
      const warm: Run[] = [];
      for (let i = 0; i < RUNS; i++) warm.push(await runCheck(stack, { TS_NODE_CACHE_DIRECTORY: cache }));
      const seconds = warm.map((r) => r.seconds);
      const typical = warm.find((r) => r.seconds === median(seconds)) ?? warm[0];
      console.log(`${stack} (exit ${cold.code}):`);
      console.log(`  cold  ${fmt(cold.seconds)}  (${breakdown(cold)})`);
      console.log(
        `  warm  median ${fmt(median(seconds))}, min ${fmt(Math.min(...seconds))}, max ${fmt(Math.max(...seconds))}  (${typical ? breakdown(typical) : ""})`,
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  console.log(`\nload average after: ${load()}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
