/**
 * Stack config: every `model-cache:*` key, validated with zod before any resource is created.
 * An error names the key, the bad value and the fix. Pure (no Pulumi SDK): tests and the `check`
 * gate feed it a stack file's config map directly.
 */
import { z } from "zod";
import {
  DEFAULT_DOWNLOAD_CONCURRENCY,
  DEFAULT_HUB_ENDPOINT,
  DEFAULT_MOUNT_PATH,
  DEVICES,
  normalizeMountPath,
} from "../components/core/contract";
import { DEFAULT_HEADROOM, MAX_HEADROOM, MIN_HEADROOM } from "../components/core/sizing";
import { DNS_LABEL_RE, DNS_SUBDOMAIN_RE, isQuantity, parseNodeSelector, parseToleration } from "../components/kubernetes/config-values";

export const CONFIG_NAMESPACE = "model-cache";

/** The dev stack's default model server: Hugging Face text-embeddings-inference, CPU build. */
export const DEFAULT_SERVICE_IMAGE = "ghcr.io/huggingface/text-embeddings-inference:cpu-1.8";

const intFromConfig = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const boolFromConfig = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean());
const jsonArray = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (typeof v === "string" && v.trim().startsWith("[") ? safeJson(v) : v), z.array(item));

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `id` or `id@<40-hex commit>`: a catalog model, optionally pinned to another commit. */
export const ModelRefSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*(@.*)?$/, "a model reference is a catalog id, optionally followed by @<commit>");

const envEntry = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, 'must be "NAME=value"');

