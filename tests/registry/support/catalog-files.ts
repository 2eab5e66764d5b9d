/** Catalog files written to a temp dir, as a team would write them. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

export const MEMORY_CPU = {
  cpu: {
    hostPeak: { mib: 300, basis: "estimate", source: "weights in fp32 plus the tokenizer" },
    gpu: { mib: 0, basis: "estimate", source: "no GPU on cpu" },
  },
};
export const LOAD_CPU = { cpu: { seconds: 12, basis: "estimate", source: "a similar model's load" } };

export function lockedHubEntry(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    kind: "huggingface",
    description: `the team's ${id}`,
    repo: "team/encoder",
    revision: "1".repeat(40),
    refs: ["main"],
    files: [
      { path: "config.json", size: 10, gitSha1: "2".repeat(40) },
      { path: "model.safetensors", size: 1000, sha256: "3".repeat(64) },
    ],
    memory: MEMORY_CPU,
    load: LOAD_CPU,
    ...overrides,
  };
}

export interface TempProject {
  dir: string;
  write(name: string, content: string | { models: unknown[] }): string;
  cleanup(): void;
}

export function tempProject(): TempProject {
  const dir = mkdtempSync(join(tmpdir(), "model-cache-catalog-"));
  return {
    dir,
    write(name, content) {
      writeFileSync(join(dir, name), typeof content === "string" ? content : stringify(content));
      return name;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
