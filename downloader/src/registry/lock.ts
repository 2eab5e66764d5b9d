/**
 * `model-cache lock`: pin every entry of a catalog file to what the hub says now. A hub entry's
 * revision becomes its commit and its files (listed, or matched by its patterns) get their size
 * and checksum from the hub's tree listing (LFS files: `lfs.oid`, the sha256; git-stored files:
 * `oid`, the git blob sha1); a whisper or file entry without a checksum is streamed once and
 * hashed. Only those fields change: the YAML document keeps its comments, order and style.
 */
import { filterPaths } from "../../../components/core/catalog/patterns.js";
import type { CatalogEntry } from "../../../components/core/catalog/schema.js";
import { COMMIT_RE } from "../../../components/core/contract.js";
import type { HubFile } from "../../../components/core/manifest.js";
import { CliError, NetworkError } from "../errors.js";
import { EXIT } from "../exit-codes.js";
import { type HubApi, listTree, resolveRevision, type TreeFile } from "./hub-api.js";
import { hashUrl, sizeOfUrl } from "./url-hash.js";

/** What lock reads of an entry: a catalog-file entry (maybe unlocked) or a built-in one. */
export type LockableEntry =
  | ((Extract<CatalogEntry, { kind: "huggingface" }> | Omit<Extract<CatalogEntry, { kind: "huggingface" }>, "files">) & {
      files?: HubFile[];
      include?: string[];
      exclude?: string[];
      /** Whether the file gives refs itself (a built-in always does). */
      refsGiven?: boolean;
    })
  | Extract<CatalogEntry, { kind: "whisper" | "file" }>;

/** The fields lock writes into the entry. */
export type LockUpdate =
  | { kind: "huggingface"; revision: string; refs?: string[]; files: HubFile[] }
  | { kind: "whisper" | "file"; size: number; sha256: string };

export interface EntryLock {
  index: number;
  id: string;
  /** ok: locked and as the hub says; changed: lock (would) write `update`; error: see `error`. */
  status: "ok" | "changed" | "error";
  /** What changes, one line each (`revision main → 5617a9f…`, `+ tokenizer.json`, `config.json: size 10 → 12`). */
  changes: string[];
  update?: LockUpdate;
  error?: string;
  exitCode?: number;
}

export interface LockOptions {
  api: HubApi;
  /** `--check`: no download of plain URLs that already have a sha256 (a HEAD compares the size). */
  check: boolean;
  log: (message: string) => void;
}

export async function lockEntry(entry: LockableEntry, index: number, options: LockOptions): Promise<EntryLock> {
  const base = { index, id: entry.id };
  try {
    const { update, changes } = entry.kind === "huggingface" ? await lockHub(entry, options) : await lockUrl(entry, options);
    return changes.length === 0 ? { ...base, status: "ok", changes } : { ...base, status: "changed", changes, update };
  } catch (error) {
    const failure = error instanceof CliError ? error : new CliError(String(error), EXIT.unexpected, { cause: error });
    return { ...base, status: "error", changes: [], error: failure.message, exitCode: failure.exitCode };
  }
}

