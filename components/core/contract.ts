/**
 * The cache contract (docs/architecture.md): the one place that says where the cache lives, which
 * environment every workload gets, how the parts of a stack are labelled and who may write.
 * Components, policies and the downloader all import it; nothing restates these rules.
 * Pure TypeScript: no Pulumi SDK, so the downloader image can import it.
 */

export const DEFAULT_MOUNT_PATH = "/app/models";
export const CACHE_DIR_NAME = ".cache";

/** The POSIX user the downloader writes as and every consumer reads as (EFS access point too). */
export const CACHE_UID = 1000;
export const CACHE_GID = 1000;

export const LABEL_PREFIX = "model-cache.io";
export const LABELS = {
  role: `${LABEL_PREFIX}/role`,
  cache: `${LABEL_PREFIX}/cache`,
  manifest: `${LABEL_PREFIX}/manifest`,
  /** On a consumer: the device its memory was sized for (`cuda` | `cpu`), as its stack declares it. */
  device: `${LABEL_PREFIX}/device`,
} as const;

/**
 * Annotations beside the labels. Kubernetes label values are at most 63 characters
 * (apimachinery LabelValueMaxLength), so the whole 64-hex manifest digest lives here and the
 * `manifest` label carries its first {@link MANIFEST_LABEL_DIGEST_CHARS} hex digits.
 */
export const ANNOTATIONS = {
  manifestSha256: `${LABEL_PREFIX}/manifest-sha256`,
} as const;

/** apimachinery's LabelValueMaxLength: what a real API server accepts as a label value. */
export const LABEL_VALUE_MAX_LENGTH = 63;
/** 128 bits of the digest: selection and policy matching need no more, and it fits a label. */
export const MANIFEST_LABEL_DIGEST_CHARS = 32;

/** The `model-cache.io/manifest` label value for a manifest's sha256. */
export function manifestLabelValue(manifestDigest: string): string {
  return manifestDigest.slice(0, MANIFEST_LABEL_DIGEST_CHARS);
}

/** The devices a model service runs on: the catalog's memory figures, the stack's `device`, the device label. */
export const DEVICES = ["cuda", "cpu"] as const;
export type Device = (typeof DEVICES)[number];

/** The extended resource a GPU consumer requests (NVIDIA device plugin). */
export const GPU_RESOURCE = "nvidia.com/gpu";

export const ROLES = ["downloader", "service", "cache"] as const;
export type Role = (typeof ROLES)[number];

/** Every variable that must point at the cache root, on the downloader and on every consumer. */
export const CACHE_ENV_KEYS = ["HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME", "TRANSFORMERS_CACHE"] as const;
/** The subset that current libraries read; transformers v5 no longer reads TRANSFORMERS_CACHE. */
export const REQUIRED_CACHE_ENV_KEYS = ["HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME"] as const;
export const LEGACY_CACHE_ENV_KEYS = ["TRANSFORMERS_CACHE"] as const;

/**
 * Consumer-only: no hub access at all. huggingface_hub reads HF_HUB_OFFLINE first, so
 * HF_HUB_OFFLINE=0 wins over TRANSFORMERS_OFFLINE=1; both must be true.
 */
