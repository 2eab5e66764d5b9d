/**
 * From a stack's model references (`id` or `id@commit`) and the catalog to the manifest the
 * downloader gets: the one path every target uses, so the Docker and Kubernetes stacks of the
 * same config hand the downloader byte-identical manifests.
 */
import type { CatalogEntry } from "./catalog/schema";
import { toManifestModel } from "./catalog/schema";
import { COMMIT_RE } from "./contract";
import { canonicalManifestJson, MANIFEST_VERSION, type Manifest, ManifestSchema, manifestDigest, unverifiedFiles } from "./manifest";

export class ModelSelectionError extends Error {
  override name = "ModelSelectionError";
}

export interface SelectionOptions {
  /** The config key the references came from, for error messages. */
  key?: string;
  /** Allow files without a checksum (dev only; the pinned-models policy flags it). */
  allowUnverified?: boolean;
}

export function selectModels(refs: readonly string[], catalog: readonly CatalogEntry[], options: SelectionOptions = {}): CatalogEntry[] {
  const key = options.key ?? "models";
  const byId = new Map(catalog.map((entry) => [entry.id, entry]));
  const seen = new Map<string, number>();
  const errors: string[] = [];
  const selected: CatalogEntry[] = [];
  refs.forEach((ref, i) => {
    const [id, revision, ...rest] = ref.split("@");
    const where = `${key}[${i}]`;
    if (!id || rest.length > 0) {
      errors.push(`${where}: "${ref}" is not "id" or "id@<commit>"`);
      return;
    }
    const entry = byId.get(id);
    if (!entry) {
      errors.push(`${where}: unknown model id "${id}"${suggest(id, [...byId.keys()])}; known ids: ${[...byId.keys()].sort().join(", ")}`);
      return;
    }
    const first = seen.get(id);
    if (first !== undefined) {
      errors.push(`${where}: duplicate model id "${id}" (already enabled at ${key}[${first}]); remove one of them`);
      return;
    }
    seen.set(id, i);
    if (revision !== undefined) {
      if (entry.kind !== "huggingface") {
        errors.push(`${where}: "${id}" is a ${entry.kind} model and has no revision; use "${id}"`);
        return;
      }
      if (!COMMIT_RE.test(revision)) {
        errors.push(
          `${where}: revision "${revision}" of "${id}" is not a 40-hex commit sha; pin the full commit ` +
            `(e.g. "${id}@${entry.revision}"), never a branch or tag`,
        );
        return;
      }
      selected.push({ ...entry, revision });
      return;
    }
    selected.push(entry);
  });
  if (errors.length === 0 && !options.allowUnverified) {
    for (const problem of unverifiedFiles(selected.map(toManifestModel))) {
      errors.push(
        `${key}: "${problem.id}" has no checksum for ${problem.file} in the catalog; add its sha256 to the catalog, ` +
          "or set allowUnverified: true for this stack to download it unverified (dev only)",
      );
    }
  }
  if (errors.length > 0) throw new ModelSelectionError(errors.join("\n"));
  return selected;
}

export interface BuiltManifest {
  manifest: Manifest;
  /** Canonical JSON: what the downloader receives. */
  json: string;
  /** sha256 of `json`: the `model-cache.io/manifest` label. */
  digest: string;
}

export function buildManifest(entries: readonly CatalogEntry[], options: { allowUnverified?: boolean } = {}): BuiltManifest {
  const manifest = ManifestSchema.parse({
    version: MANIFEST_VERSION,
    ...(options.allowUnverified ? { allowUnverified: true } : {}),
    models: entries.map(toManifestModel),
  });
  return { manifest, json: canonicalManifestJson(manifest), digest: manifestDigest(manifest) };
}

function suggest(id: string, known: string[]): string {
  const close = known.filter((k) => k.includes(id) || id.includes(k) || editDistance(k, id) <= 3);
  return close.length > 0 ? ` (did you mean ${close.map((k) => `"${k}"`).join(" or ")}?)` : "";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}
