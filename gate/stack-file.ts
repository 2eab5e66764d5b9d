/**
 * Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to a program: a flat map of
 * `namespace:key` → string (JSON for arrays and objects), plus the list of secret keys, with the
 * project's declared defaults merged in and its required keys enforced as the CLI's mergeConfig
 * does (pulumi/pkg/workspace/config.go): a declared key the stack does not set takes its
 * `default` (primitives as text, anything else as JSON); one without a default is missing.
 * Secure values cannot be decrypted here (no passphrase, no service): they become a placeholder.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { z } from "zod";

export const REPO_ROOT = path.resolve(__dirname, "..");
/** What stands in for a secret the gate cannot decrypt, in config and in reports. */
export const SECRET_PLACEHOLDER = "[secret]";

const StackFileSchema = z.object({
  config: z.record(z.string(), z.unknown()).nullish(),
  secretsprovider: z.string().optional(),
  encryptionsalt: z.string().optional(),
});

const ProjectFileSchema = z.object({
  name: z.string().min(1),
  config: z.record(z.string(), z.unknown()).nullish(),
});

export interface StackFileConfig {
  stack: string;
  project: string;
  config: Record<string, string>;
  secretKeys: string[];
}

export class StackFileError extends Error {
  override name = "StackFileError";
}

function readProject(root: string): z.infer<typeof ProjectFileSchema> {
  return ProjectFileSchema.parse(parse(readFileSync(path.join(root, "Pulumi.yaml"), "utf8")));
}

export function projectName(root = REPO_ROOT): string {
  return readProject(root).name;
}

/** The stacks that have a `Pulumi.<stack>.yaml` in the project. */
export function stackNames(root = REPO_ROOT): string[] {
  return readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

export function readStackFile(stack: string, root = REPO_ROOT): StackFileConfig {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    const stacks = stackNames(root);
    throw new StackFileError(
      `no stack "${stack}": there is no ${path.relative(process.cwd(), file) || file}; ` +
        (stacks.length > 0 ? `the stacks here are ${stacks.join(", ")}` : "create one with pulumi stack init"),
    );
  }
  const project = readProject(root);
  const parsed = StackFileSchema.parse(parse(text) ?? {});
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(parsed.config ?? {})) {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      config[key] = SECRET_PLACEHOLDER;
      secretKeys.push(key);
    } else {
      config[key] = configText(value);
    }
  }
  const missing: string[] = [];
  for (const [declared, type] of Object.entries(project.config ?? {})) {
    const key = declared.includes(":") ? declared : `${project.name}:${declared}`;
    if (key in config) continue;
    const spec = type !== null && typeof type === "object" ? (type as { default?: unknown; value?: unknown }) : undefined;
    const fallback = spec?.default ?? spec?.value;
    if (fallback !== undefined) config[key] = configText(fallback);
    else if (key.startsWith(`${project.name}:`)) missing.push(declared);
  }
  if (missing.length > 0) {
    // The CLI's own words (missingStackConfigurationKeysError), so the gate fails as `pulumi preview` would.
    const quoted = missing.sort().map((k) => `'${k}'`);
    throw new StackFileError(
      `Stack '${stack}' is missing configuration ${missing.length > 1 ? "values" : "value"} ${quoted.join(", ")}: ` +
        `set it in ${path.basename(file)} (pulumi config set ${project.name}:${missing[0]} … --stack ${stack})`,
    );
  }
  return { stack, project: project.name, config, secretKeys };
}

/** A config value as the CLI passes it to the program: primitives as text, the rest as JSON. */
function configText(value: unknown): string {
  return typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
      ? String(value)
      : JSON.stringify(value);
}
