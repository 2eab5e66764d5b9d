/**
 * The manifest: what the downloader is given (docs/architecture.md, "The manifest"). One zod schema, imported by the
 * manifest builder, the policies and the downloader; canonical JSON so that its sha256 (the
 * `model-cache.io/manifest` label) only changes when its content does.
 */
import { z } from "zod";
import { canonicalJson, sha256Hex } from "./canonical-json";
import { COMMIT_RE, SHA1_RE, SHA256_RE } from "./contract";

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

/** A relative POSIX path that cannot escape the folder it is written into. */
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith("/") && !p.split("/").some((part) => part === ".." || part === "." || part === ""), {
    message: "must be a relative path without '.', '..' or empty segments",
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
    repo: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/, "must be 'org/name'"),
    revision: commit,
    refs: z.array(z.string().regex(/^[A-Za-z0-9._/-]+$/)).default(["main"]),
    files: z.array(HubFileSchema).min(1, "a hub model needs at least one file"),
  })
  .strict();

export const WhisperModelSchema = z
  .object({
    id: modelId,
    kind: z.literal("whisper"),
    name: z.string().regex(/^[a-z0-9.-]+$/, "must be a whisper model name such as medium or large-v3"),
    url: httpUrl,
    size: z.number().int().nonnegative().optional(),
    sha256: sha256.optional(),
  })
  .strict();

export const FileModelSchema = z
  .object({
    id: modelId,
    kind: z.literal("file"),
    path: relativePath,
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
