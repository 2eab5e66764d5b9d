/**
 * What a manifest means on disk: each model's files, where a consumer opens them, what their
 * bytes must hash to, and a read-only inspection of their state (what `verify` reports and what
 * a warm `download` uses to make no request at all).
 */
import { lstat } from "node:fs/promises";
import { SHA1_RE, SHA256_RE } from "../../components/core/contract.js";
import type { FileModel, HubFile, HuggingFaceModel, Manifest, ManifestModel, WhisperModel } from "../../components/core/manifest.js";
import { isErrno, readlinkOrUndefined, realpathOrUndefined } from "./fs-util.js";
import type { Digests } from "./hashing.js";
import { blobNameFromTarget, blobPath, type HubRepoPaths, hubRepoPaths, pointerPath, urlModelPath } from "./layout.js";
import { blobRecordPath, type ExpectedContent, fileRecordPath, readRecord, recordProblem, statOrUndefined } from "./records.js";
import type { Mismatch } from "./transfer.js";

export interface HubTarget {
  kind: "hub";
  model: HuggingFaceModel;
  file: HubFile;
  repo: HubRepoPaths;
  /** `snapshots/<commit>/<path>`. */
  pointer: string;
  label: string;
}

export interface UrlTarget {
  kind: "url";
  model: WhisperModel | FileModel;
  path: string;
  relative: string;
  recordPath: string;
  label: string;
}

export type FileTarget = HubTarget | UrlTarget;

export interface ModelPlan {
  model: ManifestModel;
  targets: FileTarget[];
}

export function planManifest(root: string, manifest: Manifest): ModelPlan[] {
  return manifest.models.map((model) => ({ model, targets: planModel(root, model) }));
}

function planModel(root: string, model: ManifestModel): FileTarget[] {
  if (model.kind === "huggingface") {
    const repo = hubRepoPaths(root, model.repo);
    return model.files.map((file) => ({
      kind: "hub",
      model,
      file,
      repo,
      pointer: pointerPath(repo, model.revision, file.path),
      label: `${model.id}: ${file.path}`,
    }));
  }
  const { path, relative } = urlModelPath(root, model);
  return [{ kind: "url", model, path, relative, recordPath: fileRecordPath(root, relative), label: `${model.id}: ${relative}` }];
}

export function targetSize(target: FileTarget): number | undefined {
  return target.kind === "hub" ? target.file.size : target.model.size;
}

export function targetPathInModel(target: FileTarget): string {
  return target.kind === "hub" ? target.file.path : target.relative;
}

/** What the bytes must hash to: the manifest's checksums, plus the hub's etag (itself a content hash). */
export function expectedContent(target: FileTarget, etag?: string): ExpectedContent {
  if (target.kind === "url") return { sha256: target.model.sha256, size: target.model.size };
  const { file } = target;
  return {
    sha256: file.sha256 ?? (etag && SHA256_RE.test(etag) ? etag : undefined),
    gitSha1: file.gitSha1 ?? (etag && SHA1_RE.test(etag) ? etag : undefined),
    size: file.size,
  };
}

/** What the bytes were checked against, for the record and the report. */
export function checkedAgainst(target: FileTarget, etag?: string): string[] {
  const out: string[] = [];
  if (target.kind === "url") {
    if (target.model.sha256) out.push("manifest sha256");
    return out;
  }
  if (target.file.sha256) out.push("manifest sha256");
  if (target.file.gitSha1) out.push("manifest gitSha1");
  if (etag && (SHA256_RE.test(etag) || SHA1_RE.test(etag))) out.push("hub etag");
  return out;
}

export function compareDigests(digests: Digests, size: number, expected: ExpectedContent): Mismatch | undefined {
  if (expected.size !== undefined && size !== expected.size) {
    return { algorithm: "size", expected: String(expected.size), actual: String(size) };
  }
  if (expected.sha256 !== undefined && digests.sha256 !== expected.sha256) {
    return { algorithm: "sha256", expected: expected.sha256, actual: digests.sha256 };
  }
  if (expected.gitSha1 !== undefined && digests.gitSha1 !== expected.gitSha1) {
    return { algorithm: "git blob sha1", expected: expected.gitSha1, actual: digests.gitSha1 ?? "(not computed)" };
  }
  return undefined;
}

