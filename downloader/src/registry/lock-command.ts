/**
 * `model-cache lock --catalog FILE [--check] [--json]` and `lock --builtin [ids…] [--check]`:
 * the command around lock.ts — options, the hub client, writing the YAML back, the report.
 */
import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";
import { z } from "zod";
import type { CatalogFileEntry } from "../../../components/core/catalog/file.js";
import { builtinCatalog } from "../../../components/core/catalog/index.js";
import { DEFAULT_HUB_ENDPOINT, HUB_ENDPOINT_ENV, HUB_TOKEN_ENV_KEYS } from "../../../components/core/contract.js";
import { UsageError } from "../errors.js";
import { EXIT, type ExitCode, worstExitCode } from "../exit-codes.js";
import { formatTable } from "../format.js";
import { HttpClient, redactText } from "../http.js";
import { readCatalogInput } from "./catalog-input.js";
import type { HubApi } from "./hub-api.js";
import type { RegistryIo } from "./io.js";
import { type EntryLock, type LockableEntry, lockEntry } from "./lock.js";
import { editYaml, type YamlEdit } from "./yaml-edit.js";

const LockOptionsSchema = z.object({
  catalog: z.string().min(1).optional(),
  builtin: z.boolean().default(false),
  check: z.boolean().default(false),
  json: z.boolean().default(false),
  retries: z.coerce.number().int().min(0).max(100).default(5),
  timeout: z.coerce.number().positive().max(3600).default(60),
  backoff: z.coerce.number().int().min(0).max(600_000).default(500),
});

const EndpointSchema = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL");

export function hubApiFrom(
  env: Record<string, string | undefined>,
  options: { retries: number; timeout: number; backoff: number },
  io: RegistryIo,
  userAgent: string,
): HubApi {
  const rawEndpoint = env[HUB_ENDPOINT_ENV] || DEFAULT_HUB_ENDPOINT;
  const endpoint = EndpointSchema.safeParse(rawEndpoint);
  if (!endpoint.success) throw new UsageError(`environment variable ${HUB_ENDPOINT_ENV}: ${endpoint.error.issues[0]?.message}`);
  const token = HUB_TOKEN_ENV_KEYS.map((key) => env[key]?.trim()).find((value) => !!value);
  const base = endpoint.data.replace(/\/+$/, "");
  const http = HttpClient.create({
    hubOrigin: new URL(base).origin,
    ...(token ? { token } : {}),
    timeoutMs: Math.round(options.timeout * 1000),
    maxSockets: 4,
    userAgent,
  });
  return {
    http,
    endpoint: base,
    hasToken: token !== undefined,
    retry: {
      retries: options.retries,
      backoffMs: options.backoff,
      signal: io.signal ?? new AbortController().signal,
      log: (message) => io.stderr.write(`model-cache lock: ${message}\n`),
    },
  };
}

export async function runLock(ids: string[], raw: Record<string, unknown>, io: RegistryIo, userAgent: string): Promise<ExitCode> {
  const parsed = LockOptionsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`--${String(parsed.error.issues[0]?.path[0])}: ${parsed.error.issues[0]?.message}`);
  const options = parsed.data;
  if (options.builtin === (options.catalog !== undefined)) {
    throw new UsageError("give exactly one of --catalog FILE (the team's catalog file) or --builtin (the built-in catalog)");
  }
  const source = options.builtin ? builtinSource(ids) : fileSource(options.catalog as string, ids);
  const api = hubApiFrom(io.env, options, io, userAgent);
  io.stderr.write(
    `model-cache lock${options.check ? " --check" : ""}: ${source.entries.length} entries of ${source.name} against ${redactText(api.endpoint)}\n`,
  );
  const results: EntryLock[] = [];
  try {
    for (const { entry, index } of source.entries) {
      results.push(await lockEntry(entry, index, { api, check: options.check, log: (m) => io.stderr.write(`${m}\n`) }));
    }
  } finally {
    api.http.close();
  }

  const changed = results.filter((r) => r.status === "changed");
  const failed = results.filter((r) => r.status === "error");
  let written = false;
  if (!options.check && changed.length > 0) {
    if (source.text !== undefined) {
      await writeFile(source.absolutePath as string, editYaml(source.text, editsFor(changed)));
      written = true;
    } else {
      // Built-in entries live in TypeScript: print them locked, as a catalog file replacing them.
      io.stdout.write(builtinYaml(results, source.entries));
    }
  }
  const exitCode: ExitCode = worstExitCode([
    ...failed.map((r) => (r.exitCode as ExitCode | undefined) ?? EXIT.unexpected),
    ...(options.check && changed.length > 0 ? [EXIT.incomplete] : []),
  ]);

  const rows = results.map((r) => [
    r.id,
    r.status === "ok" ? "locked" : r.status === "error" ? "ERROR" : options.check ? "NOT LOCKED" : "locked now",
    r.status === "error"
      ? (r.error ?? "")
      : r.changes.slice(0, 4).join("; ") + (r.changes.length > 4 ? `; … ${r.changes.length - 4} more` : ""),
  ]);
  io.stderr.write(`${formatTable(["id", "state", "details"], rows)}\n`);
  if (options.json) {
    const report = {
      command: "lock",
      ok: exitCode === EXIT.ok,
      exitCode,
      catalog: source.name,
      check: options.check,
      written,
      entries: results,
    };
    io.stdout.write(`${JSON.stringify(report)}\n`);
  }
  const summary = options.check
    ? changed.length > 0
      ? `${changed.length} of ${results.length} entries not locked or not as the hub says; run: npx model-cache lock ${options.builtin ? "--builtin" : `--catalog ${source.name}`}`
      : failed.length === 0
        ? `all ${results.length} entries locked and as the hub says`
        : ""
    : written
      ? `wrote ${changed.length} entries to ${source.name}`
      : changed.length === 0 && failed.length === 0
        ? "nothing to change"
        : "";
  if (summary) io.stderr.write(`model-cache lock: ${summary}\n`);
  if (failed.length > 0)
    io.stderr.write(`model-cache lock: FAILED (exit ${exitCode}): ${failed.map((r) => `${r.id}: ${r.error}`).join("\n  ")}\n`);
  return exitCode;
}

