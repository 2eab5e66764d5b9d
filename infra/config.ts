/**
 * Stack config: every `model-cache:*` key, validated with zod before any resource is created.
 * An error names the key, the bad value and the fix. Pure (no Pulumi SDK): tests and the `check`
 * gate feed it a stack file's config map directly.
 */
import { z } from "zod";
import { DEFAULT_MOUNT_PATH, normalizeMountPath } from "../components/core/contract";
import { DEFAULT_HEADROOM, MAX_HEADROOM, MIN_HEADROOM } from "../components/core/sizing";

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

export const StackConfigSchema = z
  .object({
    target: z.enum(["docker", "kubernetes"]).default("docker"),
    cacheName: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$/, "lower-case letters, digits and '-', at most 42 characters")
      .default("models"),
    models: jsonArray(ModelRefSchema).pipe(z.array(ModelRefSchema).min(1, "enable at least one model")),
    device: z.enum(["cuda", "cpu"]).default("cuda"),
    gpuMemoryMiB: intFromConfig(1, 1 << 20).default(16384),
    headroom: z.coerce
      .number()
      .min(MIN_HEADROOM, `must be between ${MIN_HEADROOM} and ${MAX_HEADROOM}`)
      .max(MAX_HEADROOM, `must be between ${MIN_HEADROOM} and ${MAX_HEADROOM}`)
      .default(DEFAULT_HEADROOM),
    runtimeOverheadMiB: intFromConfig(0, 1 << 20).default(0),
    startPeriodSeconds: intFromConfig(0, 3600).default(90),
    mountPath: z
      .string()
      .refine((p) => p.startsWith("/"), "must be an absolute path")
      .transform((p) => normalizeMountPath(p))
      .default(DEFAULT_MOUNT_PATH),
    allowUnverified: boolFromConfig.default(false),
    hubEndpoint: z.string().url().default("https://huggingface.co"),
    downloaderImage: z.string().default(""),
    downloadConcurrency: intFromConfig(1, 64).default(4),
    serviceImage: z.string().min(1).default(DEFAULT_SERVICE_IMAGE),
    serviceArgs: jsonArray(z.string()).default([]),
    serviceEnv: jsonArray(envEntry).default([]),
    serviceHealthcheck: jsonArray(z.string()).default([]),
    servicePort: intFromConfig(1, 65535).default(80),
    hostPort: intFromConfig(1, 65535).default(8080),
    replicas: intFromConfig(1, 100).default(1),
  })
  .strict();

export type StackConfig = z.infer<typeof StackConfigSchema>;

/** Keys a stack may set, with the fix to suggest when one is wrong. */
const FIX_HINTS: Partial<Record<keyof StackConfig, string>> = {
  models: 'pulumi config set --path "model-cache:models[0]" <catalog id>',
  headroom: "pulumi config set model-cache:headroom 1.25",
  device: "pulumi config set model-cache:device cuda   # or cpu",
  target: "pulumi config set model-cache:target docker   # or kubernetes",
  mountPath: "pulumi config set model-cache:mountPath /app/models",
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
