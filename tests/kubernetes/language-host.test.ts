/**
 * The prod stack under the Pulumi language host's own loader (`@pulumi/pulumi/cmd/run` with
 * PULUMI_NODEJS_TYPESCRIPT, i.e. ts-node type-checking the program against tsconfig.json, CJS
 * module loading) against a gRPC fake engine: what vitest's transform would forgive in the
 * kubernetes and aws components, this does not.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../../gate/stack-file";
import { type FakeEngine, startFakeEngine } from "../support/fake-engine";
import { FAKE_KUBECONFIG, K8S, KUBECONFIG_KEY, prodFile, prodPlan } from "./support";

const RUN = path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run");

/** `<ns>:<key>` → `<ns>:config:<key>`, as pulumi-language-nodejs hands config to the program. */
const languageHostConfig = (config: Record<string, string>) =>
  JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(":", ":config:"), v])));

function preview(engine: FakeEngine): Promise<{ code: number | null; stderr: string }> {
  const project = parse(readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { name: string; main: string };
  const args = [
    RUN,
    ...["--monitor", engine.address, "--engine", engine.address, "--organization", "organization"],
    ...["--project", project.name, "--stack", "prod", "--pwd", REPO_ROOT, "--dry-run", "--query-mode", "false", "--parallel", "16"],
    project.main,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: process.env["HOME"] ?? "/tmp",
        PULUMI_CONFIG: languageHostConfig({ ...prodFile.config, [KUBECONFIG_KEY]: FAKE_KUBECONFIG }),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify([...prodFile.secretKeys, KUBECONFIG_KEY]),
        PULUMI_NODEJS_TYPESCRIPT: "true",
      },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe("the prod stack under the language host's loader", () => {
  it("previews as written: EFS, PV, PVC, the digest-named Job, then the Deployment", { timeout: 180_000 }, async () => {
    engine = await startFakeEngine();
    const result = await preview(engine);
    const errors = engine.logs.filter((l) => l.severity === "error");
    expect(errors, result.stderr).toEqual([]);
    expect(result.code, result.stderr).toBe(0);
    const types = engine.registrations.map((r) => r.type);
    for (const type of [K8S.provider, "aws:efs/fileSystem:FileSystem", K8S.pv, K8S.pvc, K8S.job, K8S.deployment, K8S.service, K8S.pdb]) {
      expect(types, type).toContain(type);
    }
    const job = engine.registrations.find((r) => r.type === K8S.job)!;
    const deployment = engine.registrations.find((r) => r.type === K8S.deployment)!;
    expect((job.inputs["metadata"] as { name: string }).name).toContain(prodPlan().manifest.digest.slice(0, 10));
    expect(deployment.dependencies).toContain(job.urn);
  });
});
