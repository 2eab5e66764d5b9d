/**
 * The team's own catalog file (YAML): `models:`, a list of catalog entries in the built-in
 * catalog's schema. A `huggingface` entry may name a branch or tag as `revision` and give
 * `include` / `exclude` patterns instead of `files` until `model-cache lock` resolved them into a
 * commit and a checksummed file list; only locked entries can be enabled in a stack. User entries
 * add to the built-ins; one with a built-in's id replaces it.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { type Document, parseDocument } from "yaml";
import { z } from "zod";
import { COMMIT_RE } from "../contract";
import { FileModelSchema, HubFileSchema, HuggingFaceModelSchema, WhisperModelSchema } from "../manifest";
import { type CatalogEntry, CatalogEntrySchema, catalogMeta, requireLoadPerDevice } from "./schema";

/** Read from the project's root when the stack does not set `catalogFile` and it exists. */
export const DEFAULT_CATALOG_FILE = "catalog.yaml";
export const LOCK_COMMAND = "model-cache lock";

const pattern = z.string().min(1, "a pattern cannot be empty").max(1000);

const UnlockedHubEntrySchema = HuggingFaceModelSchema.extend({
  ...catalogMeta,
  /** A 40-hex commit once locked; a branch or tag until then. */
  revision: z.string().regex(/^[A-Za-z0-9._/-]+$/, "must be a commit, branch or tag name"),
  files: z.array(HubFileSchema).min(1, "a hub model needs at least one file").optional(),
  /** huggingface_hub allow_patterns semantics (fnmatch): see patterns.ts. */
  include: z.array(pattern).min(1, "give at least one pattern, or leave include out").optional(),
  exclude: z.array(pattern).optional(),
});

export const CatalogFileEntrySchema = z
  .discriminatedUnion("kind", [UnlockedHubEntrySchema, WhisperModelSchema.extend(catalogMeta), FileModelSchema.extend(catalogMeta)])
  .superRefine(requireLoadPerDevice)
  .superRefine((entry, ctx) => {
    if (entry.kind === "huggingface" && entry.files === undefined && entry.include === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["files"],
        message: `list the files, or give include patterns (e.g. include: ["*.json", "*.safetensors"]) and run ${LOCK_COMMAND}`,
      });
    }
  });

export const CatalogFileSchema = z
  .object({ models: z.array(CatalogFileEntrySchema) })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Map<string, number>();
    file.models.forEach((entry, i) => {
      const first = seen.get(entry.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["models", i, "id"],
          message: `duplicate id "${entry.id}" (also models[${first}]); rename one`,
        });
      }
      seen.set(entry.id, i);
    });
  });

export type CatalogFileEntry = z.infer<typeof CatalogFileEntrySchema>;

export class CatalogFileError extends Error {
  override name = "CatalogFileError";
}

export interface CatalogFile {
  /** As given (relative to the project, or absolute). */
  file: string;
  absolutePath: string;
  entries: CatalogFileEntry[];
  /** The file's text as read: `model-cache lock` and `measure` edit it in place. */
  source: string;
  /** The parsed YAML document (node positions for those edits). */
  document: Document.Parsed;
}

