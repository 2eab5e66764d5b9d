/**
 * `npm run check`: the pull-request gate, run as a newcomer runs it (a child process, no Pulumi
 * CLI, no credentials). Exit 0 when the stack passes, 1 on a mandatory violation, 2 when it cannot run.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { type CheckReport, describeResource, renderTable } from "../../gate/check";
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
  it("passes the dev stack as written with the pack's defaults, printing the resources and no violation", () => {
    const { code, stdout, stderr } = check("--stack", "dev");
    expect(stderr).toBe("");
    expect(code).toBe(0);
    // Volume, image, download step, service container, its health step, three components, the stack.
    expect(stdout).toMatch(/Stack dev: 9 resources/);
    expect(stdout).toMatch(/docker:index\/container:Container\s+models-service\s+models-service/);
    expect(stdout).toMatch(/Policy violations: none/);
    expect(stdout).toMatch(/0 mandatory, 0 advisory with the pack's defaults; [\d.]+ s — passed/);
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

  it("exits 1 on a mandatory violation: the dev stack when the pack trusts no device label and wants 600 s of grace", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "check-"));
    const config = path.join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ "startup-grace": { minStartPeriodSeconds: 600 }, "consumer-gpu": { trustDeviceLabel: false } }));
    const out = path.join(dir, "report.json");
    const { code, stdout } = check("--stack", "dev", "--policy-config", config, "--json-out", out);
    expect(code).toBe(1);
    const report = JSON.parse(readFileSync(out, "utf8")) as { diagnostics: { policy: string; level: string }[] };
    expect(
      report.diagnostics
        .filter((d) => d.level === "mandatory")
        .map((d) => d.policy)
        .sort(),
    ).toEqual(["consumer-gpu", "startup-grace"]);
    expect(stdout).toMatch(/\[mandatory\] consumer-gpu {2}\(docker:index\/container:Container models-service\)/);
    expect(stdout).toMatch(/\[mandatory\] startup-grace .*\n.*less than the 600 s its models need/);
    expect(stdout).toMatch(/2 mandatory, 0 advisory .* — FAILED/);
  });

  it("exits 2 when it cannot run", () => {
    const missing = check("--stack", "nope");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no stack "nope": there is no Pulumi\.nope\.yaml; the stacks here are dev, prod/);
    expect(check().code).toBe(2);
  });
});

describe("the table", () => {
  it("lists resources with their parents, then mandatory before advisory violations, then the verdict", () => {
    const stack = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev";
    const svc = "urn:pulumi:dev::p::docker:index/container:Container::svc";
    const report: CheckReport = {
      stack: "dev",
      mode: "preview",
      policyConfigFile: undefined,
      resources: [
        { urn: stack, type: "pulumi:pulumi:Stack", name: "p-dev", parent: "", dependencies: [], props: {} },
        { urn: svc, type: "docker:index/container:Container", name: "svc", parent: stack, dependencies: [], props: {} },
      ],
      diagnostics: [
        { policy: "unified-cache-env", level: "advisory", urn: svc, message: "no TRANSFORMERS_CACHE" },
        { policy: "consumer-offline", level: "mandatory", urn: svc, message: "line one\nline two" },
      ],
      mandatory: 1,
      advisory: 1,
      timings: { programMs: 1, packWaitMs: 1, analyzeMs: 1, totalMs: 1234 },
    };
    const text = renderTable(report);
    expect(text).toMatch(/docker:index\/container:Container\s+svc\s+p-dev/);
    expect(text.indexOf("[mandatory] consumer-offline")).toBeLessThan(text.indexOf("[advisory] unified-cache-env"));
    expect(text).toMatch(/ {6}line one\n {6}line two/);
    expect(text).toMatch(/1 mandatory, 1 advisory with the pack's defaults; 1\.2 s — FAILED$/);
  });
});

describe("the report", () => {
  it("masks secret inputs", () => {
    const r = describeResource({
      deleteBeforeReplace: false,
      customTimeouts: undefined,
      urn: "u",
      type: "docker:index/container:Container",
      name: "d",
      custom: true,
      parent: "",
      dependencies: [],
      propertyDependencies: {},
      props: { envs: ["HF_TOKEN=hf_secret"], image: "x" },
      secretProps: ["envs"],
      provider: "",
    });
    expect(r.props).toEqual({ envs: "[secret]", image: "x" });
  });
});
