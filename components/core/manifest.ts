/**
 * The manifest: what the downloader is given (docs/architecture.md, "The manifest"). One zod schema, imported by the
 * manifest builder, the policies and the downloader; canonical JSON so that its sha256 (the
 * `model-cache.io/manifest` label) only changes when its content does.
 */
import { z } from "zod";
import { canonicalJson, sha256Hex } from "./canonical-json";
import { COMMIT_RE, hubRepoFolder, reservedCachePath, SHA1_RE, SHA256_RE, whisperRelPath } from "./contract";

export const MANIFEST_VERSION = 1;

const modelId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "model ids are lower-case letters, digits, '.', '_' or '-' (e.g. whisper-medium)");

const sha256 = z.string().regex(SHA256_RE, "must be a 64-character lower-case hex sha256");
const gitSha1 = z.string().regex(SHA1_RE, "must be a 40-character lower-case hex git blob sha1");
const commit = z
  .string()
  .regex(
    COMMIT_RE,
    "must be a full 40-character lower-case hex commit sha (not a branch or tag), e.g. the value of the repo's X-Repo-Commit header",
  );

/** A relative POSIX path that cannot escape the folder it is written into (no NUL or control characters either). */
const relativePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => ![...p].some((c) => c < " " || c === "\u007f" || c === "\\"), {
    message: "must not contain control characters (NUL, CR, LF, …) or backslashes",
  })
  .refine((p) => !p.startsWith("/") && !p.split("/").some((part) => part === ".." || part === "." || part === ""), {
    message: "must be a relative path without '.', '..' or empty segments",
  });

/** A git ref as huggingface_hub stores it under `refs/`: `main`, `v1.0`, `refs/pr/1`; confined to `refs/`. */
const refName = z
  .string()
  .regex(/^[A-Za-z0-9._/-]+$/, "must be a branch or tag name (letters, digits, '.', '_', '-', '/')")
  .refine((r) => !r.split("/").some((part) => part === "" || part === "." || part === ".."), {
    message: "must stay inside refs/: no '.', '..', empty segments or leading '/'",
  });

/** huggingface_hub's own rule (validate_repo_id): `org/name`, no `--` or `..` (the cache folder joins the parts with `--`). */
const repoId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/, "must be 'org/name'")
  .refine((r) => !r.includes("--") && !r.includes(".."), {
    message: "must not contain '--' or '..' (huggingface_hub refuses such repo ids; the cache folder models--org--name would be ambiguous)",
  });

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), { message: "must be an http(s) URL" });

export const HubFileSchema = z
  .object({
    path: relativePath,
    size: z.number().int().nonnegative().optional(),
    sha256: sha256.optional(),
    gitSha1: gitSha1.optional(),
  })
  .strict();

export const HuggingFaceModelSchema = z
  .object({
    id: modelId,
    kind: z.literal("huggingface"),
    repo: repoId,
    revision: commit,
    refs: z.array(refName).default(["main"]),
    files: z.array(HubFileSchema).min(1, "a hub model needs at least one file"),
  })
  .strict();

export const WhisperModelSchema = z
  .object({
    id: modelId,
    kind: z.literal("whisper"),
    name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,127}$/, "must be a whisper model name such as medium or large-v3"),
    url: httpUrl,
    size: z.number().int().nonnegative().optional(),
    sha256: sha256.optional(),
  })
  .strict();

export const FileModelSchema = z
  .object({
    id: modelId,
    kind: z.literal("file"),
    path: relativePath.superRefine((p, ctx) => {
      const reserved = reservedCachePath(p);
      if (reserved) ctx.addIssue({ code: "custom", message: `cannot be written there: ${reserved}` });
    }),
    url: httpUrl,
    size: z.number().int().nonnegative().optional(),
    sha256: sha256.optional(),
  })
  .strict();

export const ManifestModelSchema = z.discriminatedUnion("kind", [HuggingFaceModelSchema, WhisperModelSchema, FileModelSchema]);

export const ManifestSchema = z
  .object({
    version: z.literal(MANIFEST_VERSION),
    /** Present (true) only when the stack explicitly allowed files without a checksum. */
    allowUnverified: z.boolean().optional(),
    models: z.array(ManifestModelSchema),
  })
  .strict()
  .superRefine((manifest, ctx) => {
    const seen = new Set<string>();
    manifest.models.forEach((model, i) => {
      if (seen.has(model.id)) {
        ctx.addIssue({ code: "custom", path: ["models", i, "id"], message: `duplicate model id "${model.id}"` });
      }
      seen.add(model.id);
      if (model.kind === "huggingface") {
        const paths = new Set<string>();
        model.files.forEach((file, j) => {
          if (paths.has(file.path)) {
            ctx.addIssue({ code: "custom", path: ["models", i, "files", j, "path"], message: `duplicate file "${file.path}"` });
          }
          paths.add(file.path);
        });
      }
    });
    for (const clash of cacheClashes(manifest.models)) ctx.addIssue({ code: "custom", path: clash.path, message: clash.message });
    if (!manifest.allowUnverified) {
      for (const problem of unverifiedFiles(manifest.models)) {
        ctx.addIssue({
          code: "custom",
          path: ["models", problem.index],
          message: `${problem.id}: ${problem.file} has no checksum; add sha256 (or gitSha1) or set allowUnverified: true`,
        });
      }
    }
  });

