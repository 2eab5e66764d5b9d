/** The per-model report: the `--json` output and the summary table printed at the end of a run. */
import { EXIT, type ExitCode } from "./exit-codes.js";
import { formatBytes, formatDuration, formatTable } from "./format.js";

export type ModelStatus = "ok" | "downloaded" | "incomplete" | "corrupt" | "failed";

export interface FileProblem {
  file: string;
  state: "missing" | "unverified" | "corrupt" | "failed";
  reason: string;
}

export interface ModelReport {
  id: string;
  kind: string;
  /** ok: present and verified, nothing fetched; downloaded: fetched (or verified local bytes) this run. */
  status: ModelStatus;
  files: number;
  bytes: number;
  /** Bytes received from the network in this run. */
  fetchedBytes: number;
  seconds: number;
  /** Every file's bytes matched a checksum (the manifest's, or the hub's etag). */
  verified: boolean;
  reason?: string;
  problems?: FileProblem[];
  /** Internal: what this model's failure maps to; not in the JSON. */
  exitCode?: ExitCode;
}

export interface CommandReport {
  command: "download" | "verify";
  ok: boolean;
  exitCode: ExitCode;
  cache: string;
  seconds: number;
  models: ModelReport[];
  error?: string;
}

export function toJson(report: CommandReport): string {
  return JSON.stringify({
    ...report,
    models: report.models.map(({ exitCode: _exitCode, ...model }) => model),
  });
}

/** The human output stays readable whatever the manifest's size: the rest is in `--json`. */
export const MAX_TABLE_ROWS = 50;
export const MAX_FAILED_MODELS = 20;

export function summaryTable(models: ModelReport[]): string {
  // Failures first, so the rows kept are the ones that matter.
  const shown =
    models.length <= MAX_TABLE_ROWS
      ? models
      : [...models.filter((m) => m.exitCode !== undefined), ...models.filter((m) => m.exitCode === undefined)].slice(0, MAX_TABLE_ROWS);
  const rows = shown.map((m) => [
    m.id,
    m.kind,
    String(m.files),
    formatBytes(m.bytes),
    m.fetchedBytes > 0 ? formatBytes(m.fetchedBytes) : "-",
    m.status + ((m.status === "ok" || m.status === "downloaded") && !m.verified ? " (no checksum)" : ""),
    formatDuration(m.seconds),
  ]);
  const table = formatTable(["model", "kind", "files", "size", "fetched", "status", "time"], rows, new Set([2, 3, 4, 6]));
  return models.length > shown.length ? `${table}\n… and ${models.length - shown.length} more models (--json lists them all)` : table;
}

/** The closing lines: what failed, plainly (the Docker component quotes the last log lines on failure). */
export function failureLines(command: string, models: ModelReport[], exitCode: ExitCode): string[] {
  const bad = models.filter((m) => m.status !== "ok" && m.status !== "downloaded");
  if (exitCode === EXIT.ok) return [];
  const lines = [`model-cache ${command}: FAILED (exit ${exitCode}): ${bad.length} of ${models.length} models not ready`];
  for (const model of bad.slice(0, MAX_FAILED_MODELS)) {
    const reason = model.reason ?? model.status;
    lines.push(`  ${model.id}: ${reason.startsWith(`${model.id}: `) ? reason.slice(model.id.length + 2) : reason}`);
    for (const problem of (model.problems ?? []).slice(0, 5)) lines.push(`    ${problem.file}: ${problem.state}: ${problem.reason}`);
    if ((model.problems?.length ?? 0) > 5) lines.push(`    … and ${(model.problems?.length ?? 0) - 5} more files`);
  }
  if (bad.length > MAX_FAILED_MODELS) lines.push(`  … and ${bad.length - MAX_FAILED_MODELS} more models (--json lists them all)`);
  return lines;
}