/** Parse and validate a catalog file; every error names the file, the entry (index and id), the field and the fix. */
export function readCatalogFile(file: string, baseDir: string = process.cwd()): CatalogFile {
  const absolutePath = path.resolve(baseDir, file);
  let text: string;
  try {
    text = readFileSync(absolutePath, "utf8");
  } catch (err) {
    throw new CatalogFileError(`${file}: cannot read the catalog file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new CatalogFileError(`${file}: not valid YAML:\n${document.errors.map((e) => `  ${e.message}`).join("\n")}`);
  }
  const data: unknown = document.toJS();
  const result = CatalogFileSchema.safeParse(data);
  if (!result.success) throw new CatalogFileError(describeIssues(file, data, result.error.issues));
  return { file, absolutePath, entries: result.data.models, source: text, document };
}

function describeIssues(file: string, data: unknown, issues: readonly z.core.$ZodIssue[]): string {
  const models = (data as { models?: unknown } | null)?.models;
  const lines = issues.map((issue) => {
    const [top, index, ...field] = issue.path;
    if (top !== "models" || typeof index !== "number") {
      const hint =
        data === null || typeof data !== "object" || !("models" in data) ? ' (the file must be a map with a "models:" list)' : "";
      return `${file}: ${issue.path.map(String).join(".") || "(top level)"}: ${issue.message}${hint}`;
    }
    const raw = Array.isArray(models) ? (models[index] as { id?: unknown } | undefined) : undefined;
    const id = typeof raw?.id === "string" ? ` (id "${raw.id}")` : "";
    const where = field.length > 0 ? field.map(String).join(".") : "(the entry)";
    return `${file}: models[${index}]${id}: ${where}: ${issue.message}${fixFor(field, issue)}`;
  });
  return lines.join("\n");
}

function fixFor(field: readonly PropertyKey[], issue: z.core.$ZodIssue): string {
  const name = String(field[0] ?? "");
  if (issue.code === "invalid_type" && issue.expected === "string" && /received number/.test(issue.message)) {
    return `; fix: quote it ("…"): YAML reads a value of only digits as a number`;
  }
  if (issue.code === "invalid_union" && name === "") return "; fix: set kind to huggingface, whisper or file";
  if (name === "sha256" || (field[0] === "files" && field[2] === "sha256"))
    return `; fix: remove it and run ${LOCK_COMMAND}, which records the hub's`;
  if (name === "revision") return `; fix: a commit, branch or tag; ${LOCK_COMMAND} resolves a branch or tag to its commit`;
  if (name === "memory" || name === "load") return "; fix: run model-cache measure, or give an estimate with its basis and source";
  return "";
}

/** Why an entry cannot be enabled yet (empty once locked). */
export function unlockedReasons(entry: CatalogFileEntry): string[] {
  const reasons: string[] = [];
  if (entry.kind === "huggingface") {
    if (!COMMIT_RE.test(entry.revision)) reasons.push(`revision "${entry.revision}" is a branch or tag, not a 40-hex commit`);
    if (entry.files === undefined) reasons.push(`its files are given as patterns (${(entry.include ?? []).join(", ")})`);
    for (const f of entry.files ?? []) {
      if (f.size === undefined) reasons.push(`${f.path} has no size`);
      if (f.sha256 === undefined && f.gitSha1 === undefined) reasons.push(`${f.path} has no sha256 or gitSha1`);
    }
  } else {
    if (entry.size === undefined) reasons.push("no size");
    if (entry.sha256 === undefined) reasons.push("no sha256");
  }
  return reasons;
}

/** A locked file entry as a catalog entry (the patterns stay in the file, for the next lock). */
export function toCatalogEntry(entry: CatalogFileEntry): CatalogEntry {
  if (entry.kind !== "huggingface") return CatalogEntrySchema.parse(entry);
  const { include: _include, exclude: _exclude, ...rest } = entry;
  return CatalogEntrySchema.parse(rest);
}

export interface UnlockedEntry {
  index: number;
  reasons: string[];
}

/** The built-in catalog with a catalog file's entries merged in: what a stack selects from. */
export interface ResolvedCatalog {
  entries: CatalogEntry[];
  /** The catalog file, when one was read. */
  file?: string;
  /** Ids the file defines (locked or not). */
  userIds: string[];
  /** Built-in ids a file entry replaced. */
  replacedBuiltins: string[];
  /** File entries that are not locked, by id: enabling one fails with "run model-cache lock". */
  unlocked: Map<string, UnlockedEntry>;
}

export function mergeCatalog(builtins: readonly CatalogEntry[], file?: Pick<CatalogFile, "file" | "entries">): ResolvedCatalog {
  const resolved: ResolvedCatalog = { entries: [...builtins], userIds: [], replacedBuiltins: [], unlocked: new Map() };
  if (!file) return resolved;
  resolved.file = file.file;
  const builtinIds = new Set(builtins.map((e) => e.id));
  file.entries.forEach((entry, index) => {
    resolved.userIds.push(entry.id);
    if (builtinIds.has(entry.id)) {
      resolved.replacedBuiltins.push(entry.id);
      resolved.entries = resolved.entries.filter((e) => e.id !== entry.id);
    }
    const reasons = unlockedReasons(entry);
    if (reasons.length > 0) resolved.unlocked.set(entry.id, { index, reasons });
    else resolved.entries.push(toCatalogEntry(entry));
  });
  return resolved;
}

/**
 * The catalog file a stack reads: its `catalogFile` setting (relative to the project), or
 * {@link DEFAULT_CATALOG_FILE} when that is unset and the file exists; undefined for none.
 */
export function catalogFileFor(setting: string, projectDir: string): string | undefined {
  if (setting !== "") return setting;
  return existsSync(path.join(projectDir, DEFAULT_CATALOG_FILE)) ? DEFAULT_CATALOG_FILE : undefined;
}