type ModelInput = z.infer<typeof ManifestModelSchema>;

/**
 * Entries that would write the same place in the cache, or a file where another needs a folder:
 * two models would never settle (each run rewrites the other's bytes, verify fails forever). Each
 * clash names both entries.
 */
function cacheClashes(models: readonly ModelInput[]): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  const name = (i: number) => `models[${i}] (model "${models[i]?.id}")`;
  // Plain files and whisper checkpoints below the root; hub files below snapshots/<commit>/ of their folder.
  const files = new Map<string, { index: number; what: string; sig: string }>();
  const dirs = new Map<string, number>();
  const folders = new Map<string, { index: number; repo: string }>();
  const refs = new Map<string, { index: number; revision: string }>();
  const claim = (key: string, index: number, path: PropertyKey[], what: string, sig: string) => {
    const owner = files.get(key);
    if (owner && owner.sig !== sig) {
      out.push({ path, message: `${what} is also written by ${name(owner.index)} with other content` });
    } else if (!owner && dirs.has(key)) {
      out.push({ path, message: `${what} is a folder of a file of ${name(dirs.get(key)!)}` });
    }
    const parts = key.split("/");
    for (let n = 1; n < parts.length; n++) {
      const dir = parts.slice(0, n).join("/");
      const file = files.get(dir);
      if (file) out.push({ path, message: `${what} needs the folder ${file.what}, which ${name(file.index)} writes as a file` });
      if (!dirs.has(dir)) dirs.set(dir, index);
    }
    if (!owner) files.set(key, { index, what, sig });
  };
  models.forEach((model, i) => {
    if (model.kind === "huggingface") {
      const folder = hubRepoFolder(model.repo);
      const seen = folders.get(folder);
      if (seen && seen.repo !== model.repo) {
        out.push({
          path: ["models", i, "repo"],
          message: `"${model.repo}" and "${seen.repo}" of ${name(seen.index)} share the cache folder ${folder}`,
        });
      } else if (!seen) folders.set(folder, { index: i, repo: model.repo });
      for (const ref of model.refs) {
        const key = `${folder}/refs/${ref}`;
        const other = refs.get(key);
        if (other && other.revision !== model.revision) {
          out.push({
            path: ["models", i, "refs"],
            message: `refs/${ref} of ${model.repo} cannot hold both ${model.revision} and ${other.revision} of ${name(other.index)}`,
          });
        } else if (!other) refs.set(key, { index: i, revision: model.revision });
      }
      model.files.forEach((file, j) => {
        const sig = `${file.sha256 ?? ""}:${file.gitSha1 ?? ""}:${file.size ?? ""}`;
        claim(
          `${folder}/snapshots/${model.revision}/${file.path}`,
          i,
          ["models", i, "files", j, "path"],
          `"${file.path}" of ${model.repo}@${model.revision.slice(0, 8)}`,
          sig,
        );
      });
    } else {
      const rel = model.kind === "whisper" ? whisperRelPath(model.name) : model.path;
      const sig = `${model.url}:${model.sha256 ?? ""}:${model.size ?? ""}`;
      claim(rel, i, ["models", i, model.kind === "whisper" ? "name" : "path"], `"${rel}"`, sig);
    }
  });
  return out;
}

export type HubFile = z.infer<typeof HubFileSchema>;
export type HuggingFaceModel = z.infer<typeof HuggingFaceModelSchema>;
export type WhisperModel = z.infer<typeof WhisperModelSchema>;
export type FileModel = z.infer<typeof FileModelSchema>;
export type ManifestModel = z.infer<typeof ManifestModelSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;

export interface UnverifiedFile {
  index: number;
  id: string;
  file: string;
}

/** Files that carry no checksum at all (the downloader could not verify them). */
export function unverifiedFiles(models: readonly ManifestModel[]): UnverifiedFile[] {
  const out: UnverifiedFile[] = [];
  models.forEach((model, index) => {
    if (model.kind === "huggingface") {
      for (const file of model.files) {
        if (!file.sha256 && !file.gitSha1) out.push({ index, id: model.id, file: file.path });
      }
    } else if (!model.sha256) {
      out.push({ index, id: model.id, file: model.kind === "whisper" ? `${model.name}.pt` : model.path });
    }
  });
  return out;
}

/** The manifest as canonical JSON: stable key order, no whitespace. */
export function canonicalManifestJson(manifest: Manifest): string {
  return canonicalJson(manifest);
}

/** sha256 of the canonical manifest JSON: the `model-cache.io/manifest` label value. */
export function manifestDigest(manifest: Manifest): string {
  return sha256Hex(canonicalManifestJson(manifest));
}

/** Parse and validate a manifest (JSON text or an object); throws a ZodError naming the field. */
export function parseManifest(input: string | unknown): Manifest {
  const value = typeof input === "string" ? JSON.parse(input) : input;
  return ManifestSchema.parse(value);
}