async function lockHub(
  entry: Extract<LockableEntry, { kind: "huggingface" }>,
  options: LockOptions,
): Promise<{ update: LockUpdate; changes: string[] }> {
  const { api } = options;
  const commit = await resolveRevision(api, entry.repo, entry.revision);
  const tree = await listTree(api, entry.repo, commit);
  const byPath = new Map(tree.map((f) => [f.path, f]));
  const what = `${entry.id} (${entry.repo} at ${entry.revision})`;
  let selected: TreeFile[];
  if (entry.include !== undefined || entry.files === undefined) {
    const paths = tree.map((f) => f.path);
    for (const pattern of entry.include ?? []) {
      if (filterPaths(paths, [pattern]).length === 0) {
        throw new NetworkError(`${what}: include pattern "${pattern}" matches no file of the repo at ${commit}`, false);
      }
    }
    const kept = filterPaths(paths, entry.include, entry.exclude ?? []);
    if (kept.length === 0) throw new NetworkError(`${what}: include/exclude leave no file of the repo at ${commit}`, false);
    selected = kept.map((p) => byPath.get(p) as TreeFile);
  } else {
    const missing = entry.files.filter((f) => !byPath.has(f.path)).map((f) => f.path);
    if (missing.length > 0) {
      throw new NetworkError(`${what}: ${missing.map((p) => `"${p}"`).join(", ")} not in the repo at commit ${commit}`, false);
    }
    selected = entry.files.map((f) => byPath.get(f.path) as TreeFile);
  }
  const files: HubFile[] = selected.map((f) =>
    f.lfs ? { path: f.path, size: f.lfs.size, sha256: f.lfs.oid } : { path: f.path, size: f.size, gitSha1: f.oid },
  );
  const changes: string[] = [];
  if (entry.revision !== commit) changes.push(`revision ${entry.revision} → ${commit}`);
  const refs = !COMMIT_RE.test(entry.revision) && !entry.refsGiven ? [entry.revision] : undefined;
  if (refs) changes.push(`refs → [${refs.join(", ")}]`);
  changes.push(...fileChanges(entry.files ?? [], files));
  return { update: { kind: "huggingface", revision: commit, ...(refs ? { refs } : {}), files }, changes };
}

/** What differs between the files an entry lists and the hub's, per path. */
function fileChanges(before: readonly HubFile[], after: readonly HubFile[]): string[] {
  const old = new Map(before.map((f) => [f.path, f]));
  const changes: string[] = [];
  for (const file of after) {
    const was = old.get(file.path);
    old.delete(file.path);
    if (!was) {
      changes.push(`+ ${file.path}`);
      continue;
    }
    for (const key of ["size", "sha256", "gitSha1"] as const) {
      if (file[key] !== undefined && was[key] !== file[key]) changes.push(`${file.path}: ${key} ${was[key] ?? "(none)"} → ${file[key]}`);
    }
    // A git-stored file's hand-written sha256 cannot be checked against the hub: lock replaces it.
    if (file.sha256 === undefined && was.sha256 !== undefined) changes.push(`${file.path}: sha256 dropped (the hub gives gitSha1)`);
  }
  for (const path of old.keys()) changes.push(`- ${path}`);
  return changes;
}

async function lockUrl(
  entry: Extract<LockableEntry, { kind: "whisper" | "file" }>,
  options: LockOptions,
): Promise<{ update: LockUpdate; changes: string[] }> {
  const url = new URL(entry.url);
  const what = `${entry.id} (${entry.url.replace(/\?.*$/, "")})`;
  if (entry.sha256 !== undefined) {
    const size = entry.size ?? (await sizeOfUrl(options.api.http, url, what, options.api.retry));
    if (size === undefined) throw new NetworkError(`${what}: the server announces no size; remove sha256 to have lock stream it`, false);
    if (entry.size === undefined) return { update: { kind: entry.kind, size, sha256: entry.sha256 }, changes: [`size → ${size}`] };
    if (options.check) {
      const announced = await sizeOfUrl(options.api.http, url, what, options.api.retry);
      if (announced !== undefined && announced !== size) {
        return {
          update: { kind: entry.kind, size: announced, sha256: entry.sha256 },
          changes: [`size ${size} → ${announced} (the server's)`],
        };
      }
    }
    return { update: { kind: entry.kind, size, sha256: entry.sha256 }, changes: [] };
  }
  if (options.check) {
    return {
      update: { kind: entry.kind, size: entry.size ?? 0, sha256: "" },
      changes: ["no sha256 (lock streams the URL once and records it)"],
    };
  }
  options.log(`model-cache lock: ${entry.id}: hashing ${url.origin}${url.pathname}`);
  const digest = await hashUrl(options.api.http, url, what, options.api.retry);
  const changes = [`sha256 → ${digest.sha256}`];
  if (entry.size !== digest.size) changes.push(`size ${entry.size ?? "(none)"} → ${digest.size}`);
  return { update: { kind: entry.kind, ...digest }, changes };
}
