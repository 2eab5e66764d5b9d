/**
 * The project's contract and sizing modules, as the pack uses them: the one place the pack imports
 * core from, so the rules never restate a rule of the contract (and `npm run policy:bundle`, which
 * copies core next to the pack for `pulumi policy publish`, rewrites only this file).
 */
export { canonicalJson, sha256Hex } from "../../components/core/canonical-json";
export {
  builtinCatalog,
  type CatalogEntry,
  catalogFileFor,
  mergeCatalog,
  readCatalogFile,
} from "../../components/core/catalog";
export {
  CACHE_ENV_KEYS,
  COMMIT_RE,
  cachePaths,
  DEFAULT_MOUNT_PATH,
  DEVICES,
  type Device,
  DOCKER_DEFAULT_DATA_ROOT,
  DOCKER_ONE_SHOT_TYPE,
  EFS_CSI_DRIVER,
  EFS_FILE_SYSTEM_ID_RE,
  GPU_RESOURCE,
  HUB_CREDENTIAL_ENV_KEYS,
  HUB_HOME_DIR_NAME,
  HUB_OFFLINE_KEY,
  HUB_TOKEN_ENV_KEYS,
  HUB_TOKEN_FILE_NAMES,
  HUB_TOKEN_PATH_HINTS,
  isPathUnder,
  isTruthyEnvValue,
  LABELS,
  LEGACY_CACHE_ENV_KEYS,
  MANIFEST_ENV,
  manifestLabelValue,
  OFFLINE_ENV,
  OFFLINE_ENV_KEYS,
  REQUIRED_CACHE_ENV_KEYS,
  ROLES,
  type Role,
  SHA1_RE,
  SHA256_RE,
} from "../../components/core/contract";
export { type Manifest, type ManifestModel, ManifestSchema, manifestDigest, unverifiedFiles } from "../../components/core/manifest";
export { parseQuantity, quantityToMiB } from "../../components/core/quantity";
export { computeMemorySizing, DEFAULT_HEADROOM, MAX_HEADROOM, type MemorySizing, SizingError } from "../../components/core/sizing";
export { STARTUP_HEADROOM, STARTUP_MARGIN_SECONDS, type StartPeriod, startPeriodFor } from "../../components/core/startup";
