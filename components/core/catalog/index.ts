import { BUILTIN_CATALOG } from "./models.js";
import { type CatalogEntry, CatalogSchema } from "./schema.js";

export { BUILTIN_CATALOG } from "./models.js";
export * from "./schema.js";

/** The validated built-in catalog (validated once, at first use). */
let validated: CatalogEntry[] | undefined;
export function builtinCatalog(): CatalogEntry[] {
  validated ??= CatalogSchema.parse(BUILTIN_CATALOG);
  return validated;
}