/** A string some parser accepts; its error message becomes the issue's. */
const parsedBy = (parse: (value: string) => unknown) =>
  z.string().superRefine((value, ctx) => {
    try {
      parse(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
    }
  });
const quantity = (example: string) =>
  z.string().refine(isQuantity, `must be a Kubernetes quantity such as "${example}" (digits, then an optional unit: m, Ki, Mi, Gi, ...)`);
/** Empty (not set) or an AWS id with the given prefix. */
const awsId = (prefix: string) =>
  z.string().regex(new RegExp(`^(${prefix}-[0-9a-f]{8,17})?$`), `must be an AWS id "${prefix}-" followed by 8 to 17 hex digits`);

/** How the kubernetes target gets its ReadWriteMany models volume. */
export const VOLUME_PROVISIONING = ["efs", "dynamic", "static"] as const;

export const StackShape = z
  .object({
    target: z.enum(["docker", "kubernetes"]).default("docker"),
    cacheName: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, "lower-case letters, digits and '-', at most 42 characters")
      .default("models"),
    models: jsonArray(ModelRefSchema).pipe(z.array(ModelRefSchema).min(1, "enable at least one model")),
    device: z.enum(DEVICES).default("cuda"),
    gpuMemoryMiB: intFromConfig(1, 1 << 20).default(16384),
    headroom: z.coerce
      .number()
      .min(MIN_HEADROOM, `must be between ${MIN_HEADROOM} and ${MAX_HEADROOM}`)
      .max(MAX_HEADROOM, `must be between ${MIN_HEADROOM} and ${MAX_HEADROOM}`)
      .default(DEFAULT_HEADROOM),
    runtimeOverheadMiB: intFromConfig(0, 1 << 20).default(0),
    // 0 derives it from the catalog's load times (components/core/startup.ts).
    startPeriodSeconds: intFromConfig(0, 3600).default(0),
    // The team's catalog file, relative to the project; "" reads catalog.yaml when it exists.
    catalogFile: z
      .string()
      .refine((f) => f === "" || /\.ya?ml$/.test(f), "must be a .yaml or .yml file (or empty for catalog.yaml when present)")
      .default(""),
    mountPath: z
      .string()
      .refine((p) => p.startsWith("/"), "must be an absolute path")
      .transform((p) => normalizeMountPath(p))
      .default(DEFAULT_MOUNT_PATH),
    allowUnverified: boolFromConfig.default(false),
    hubEndpoint: z.string().url().default(DEFAULT_HUB_ENDPOINT),
    downloaderImage: z.string().default(""),
    downloadConcurrency: intFromConfig(1, 64).default(DEFAULT_DOWNLOAD_CONCURRENCY),
    serviceImage: z.string().min(1).default(DEFAULT_SERVICE_IMAGE),
    serviceArgs: jsonArray(z.string()).default([]),
    serviceEnv: jsonArray(envEntry).default([]),
    serviceHealthcheck: jsonArray(z.string()).default([]),
    servicePort: intFromConfig(1, 65535).default(80),
    hostPort: intFromConfig(1, 65535).default(8080),
    replicas: intFromConfig(1, 100).default(1),
    // The model server's HTTP health endpoint: the Docker healthcheck and the Kubernetes probes.
    healthPath: z
      .string()
      .regex(/^\/[^\s?#]*(\?[^\s#]*)?$/, 'must be an absolute URL path such as "/health"')
      .default("/health"),

    // --- target kubernetes (ignored by docker) ---
    namespace: z
      .string()
      .regex(DNS_LABEL_RE, "must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters")
      .default("model-cache"),
    createNamespace: boolFromConfig.default(true),
    volumeProvisioning: z.enum(VOLUME_PROVISIONING).default("efs"),
    storageClassName: z
      .string()
      .refine((v) => v === "" || DNS_SUBDOMAIN_RE.test(v), "must be empty or a DNS-1123 subdomain (a StorageClass name)")
      .default(""),
    storageSize: quantity("50Gi").default("50Gi"),
    persistentVolumeName: z
      .string()
      .refine((v) => v === "" || DNS_SUBDOMAIN_RE.test(v), "must be empty or a DNS-1123 subdomain (a PersistentVolume name)")
      .default(""),
    vpcId: awsId("vpc").default(""),
    efsSubnetIds: jsonArray(awsId("subnet").pipe(z.string().min(1, "must not be empty"))).default([]),
    nodeSecurityGroupId: awsId("sg").default(""),
    gpuNodeSelector: jsonArray(z.string())
      .pipe(z.array(z.string()).superRefine((entries, ctx) => tryParse(() => parseNodeSelector(entries), ctx)))
      .default([]),
    gpuTolerations: jsonArray(parsedBy(parseToleration)).default([]),
    gpuCount: intFromConfig(1, 16).default(1),
    cpuRequest: quantity("2").default("1"),
    downloaderCpu: quantity("1").default("1"),
    downloaderMemoryMiB: intFromConfig(128, 1 << 16).default(1024),
    jobBackoffLimit: intFromConfig(0, 20).default(2),
    jobActiveDeadlineSeconds: intFromConfig(60, 7 * 86400).default(3600),
    pdbMinAvailable: intFromConfig(0, 99).default(1),
    useAmbientKubeconfig: boolFromConfig.default(false),
  })
  .strict();

export const StackConfigSchema = StackShape.superRefine((config, ctx) => {
  if (config.target === "kubernetes") kubernetesRequirements(config, ctx);
});

function tryParse(parse: () => unknown, ctx: z.RefinementCtx): void {
  try {
    parse();
  } catch (err) {
    ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
  }
}

/** Settings that only the kubernetes target needs, or that only make sense together. */
function kubernetesRequirements(config: z.output<typeof StackShape>, ctx: z.RefinementCtx): void {
  const issue = (key: keyof z.output<typeof StackShape>, message: string) => ctx.addIssue({ code: "custom", path: [key], message });
  if (config.downloaderImage === "") {
    issue(
      "downloaderImage",
      "target kubernetes needs a prebuilt downloader image in a registry the cluster can pull from (images are not built here); " +
        "push the image built from downloader/Dockerfile and set its reference",
    );
  }
  if (config.volumeProvisioning === "efs") {
    if (config.vpcId === "")
      issue("vpcId", "is required when volumeProvisioning is efs (the cluster's VPC, where the EFS mount targets go)");
    if (config.efsSubnetIds.length === 0) {
      issue("efsSubnetIds", "is required when volumeProvisioning is efs: one subnet per availability zone the GPU nodes run in");
    }
    if (config.nodeSecurityGroupId === "") {
      issue(
        "nodeSecurityGroupId",
        "is required when volumeProvisioning is efs: the cluster nodes' security group, the only source NFS is allowed from",
      );
    }
    const dup = config.efsSubnetIds.find((id, i) => config.efsSubnetIds.indexOf(id) !== i);
    if (dup) issue("efsSubnetIds", `lists ${dup} twice; EFS allows one mount target per subnet (and per availability zone)`);
  }
  if (config.volumeProvisioning === "dynamic" && config.storageClassName === "") {
    issue("storageClassName", "is required when volumeProvisioning is dynamic: a StorageClass that provisions ReadWriteMany volumes");
  }
  if (config.volumeProvisioning === "static" && config.persistentVolumeName === "") {
    issue("persistentVolumeName", "is required when volumeProvisioning is static: the existing ReadWriteMany PersistentVolume to bind to");
  }
  if (config.pdbMinAvailable >= config.replicas) {
    issue(
      "pdbMinAvailable",
      `must be less than replicas (${config.replicas}), or a node drain can never evict a service pod; ` +
        `set it to ${Math.max(config.replicas - 1, 0)}`,
    );
  }
}

export type StackConfig = z.infer<typeof StackConfigSchema>;

/** Keys a stack may set, with the fix to suggest when one is wrong. */
const FIX_HINTS: Partial<Record<keyof StackConfig, string>> = {
  models: 'pulumi config set --path "model-cache:models[0]" <catalog id>',
  headroom: "pulumi config set model-cache:headroom 1.25",
  device: "pulumi config set model-cache:device cuda   # or cpu",
  target: "pulumi config set model-cache:target docker   # or kubernetes",
  mountPath: "pulumi config set model-cache:mountPath /app/models",
  downloaderImage: "pulumi config set model-cache:downloaderImage ghcr.io/<org>/model-cache-downloader:<version>",
  namespace: "pulumi config set model-cache:namespace model-cache",
  volumeProvisioning: "pulumi config set model-cache:volumeProvisioning efs   # or dynamic, static",
  storageClassName: "pulumi config set model-cache:storageClassName <StorageClass name>",
  storageSize: "pulumi config set model-cache:storageSize 50Gi",
  persistentVolumeName: "pulumi config set model-cache:persistentVolumeName <PersistentVolume name>",
  vpcId: "pulumi config set model-cache:vpcId vpc-<id>   # aws eks describe-cluster --query cluster.resourcesVpcConfig.vpcId",
  efsSubnetIds: 'pulumi config set --path "model-cache:efsSubnetIds[0]" subnet-<id>',
  nodeSecurityGroupId: "pulumi config set model-cache:nodeSecurityGroupId sg-<id>   # the node group's security group",
  gpuNodeSelector: 'pulumi config set --path "model-cache:gpuNodeSelector[0]" nvidia.com/gpu.present=true',
  gpuTolerations: 'pulumi config set --path "model-cache:gpuTolerations[0]" nvidia.com/gpu:NoSchedule',
  cpuRequest: "pulumi config set model-cache:cpuRequest 2",
  downloaderCpu: "pulumi config set model-cache:downloaderCpu 1",
  healthPath: "pulumi config set model-cache:healthPath /health",
  startPeriodSeconds: "pulumi config rm model-cache:startPeriodSeconds   # derive it from the catalog's load times",
  catalogFile: "pulumi config set model-cache:catalogFile catalog.yaml",
  pdbMinAvailable: "pulumi config set model-cache:pdbMinAvailable 1",
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Validate raw Pulumi config (`{"model-cache:models": "[...]", ...}`, values as the engine hands
 * them: strings, JSON for arrays). Keys of other namespaces (docker:, kubernetes:, aws:) are ignored.
 */
export function parseStackConfig(raw: Record<string, string | unknown>, extraKeys: readonly string[] = []): StackConfig {
  const ours: Record<string, unknown> = {};
  const unknownKeys: string[] = [];
  const known = new Set([...Object.keys(StackConfigSchema.shape), ...extraKeys]);
  for (const [fullKey, value] of Object.entries(raw)) {
    const [ns, key] = splitKey(fullKey);
    if (ns !== CONFIG_NAMESPACE || key === undefined) continue;
    if (!known.has(key)) unknownKeys.push(key);
    else if (!extraKeys.includes(key)) ours[key] = value;
  }
  if (unknownKeys.length > 0) {
    throw new ConfigError(
      unknownKeys
        .map(
          (k) =>
            `${CONFIG_NAMESPACE}:${k}: unknown key; remove it (pulumi config rm ${CONFIG_NAMESPACE}:${k}) or use one of: ${[...known].sort().join(", ")}`,
        )
        .join("\n"),
    );
  }
  const result = StackConfigSchema.safeParse(ours);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues
        .map((issue) => {
          const key = String(issue.path[0] ?? "");
          const where = `${CONFIG_NAMESPACE}:${issue.path.map(String).join(".")}`;
          const bad = key in ours ? ` (got ${JSON.stringify(ours[key])})` : "";
          const fix = FIX_HINTS[key as keyof StackConfig];
          return `${where}: ${issue.message}${bad}${fix ? `; fix: ${fix}` : ""}`;
        })
        .join("\n"),
    );
  }
  return result.data;
}

function splitKey(fullKey: string): [string, string | undefined] {
  const i = fullKey.indexOf(":");
  return i < 0 ? [fullKey, undefined] : [fullKey.slice(0, i), fullKey.slice(i + 1)];
}
