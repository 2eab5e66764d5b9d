/**
 * `npm run check`: the pull-request gate, run as a newcomer runs it (a child process, no Pulumi
 * CLI, no credentials). Exit 0 when the stack passes, 1 on a mandatory violation, 2 when it cannot run.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../gate/stack-file";

function check(...args: string[]) {
  const result = spawnSync(process.execPath, ["--require", "tsx/cjs", "gate/check.ts", ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: 180_000,
    env: { ...process.env, FORCE_COLOR: "0" },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("npm run check", () => {
  it("passes the dev stack as written with its policy config, printing the resources and no violation", () => {
    const { code, stdout, stderr } = check("--stack", "dev");
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(/Stack dev: 8 resources/);
    expect(stdout).toMatch(/docker:index\/container:Container\s+models-service\s+models-service/);
    expect(stdout).toMatch(/Policy violations: none/);
    expect(stdout).toMatch(/0 mandatory, 0 advisory with policies\/config\/dev\.json; [\d.]+ s — passed/);
  });

  it("--json prints the resources and the diagnostics", () => {
    const { code, stdout } = check("--stack", "prod", "--json");
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { resources: Record<string, unknown>[]; diagnostics: Record<string, unknown>[] };
    expect(Object.keys(report)).toEqual(["resources", "diagnostics"]);
    for (const r of report.resources) expect(Object.keys(r)).toEqual(["urn", "type", "name", "parent", "dependencies", "props"]);
    const deployment = report.resources.find((r) => r["type"] === "kubernetes:apps/v1:Deployment");
    const job = report.resources.find((r) => r["type"] === "kubernetes:batch/v1:Job");
    expect(deployment?.["dependencies"]).toContain(job?.["urn"]);
    expect(report.diagnostics.length).toBeGreaterThan(0);
    for (const d of report.diagnostics) {
      expect(Object.keys(d)).toEqual(["policy", "level", "urn", "message"]);
      expect(d).toMatchObject({ policy: "pinned-models", level: "advisory", urn: job?.["urn"] });
    }
  });

  it("exits 1 on a mandatory violation: the dev stack without the dev policy config needs a GPU", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "check-"));
    const config = path.join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ "startup-grace": { minStartPeriodSeconds: 600 } }));
    const { code, stdout } = check("--stack", "dev", "--policy-config", config);
    expect(code).toBe(1);
    expect(stdout).toMatch(/\[mandatory\] consumer-gpu {2}\(docker:index\/container:Container models-service\)/);
    expect(stdout).toMatch(/\[mandatory\] startup-grace .*\n.*less than 600 s/);
    expect(stdout).toMatch(/2 mandatory, 0 advisory .* — FAILED/);
  });

  it("exits 2 when it cannot run", () => {
    const missing = check("--stack", "nope");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no stack file Pulumi\.nope\.yaml/);
    expect(check().code).toBe(2);
  });
});
