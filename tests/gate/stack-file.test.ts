/** The gate reads a stack as the Pulumi CLI merges it with Pulumi.yaml (pkg/workspace/config.go mergeConfig). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readStackFile, SECRET_PLACEHOLDER, stackNames } from "../../gate/stack-file";

let root: string;
function project(files: Record<string, string>): string {
  root = mkdtempSync(path.join(tmpdir(), "stack-file-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(root, name), text);
  return root;
}
afterEach(() => rmSync(root, { recursive: true, force: true }));

const PROJECT = `name: demo
runtime: nodejs
config:
  models:
    type: array
    items: { type: string }
  device:
    type: string
    default: cuda
  replicas:
    type: integer
    default: 2
  tags:
    type: array
    items: { type: string }
    default: [a, b]
  aws:region:
    default: us-east-1
`;

describe("readStackFile", () => {
  it("applies Pulumi.yaml defaults for keys the stack leaves out, as text or JSON like the CLI", () => {
    const dir = project({ "Pulumi.yaml": PROJECT, "Pulumi.s.yaml": "config:\n  demo:models: [x]\n  demo:device: cpu\n" });
    const stack = readStackFile("s", dir);
    expect(stack.config).toEqual({
      "demo:models": '["x"]',
      "demo:device": "cpu",
      "demo:replicas": "2",
      "demo:tags": '["a","b"]',
      "aws:region": "us-east-1",
    });
  });

  it("refuses a stack without a required key in the CLI's words", () => {
    const dir = project({ "Pulumi.yaml": PROJECT, "Pulumi.s.yaml": "config:\n  demo:device: cpu\n" });
    expect(() => readStackFile("s", dir)).toThrow(/Stack 's' is missing configuration value 'models'/);
  });

  it("a stack file with no config at all is still read (and then misses its required keys)", () => {
    const dir = project({ "Pulumi.yaml": PROJECT, "Pulumi.s.yaml": "" });
    expect(() => readStackFile("s", dir)).toThrow(/missing configuration value 'models'/);
  });

  it("names the stacks there are when the one asked for does not exist", () => {
    const dir = project({ "Pulumi.yaml": PROJECT, "Pulumi.a.yaml": "", "Pulumi.b.yaml": "" });
    expect(stackNames(dir)).toEqual(["a", "b"]);
    expect(() => readStackFile("c", dir)).toThrow(/no stack "c".*the stacks here are a, b/);
  });

  it("stands a placeholder in for secure values and lists them as secret", () => {
    const dir = project({
      "Pulumi.yaml": PROJECT,
      "Pulumi.s.yaml": "config:\n  demo:models: [x]\n  demo:hfToken:\n    secure: AAABAJ\n",
    });
    const stack = readStackFile("s", dir);
    expect(stack.config["demo:hfToken"]).toBe(SECRET_PLACEHOLDER);
    expect(stack.secretKeys).toEqual(["demo:hfToken"]);
  });
});
