/** The manifest a container carries inline (MODEL_CACHE_MANIFEST), read leniently for policies. */
import { canonicalJson, MANIFEST_ENV, type Manifest, ManifestSchema, manifestDigest, sha256Hex } from "./core";
import { UNKNOWN } from "./values";
import type { Container } from "./workload";

/** Larger than this is not a manifest anyone writes; it is not parsed. */
const MAX_MANIFEST_CHARS = 2 * 1024 * 1024;

export type ManifestReading =
  | { state: "absent" }
  | { state: "unknown" }
  | { state: "unreadable"; why: string }
  | {
      state: "ok";
      json: unknown;
      /** Set when the manifest passes the schema the downloader applies. */
      manifest?: Manifest;
      /** The schema's complaints, `path: message`. */
      issues: string[];
      /** sha256 of the canonical manifest: what the `model-cache.io/manifest` label must say. */
      digest: string;
    };

export function readManifest(c: Container): ManifestReading {
  const v = c.env.get(MANIFEST_ENV);
  if (!v) return c.envUnknown ? { state: "unknown" } : { state: "absent" };
  if (v.value === UNKNOWN) return { state: "unknown" };
  if (v.value === undefined)
    return { state: "unreadable", why: `${MANIFEST_ENV} comes from ${v.ref ?? "a reference"}, which the pack cannot read` };
  if (v.value.length > MAX_MANIFEST_CHARS) return { state: "unreadable", why: `${MANIFEST_ENV} is ${v.value.length} characters long` };
  let json: unknown;
  try {
    json = JSON.parse(v.value);
  } catch (err) {
    return { state: "unreadable", why: `${MANIFEST_ENV} is not valid JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  const result = ManifestSchema.safeParse(json);
  if (result.success) return { state: "ok", json, manifest: result.data, issues: [], digest: manifestDigest(result.data) };
  const issues = result.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
  return { state: "ok", json, issues, digest: sha256Hex(canonicalJson(json)) };
}

/** Model ids listed in a manifest (lenient: whatever has a string id). */
export function manifestModelIds(json: unknown): string[] {
  const models = (json as { models?: unknown } | null)?.models;
  if (!Array.isArray(models)) return [];
  return models.flatMap((m) =>
    m !== null && typeof m === "object" && typeof (m as { id?: unknown }).id === "string" ? [(m as { id: string }).id] : [],
  );
}
