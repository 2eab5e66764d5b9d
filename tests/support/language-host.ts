/**
 * Runs the program as pulumi-language-nodejs does: `node @pulumi/pulumi/cmd/run --monitor …
 * --engine … --project … --stack … --pwd <root> [--dry-run] … <Pulumi.yaml main>`, with
 * PULUMI_NODEJS_TYPESCRIPT=true (ts-node, the project's typescript and tsconfig.json) and the
 * config in PULUMI_CONFIG keyed `<ns>:config:<key>`, exactly as its constructConfig writes it.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { REPO_ROOT, readStackFile } from "../../gate/stack-file";
import type { FakeEngine } from "./fake-engine";

const RUN = path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run");

export interface LanguageHostRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface LanguageHostOptions {
  dryRun: boolean;
  /** Config on top of the stack file's. */
  config?: Record<string, string>;
  /** Keys of `config` that are secrets. */
  secretKeys?: string[];
}

function languageHostConfig(config: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(":", ":config:"), v])));
}

export function runUnderLanguageHost(engine: FakeEngine, stack: string, options: LanguageHostOptions): Promise<LanguageHostRun> {
  const project = parse(readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as { name: string; main: string };
  const file = readStackFile(stack);
  const args = [
    RUN,
    ...["--monitor", engine.address, "--engine", engine.address, "--organization", "organization"],
    ...["--project", project.name, "--stack", stack, "--pwd", REPO_ROOT],
    ...(options.dryRun ? ["--dry-run"] : []),
    ...["--query-mode", "false", "--parallel", "16"],
    project.main,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env["PATH"] ?? "",
        HOME: process.env["HOME"] ?? "/tmp",
        PULUMI_CONFIG: languageHostConfig({ ...file.config, ...options.config }),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify([...file.secretKeys, ...(options.secretKeys ?? [])]),
        PULUMI_NODEJS_TYPESCRIPT: "true",
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
