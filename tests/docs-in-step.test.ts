/** The README's settings tables, Pulumi.yaml's declarations and the config schema cannot drift. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../gate/stack-file";
import { parseStackConfig, StackShape } from "../infra/config";
import { SECRET_KEYS } from "../infra/pulumi-config";

const project = parse(readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as {
  config: Record<string, { type: string; description: string; default: unknown; items?: { type: string } }>;
};
const readme = readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const schemaKeys = Object.keys(StackShape.shape).sort();
const declared = Object.keys(project.config).sort();

describe("settings stay in step", () => {
  it("Pulumi.yaml declares every schema key, with type, description and a default exactly where the schema has one", () => {
    expect(declared).toEqual(schemaKeys);
    const shape = StackShape.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
    for (const [key, decl] of Object.entries(project.config)) {
      expect(["string", "integer", "boolean", "array"], key).toContain(decl.type);
      expect(decl.description?.length ?? 0, key).toBeGreaterThan(10);
      // A key without a default is one the CLI itself requires of every stack (models).
      expect("default" in decl, key).toBe(shape[key]?.safeParse(undefined).success);
      if (decl.type === "array") expect(decl.items, key).toBeDefined();
    }
  });

  it("the declared defaults are valid config (a stack that sets only models parses)", () => {
    const raw: Record<string, string> = {};
    for (const [key, decl] of Object.entries(project.config)) {
      if ("default" in decl) raw[`model-cache:${key}`] = typeof decl.default === "string" ? decl.default : JSON.stringify(decl.default);
    }
    raw["model-cache:models"] = '["yunet"]';
    const parsed = parseStackConfig(raw) as Record<string, unknown>;
    for (const [key, decl] of Object.entries(project.config)) {
      if (key === "models") continue;
      expect(JSON.stringify(parsed[key]), key).toBe(JSON.stringify(key === "headroom" ? Number(decl.default) : decl.default));
    }
  });

  it("the README names every setting, secrets included", () => {
    for (const key of [...declared, ...SECRET_KEYS]) expect(readme, key).toMatch(new RegExp(`\`${key}\``));
  });
});
