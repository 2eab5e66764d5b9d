/**
 * What a consumer serves and on which device, for the rules that size it from the catalog
 * (`measured-memory-limit`, `startup-grace`): the model ids of its manifest (its own inline one, a
 * verify init container's, else its cache's downloader's), its device, and the catalog — the
 * built-ins merged with the team's catalog file, as the program merges them.
 */
import * as path from "node:path";
import { builtinCatalog, type CatalogEntry, catalogFileFor, type Device, mergeCatalog, readCatalogFile } from "./core";
import { type ManifestReading, manifestModelIds, readManifest } from "./manifest";
import type { StackContext } from "./rule";
import { UNKNOWN } from "./values";
import { servingContainers, type WorkloadView } from "./view";

export type ManifestSource = { state: "none" } | { state: "unknown" } | { state: "ok"; ids: string[] };

/** The models the consumer serves: its own inline manifest (a verify init container), else its cache's downloader's. */
export function manifestOf(view: WorkloadView, context: StackContext | undefined): ManifestSource {
  const readings: ManifestReading[] = view.containers.map((cv) => readManifest(cv.container));
  const own = pick(readings);
  if (own.state !== "none" || !context) return own;
  const keys = new Set(view.containers.flatMap((cv) => cv.cacheMounts.flatMap((m) => context.self.cacheOf.get(m.volume) ?? [])));
  const downloaders = [...keys].flatMap((key) => context.stack.groups.get(key)?.downloaders ?? []);
  const matching = downloaders.filter((d) => typeof view.manifestLabel !== "string" || d.view.manifestLabel === view.manifestLabel);
  return pick((matching.length > 0 ? matching : downloaders).map((d) => readManifest(d.cv.container)));
}

function pick(readings: ManifestReading[]): ManifestSource {
  for (const r of readings) if (r.state === "ok") return { state: "ok", ids: manifestModelIds(r.json) };
  if (readings.some((r) => r.state === "unknown")) return { state: "unknown" };
  return { state: "none" };
}

/** `auto`: what the stack sized it for where its device label says so, else cuda when it requests a GPU, else cpu. */
export function deviceOf(view: WorkloadView, setting: "auto" | Device): Device | typeof UNKNOWN {
  if (setting !== "auto") return setting;
  if (view.deviceLabel === "cuda" || view.deviceLabel === "cpu") return view.deviceLabel;
  const gpus = servingContainers(view).map((cv) => cv.container.gpus);
  if (gpus.some((g) => g === "all" || (typeof g === "number" && g > 0))) return "cuda";
  if (gpus.some((g) => g === UNKNOWN)) return UNKNOWN;
  return "cpu";
}

/** The pack's own folder's parent: the project root when the pack runs from this repository's `policies/`. */
const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const catalogs = new Map<string, CatalogEntry[] | string>();

/**
 * The catalog the rules size against: the built-ins, merged with the catalog file (`catalogFile`
 * setting: absolute, or relative to the project root; empty reads `catalog.yaml` there when it
 * exists). A file that cannot be read gives its error text instead.
 */
export function policyCatalog(catalogFile: string): CatalogEntry[] | string {
  const cached = catalogs.get(catalogFile);
  if (cached !== undefined) return cached;
  let result: CatalogEntry[] | string;
  try {
    const file = catalogFileFor(catalogFile, PROJECT_DIR);
    result = mergeCatalog(builtinCatalog(), file ? readCatalogFile(file, PROJECT_DIR) : undefined).entries;
  } catch (err) {
    result = `the catalog file ${catalogFile || "catalog.yaml"} cannot be read: ${err instanceof Error ? err.message : String(err)}`;
  }
  catalogs.set(catalogFile, result);
  return result;
}