export const OFFLINE_ENV = { HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1" } as const;
/** The variable huggingface_hub reads first: its value decides, whatever TRANSFORMERS_OFFLINE says. */
export const HUB_OFFLINE_KEY = "HF_HUB_OFFLINE" satisfies keyof typeof OFFLINE_ENV;
export const OFFLINE_ENV_KEYS = Object.keys(OFFLINE_ENV) as (keyof typeof OFFLINE_ENV)[];

/** Hub credentials: only the downloader may hold them. */
export const HUB_TOKEN_ENV_KEYS = ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"] as const;
/** Where huggingface_hub looks for a token file, relative to HF_HOME (and the legacy location). */
export const HUB_TOKEN_FILE_NAMES = ["token", "stored_tokens"] as const;
/** huggingface_hub reads its token file from wherever this variable points (constants.HF_TOKEN_PATH). */
export const HUB_TOKEN_PATH_ENV = "HF_TOKEN_PATH";
export const HUB_TOKEN_PATH_HINTS = ["/.cache/huggingface/token", "/huggingface/token", "/.huggingface/token"] as const;
/**
 * Every variable that hands a consumer hub credentials, as huggingface_hub reads them
 * (utils/_auth.py get_token: HF_OIDC_RESOURCE with HF_OIDC_ID_TOKEN exchanged for a token, then
 * HF_TOKEN or HUGGING_FACE_HUB_TOKEN, then the file HF_TOKEN_PATH names, default `<HF_HOME>/token`).
 */
export const HUB_CREDENTIAL_ENV_KEYS = [...HUB_TOKEN_ENV_KEYS, HUB_TOKEN_PATH_ENV, "HF_OIDC_RESOURCE", "HF_OIDC_ID_TOKEN"] as const;
/** huggingface_hub's HF_HOME default: `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (constants.py). */
export const HUB_HOME_DIR_NAME = "huggingface";

/** The Kubernetes CSI driver of AWS EFS; its volume handle is `<file system id>[:<subpath>][:<access point id>]`. */
export const EFS_CSI_DRIVER = "efs.csi.aws.com";
/** An EFS file system id, as it appears in volume handles and in its DNS name `<id>.efs.<region>.amazonaws.com`. */
export const EFS_FILE_SYSTEM_ID_RE = /\bfs-[0-9a-f]{8,40}\b/;
/** The Docker engine's default data-root: a named volume's data is `<data-root>/volumes/<name>/_data` on its host. */
export const DOCKER_DEFAULT_DATA_ROOT = "/var/lib/docker";

/** The environment variable that hands the manifest JSON to the downloader. */
export const MANIFEST_ENV = "MODEL_CACHE_MANIFEST";
/**
 * The Pulumi type of the Docker target's download step: a container run once to completion
 * (components/docker/one-shot-container.ts), with docker.Container's input names.
 */
export const DOCKER_ONE_SHOT_TYPE = "pulumi-nodejs:dynamic/docker:OneShotContainer";
/** How many files the downloader fetches in parallel. */
export const CONCURRENCY_ENV = "MODEL_CACHE_CONCURRENCY";
/** Files downloaded in parallel by default: as many as huggingface_hub's snapshot_download (its max_workers). */
export const DEFAULT_DOWNLOAD_CONCURRENCY = 8;
/** The variable the downloader (only) gets its hub token in. */
export const HUB_TOKEN_ENV = HUB_TOKEN_ENV_KEYS[0];
/** The hub base URL (mirror, air-gapped install). */
export const HUB_ENDPOINT_ENV = "HF_ENDPOINT";
export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

/** Values huggingface_hub treats as true (constants._is_true), case-insensitive. */
const TRUE_VALUES = new Set(["1", "true", "yes", "on"]);
export function isTruthyEnvValue(value: string | undefined | null): boolean {
  return value != null && TRUE_VALUES.has(value.trim().toLowerCase());
}

export interface CachePaths {
  /** Where the models volume is mounted in every container. */
  mountPath: string;
  /** The cache root every cache variable points at: `<mountPath>/.cache`. */
  root: string;
  /** Whisper checkpoints: `<root>/whisper/<name>.pt` (whisper reads XDG_CACHE_HOME/whisper). */
  whisperDir: string;
}

export function cachePaths(mountPath: string = DEFAULT_MOUNT_PATH): CachePaths {
  const normalized = normalizeMountPath(mountPath);
  const root = `${normalized}/${CACHE_DIR_NAME}`;
  return { mountPath: normalized, root, whisperDir: `${root}/${CACHE_LAYOUT.whisperDir}` };
}

export function normalizeMountPath(mountPath: string): string {
  if (!mountPath.startsWith("/")) {
    throw new Error(`mount path "${mountPath}" must be absolute (start with "/"), e.g. ${DEFAULT_MOUNT_PATH}`);
  }
  const trimmed = mountPath.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/** True when `path` is `dir` or below it (both absolute, POSIX). */
export function isPathUnder(path: string, dir: string): boolean {
  const p = path.replace(/\/+$/, "");
  const d = dir.replace(/\/+$/, "");
  return p === d || p.startsWith(`${d}/`);
}

/** The cache environment, identical on the downloader and every consumer. */
export function cacheEnv(paths: CachePaths): Record<(typeof CACHE_ENV_KEYS)[number], string> {
  return {
    HF_HOME: paths.root,
    HF_HUB_CACHE: paths.root,
    XDG_CACHE_HOME: paths.root,
    TRANSFORMERS_CACHE: paths.root,
  };
}

/** Everything the downloader gets (but its token): the cache env, the manifest, the hub, its parallelism. */
export function downloaderEnv(args: {
  paths: CachePaths;
  manifestJson: string;
  hubEndpoint: string;
  concurrency: number;
}): Record<string, string> {
  return {
    ...cacheEnv(args.paths),
    [MANIFEST_ENV]: args.manifestJson,
    [HUB_ENDPOINT_ENV]: args.hubEndpoint,
    [CONCURRENCY_ENV]: String(args.concurrency),
  };
}

/** Everything a consumer (model service) gets: the cache env plus offline mode. */
export function consumerEnv(paths: CachePaths): Record<string, string> {
  return { ...cacheEnv(paths), ...OFFLINE_ENV };
}

export interface ContractLabelInput {
  role: Role;
  cacheName: string;
  /** sha256 of the canonical manifest; absent on the volume, which outlives manifests. */
  manifestDigest?: string;
  /** Consumers only: the device the stack sizes and schedules them for. */
  device?: Device;
}

export function contractLabels({ role, cacheName, manifestDigest, device }: ContractLabelInput): Record<string, string> {
  const labels: Record<string, string> = { [LABELS.role]: role, [LABELS.cache]: cacheName };
  if (manifestDigest !== undefined) labels[LABELS.manifest] = manifestLabelValue(manifestDigest);
  if (device !== undefined) labels[LABELS.device] = device;
  return labels;
}

/** The annotations that go with {@link contractLabels}: the whole manifest digest, where there is one. */
export function contractAnnotations({ manifestDigest }: Pick<ContractLabelInput, "manifestDigest">): Record<string, string> {
  return manifestDigest === undefined ? {} : { [ANNOTATIONS.manifestSha256]: manifestDigest };
}

/** `KEY=value` strings as Docker's `envs` wants them, in a stable order. */
export function toDockerEnv(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort()
    .map((key) => `${key}=${env[key]}`);
}

/** Kubernetes `env` entries, in a stable order. */
export function toKubernetesEnv(env: Record<string, string>): { name: string; value: string }[] {
  return Object.keys(env)
    .sort()
    .map((name) => ({ name, value: env[name] as string }));
}

/**
 * The cache layout below the cache root (docs/architecture.md, "Cache layout"): the Hugging Face
 * hub cache huggingface_hub reads offline, whisper's checkpoint folder, and plain files at their
 * manifest path. Relative POSIX paths; the downloader joins them to its root, components to the
 * mount's.
 */
export const CACHE_LAYOUT = {
  hubRepoPrefix: "models--",
  blobsDir: "blobs",
  snapshotsDir: "snapshots",
  refsDir: "refs",
  whisperDir: "whisper",
  whisperSuffix: ".pt",
} as const;

/** The downloader's own state below the cache root (records, locks, partial plain-URL downloads): no consumer reads it. */
export const DOWNLOADER_STATE_DIR = ".model-cache";
/** Whisper checkpoints below the cache root: `<root>/whisper/<name>.pt`. */
export const WHISPER_DIR = CACHE_LAYOUT.whisperDir;
/** The backup-tool tag at the cache root (https://bford.info/cachedir/). */
export const CACHEDIR_TAG_FILE = "CACHEDIR.TAG";

/**
 * Why a `file` model may not write `<root>/<path>` (undefined when it may): the first segment
 * belongs to the cache layout (hub repo folders, whisper/, the downloader's state, huggingface_hub's
 * own .locks, CACHEDIR.TAG).
 */
export function reservedCachePath(path: string): string | undefined {
  const first = path.split("/")[0] ?? "";
  if (/^(models|datasets|spaces)--/.test(first) || first.startsWith(CACHE_LAYOUT.hubRepoPrefix))
    return `"${first}" is where huggingface_hub keeps a hub repo`;
  if (first === WHISPER_DIR) return `${WHISPER_DIR}/ holds the whisper models (use kind "whisper")`;
  if (first === DOWNLOADER_STATE_DIR || first === ".locks" || first === CACHEDIR_TAG_FILE) return `"${first}" belongs to the cache itself`;
  return undefined;
}

/** Hugging Face hub repo folder name inside the cache root: `models--org--name`. */
export function hubRepoFolder(repo: string): string {
  return `${CACHE_LAYOUT.hubRepoPrefix}${repo.split("/").join("--")}`;
}

/** `models--org--name/snapshots/<commit>`: the folder a consumer loads a hub model from. */
export function snapshotRelPath(repo: string, commit: string): string {
  return `${hubRepoFolder(repo)}/${CACHE_LAYOUT.snapshotsDir}/${commit}`;
}

/** `whisper/<name>.pt`: where whisper.load_model(name, download_root=XDG_CACHE_HOME/whisper) looks. */
export function whisperRelPath(name: string): string {
  return `${CACHE_LAYOUT.whisperDir}/${name}${CACHE_LAYOUT.whisperSuffix}`;
}

/**
 * The service's HTTP health probe as an exec-form command: a GET through bash's /dev/tcp, since
 * many model-server images (text-embeddings-inference's among them) ship no curl or wget; it
 * succeeds iff the status line says 200. The Docker healthcheck runs it, and so does
 * `model-cache measure`, so both wait for the same thing.
 */
export function httpProbeCommand(port: number, path: string): string[] {
  const request = `GET ${path} HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n`;
  return ["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port} && printf '${request}' >&3 && head -n1 <&3 | grep -q ' 200 '`];
}

export const COMMIT_RE = /^[0-9a-f]{40}$/;
export const SHA256_RE = /^[0-9a-f]{64}$/;
export const SHA1_RE = /^[0-9a-f]{40}$/;