/** A blob's name is the hash of its bytes (sha256 for LFS, git blob sha1 otherwise): check it is. */
export function etagProblem(etag: string, sha256: string, gitSha1: string | undefined): string | undefined {
  if (SHA256_RE.test(etag) && sha256 !== etag) return `blob ${etag} holds bytes whose sha256 is ${sha256}`;
  if (SHA1_RE.test(etag) && gitSha1 !== etag) return `blob ${etag} holds bytes whose git blob sha1 is ${gitSha1 ?? "unknown"}`;
  return undefined;
}

export type Inspection =
  | { state: "verified"; size: number; etag?: string; checkedAgainst: string[] }
  /** Nothing usable on disk. */
  | { state: "missing"; reason: string }
  /** Bytes are there (`existing`) but no valid record vouches for them: hash them before use. */
  | { state: "unverified"; reason: string; existing: string; etag?: string };

/**
 * Where a hub file's snapshot entry really leads: its blob's name and path when the entry is our
 * relative link and its real path is that blob in this repo's own `blobs/` (no symlinked folder or
 * file on the way), else why not. What a consumer reads is the real path, so that is what is checked.
 */
export async function resolveHubEntry(target: HubTarget): Promise<{ etag: string; blob: string } | { state: "missing"; reason: string }> {
  const link = await readlinkOrUndefined(target.pointer);
  if (link === undefined) {
    try {
      await lstat(target.pointer);
      return { state: "missing", reason: "the snapshot entry is not a symlink to a blob" };
    } catch (error) {
      if (isErrno(error, "ENOENT", "ENOTDIR")) return { state: "missing", reason: "missing" };
      throw error;
    }
  }
  const etag = blobNameFromTarget(target.repo, target.pointer, link);
  if (!etag) return { state: "missing", reason: `the snapshot link points to ${link}, not to ../blobs/<etag>` };
  const blob = blobPath(target.repo, etag);
  const real = await realpathOrUndefined(target.pointer);
  if (real === undefined) return { state: "missing", reason: `the snapshot link's blob ${etag} is missing` };
  if (real !== blob)
    return { state: "missing", reason: `leads to ${real}, not to this repo's blob (a symbolic link on the way); never trusted` };
  return { etag, blob };
}

/** A plain file's real path must be the file itself (no symlinked folder or file). */
async function urlFileProblem(target: UrlTarget): Promise<string | undefined> {
  const real = await realpathOrUndefined(target.path);
  if (real === undefined) return "missing";
  if (real !== target.path) return `leads to ${real} (a symbolic link on the way); never trusted`;
  return undefined;
}

/** Read-only: decide from links, stat and records (no hashing, no network) whether a file is ready. */
export async function inspectTarget(root: string, target: FileTarget): Promise<Inspection> {
  if (target.kind === "url") {
    const problem = await urlFileProblem(target);
    if (problem) return { state: "missing", reason: problem };
    const info = await statOrUndefined(target.path);
    if (!info) return { state: "missing", reason: "missing" };
    if (!info.isFile()) return { state: "missing", reason: "not a regular file" };
    const record = await readRecord(target.recordPath);
    if (!record) return { state: "unverified", reason: "present but never verified by model-cache", existing: target.path };
    const recordProblemText = recordProblem(record, info, expectedContent(target));
    if (recordProblemText) return { state: "unverified", reason: recordProblemText, existing: target.path };
    return { state: "verified", size: Number(info.size), checkedAgainst: record.checkedAgainst };
  }
  const entry = await resolveHubEntry(target);
  if ("state" in entry) return entry;
  const { etag, blob } = entry;
  const info = await statOrUndefined(blob);
  if (!info) return { state: "missing", reason: `the snapshot link's blob ${etag} is missing` };
  if (!info.isFile()) return { state: "missing", reason: `the blob ${etag} is not a regular file` };
  const record = await readRecord(blobRecordPath(root, target.repo.folder, etag));
  if (!record) return { state: "unverified", reason: "present but never verified by model-cache", existing: blob, etag };
  const expected = expectedContent(target, etag);
  const problem = recordProblem(record, info, expected) ?? etagProblem(etag, record.sha256, record.gitSha1);
  if (problem) return { state: "unverified", reason: problem, existing: blob, etag };
  return { state: "verified", size: Number(info.size), etag, checkedAgainst: record.checkedAgainst };
}
