import { BUILTIN_CATALOG } from "./models";
import { type CatalogEntry, CatalogSchema } from "./schema";

export { BUILTIN_CATALOG } from "./models";
export * from "./schema";

/** The validated built-in catalog (validated once, at first use). */
let validated: CatalogEntry[] | undefined;
export function builtinCatalog(): CatalogEntry[] {
  validated ??= CatalogSchema.parse(BUILTIN_CATALOG);
  return validated;
}
export * from "./file";
export { filterPaths, matchesPattern } from "./patterns";
