/**
 * Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to a program: a flat map of
 * `namespace:key` → string (JSON for arrays and objects), plus the list of secret keys.
 * Secure values cannot be decrypted here (no passphrase, no service): they become a placeholder.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { z } from "zod";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const SECRET_PLACEHOLDER = "[secret]";

const StackFileSchema = z.object({
  config: z.record(z.string(), z.unknown()).default({}),
  secretsprovider: z.string().optional(),
  encryptionsalt: z.string().optional(),
});

export interface StackFileConfig {
  stack: string;
  project: string;
  config: Record<string, string>;
  secretKeys: string[];
}

export function projectName(root = REPO_ROOT): string {
  const project = z.object({ name: z.string() }).parse(parse(readFileSync(path.join(root, "Pulumi.yaml"), "utf8")));
  return project.name;
}

export function readStackFile(stack: string, root = REPO_ROOT): StackFileConfig {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new Error(`no stack file ${path.relative(process.cwd(), file) || file}: create it, or pick one of the stacks in ${root}`);
  }
  const parsed = StackFileSchema.parse(parse(text) ?? {});
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(parsed.config)) {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
      config[key] = SECRET_PLACEHOLDER;
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { stack, project: projectName(root), config, secretKeys };
}
