/**
 * `npm run policy:bundle`: the copy of the pack that `pulumi policy publish` uploads is
 * self-contained (no import outside its folder, dependencies pinned) and runs as the CLI runs a
 * published pack: from its own folder with its own node_modules (linked here to the repository's,
 * as `npm install` in the bundle would install the same pinned versions).
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PolicyPackProcess } from "../../gate/analyzer-client";
import { bundlePolicyPack } from "../../gate/policy-bundle";
import { REPO_ROOT } from "../../gate/stack-file";
import { clone, dockerStack } from "../policies/support/fixtures";
import { checkStack, configure } from "../policies/support/pack";
import { POLICY_NAMES } from "../policies/support/policy-names";

const out = mkdtempSync(path.join(tmpdir(), "policy-pack-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("the publishable bundle", () => {
  it("holds the pack, a copy of core, and pinned dependencies", () => {
    const files = bundlePolicyPack(out);
    expect(files).toEqual(
      expect.arrayContaining([
        "PulumiPolicy.yaml",
        "index.ts",
        "package.json",
        "tsconfig.json",
        "lib/core.ts",
        "core/contract.ts",
        "core/catalog/models.ts",
      ]),
    );
    // One module per policy, and the index.
    expect(files.filter((f) => f.startsWith("rules/"))).toHaveLength(POLICY_NAMES.length + 1);
    expect(readFileSync(path.join(out, "lib", "core.ts"), "utf8")).toMatch(/from "\.\.\/core\/contract"/);
    const pkg = JSON.parse(readFileSync(path.join(out, "package.json"), "utf8"));
    const root = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"));
    expect(pkg.name).toBe("model-cache-contract");
    expect(pkg.dependencies["@pulumi/policy"]).toBe(root.dependencies["@pulumi/policy"]);
    expect(pkg.devDependencies.typescript).toBe(root.devDependencies.typescript);
  });

  it("starts as a published pack and checks like the repository's pack", async () => {
    symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(out, "node_modules"), "dir");
    const pack = await PolicyPackProcess.start({ packDir: out, stack: "test", project: "model-cache" });
    try {
      const info = await pack.getAnalyzerInfo();
      expect(info.name).toBe("model-cache-contract");
      expect(info.policies.map((p) => p.name)).toEqual(POLICY_NAMES);
      await configure(pack, {});
      const s = clone(dockerStack());
      expect((await checkStack(pack, s.all)).diagnostics).toEqual([]);
      s.service.props["volumes"][0].readOnly = false;
      expect((await checkStack(pack, s.all)).mandatory).toEqual(["consumer-read-only-mount"]);
    } finally {
      await pack.stop();
    }
  });
});