interface Source {
  name: string;
  absolutePath?: string;
  text?: string;
  entries: { entry: LockableEntry; index: number }[];
}

function fileSource(file: string, ids: string[]): Source {
  const catalog = readCatalogInput(file);
  const rawModels = (catalog.document.toJS() as { models: Record<string, unknown>[] }).models;
  const entries = catalog.entries.map((entry, index) => ({ entry: asLockable(entry, rawModels[index] ?? {}), index }));
  return { name: file, absolutePath: catalog.absolutePath, text: catalog.source, entries: pickIds(entries, ids, file) };
}

function asLockable(entry: CatalogFileEntry, raw: Record<string, unknown>): LockableEntry {
  return entry.kind === "huggingface" ? { ...entry, refsGiven: "refs" in raw } : entry;
}

function builtinSource(ids: string[]): Source {
  const entries = builtinCatalog().map((entry, index) => ({
    entry: (entry.kind === "huggingface" ? { ...entry, refsGiven: true } : entry) as LockableEntry,
    index,
  }));
  return { name: "the built-in catalog", entries: pickIds(entries, ids, "the built-in catalog") };
}

function pickIds<T extends { entry: { id: string } }>(entries: T[], ids: string[], where: string): T[] {
  if (ids.length === 0) return entries;
  const unknown = ids.filter((id) => !entries.some((e) => e.entry.id === id));
  if (unknown.length > 0) {
    throw new UsageError(`${unknown.map((id) => `"${id}"`).join(", ")} not in ${where}; ids: ${entries.map((e) => e.entry.id).join(", ")}`);
  }
  return entries.filter((e) => ids.includes(e.entry.id));
}

/** The locked fields, set in place: every other byte of the file (comments, style) stays. */
function editsFor(changed: EntryLock[]): YamlEdit[] {
  return changed.flatMap((result): YamlEdit[] => {
    const at = (key: string) => ["models", result.index, key];
    const update = result.update;
    if (!update) return [];
    if (update.kind === "huggingface") {
      return [
        { path: at("revision"), value: update.revision },
        ...(update.refs ? [{ path: at("refs"), value: update.refs }] : []),
        { path: at("files"), value: update.files },
      ];
    }
    return [
      { path: at("size"), value: update.size },
      { path: at("sha256"), value: update.sha256 },
    ];
  });
}

function builtinYaml(results: EntryLock[], entries: Source["entries"]): string {
  const models = results
    .filter((r) => r.status === "changed" && r.update)
    .map((r) => {
      const entry = entries.find((e) => e.index === r.index)?.entry as Record<string, unknown>;
      const { refsGiven: _refsGiven, kind: _kind, ...update } = r.update as Record<string, unknown>;
      const { refsGiven: _r, ...rest } = entry;
      return { ...rest, ...update };
    });
  return models.length === 0
    ? ""
    : `# Built-in entries locked against the hub: save as a catalog file (its entries replace the built-ins),\n# or copy the files into components/core/catalog/models.ts.\n${stringify({ models })}`;
}
