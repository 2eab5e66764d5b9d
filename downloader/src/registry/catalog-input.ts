import { CatalogFileError, readCatalogFile } from "../../../components/core/catalog/file.js";
import { ManifestError } from "../errors.js";

/** The catalog file a registry command reads; a file that does not validate is a usage error (exit 2). */
export function readCatalogInput(file: string): ReturnType<typeof readCatalogFile> {
  try {
    return readCatalogFile(file);
  } catch (err) {
    if (err instanceof CatalogFileError) throw new ManifestError(err.message);
    throw err;
  }
}
