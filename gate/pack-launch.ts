/**
 * Launch a policy pack as the Pulumi CLI does (see analyzer-client.ts for the whole protocol):
 * in the pack's directory, `node <@pulumi/pulumi/cmd/run-policy-pack> <engine address> .
 * [-<runtime option>=<value>...]` with the PULUMI_* environment, then read the port the pack
 * prints as its first line of stdout. Kept free of the gRPC and Pulumi modules so a caller can
 * start the pack first and load those while the pack boots (the check gate does).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export interface StartOptions {
  /** The policy pack's directory (where PulumiPolicy.yaml is). */
  packDir: string;
  stack?: string;
  project?: string;
  organization?: string;
  /** Preview (true) or update (false). */
  dryRun?: boolean;
  /** The stack's config, `namespace:key` → value, as the CLI passes it in PULUMI_CONFIG. */
  stackConfig?: Record<string, string>;
  stackConfigSecretKeys?: string[];
  stackTags?: Record<string, string>;
  /** How long the pack may take to print its port (cold ts-node type-checks every file). */
  startTimeoutMs?: number;
  /** Lines the pack writes to stderr (the CLI logs them). */
  onStderr?: (line: string) => void;
}

export interface LaunchedPack {
  child: ChildProcess;
  packDir: string;
  /** The port of the pack's gRPC server, once it printed it. */
  port: Promise<number>;
  /** The pack's recent stderr lines. */
  stderr: string[];
}

export function launchPolicyPack(options: StartOptions): LaunchedPack {
  const packDir = path.resolve(options.packDir);
  // What `pulumi-analyzer-policy` does: resolve run-policy-pack from the pack's directory.
  const runPolicyPack = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
  const args = [runPolicyPack, "127.0.0.1:0", ".", ...runtimeOptionArgs(packDir)];
  const dryRun = String(options.dryRun ?? true);
  const env: Record<string, string | undefined> = { ...process.env };
  const put = (key: string, value: string | undefined) => {
    if (value) env[key] = value;
  };
  put("PULUMI_CONFIG", options.stackConfig ? JSON.stringify(options.stackConfig) : undefined);
  put("PULUMI_NODEJS_ORGANIZATION", options.organization);
  put("PULUMI_NODEJS_PROJECT", options.project);
  put("PULUMI_NODEJS_STACK", options.stack);
  put("PULUMI_NODEJS_DRY_RUN", dryRun);
  put("PULUMI_ORGANIZATION", options.organization);
  put("PULUMI_PROJECT", options.project);
  put("PULUMI_STACK", options.stack);
  put("PULUMI_DRY_RUN", dryRun);

  const child = spawn(process.execPath, args, { cwd: packDir, env, stdio: ["ignore", "pipe", "pipe"] });
  const stderr: string[] = [];
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    for (const line of chunk.split(/\r?\n/)) {
      if (line === "") continue;
      stderr.push(line);
      if (stderr.length > 200) stderr.shift();
      options.onStderr?.(line);
    }
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const port = readPort(child, stderr, options.startTimeoutMs ?? 180_000);
  port.catch(() => {});
  return { child, packDir, port, stderr };
}

/** PulumiPolicy.yaml `runtime.options` become `-<key>=<value>` arguments. */
function runtimeOptionArgs(packDir: string): string[] {
  try {
    const project = parse(readFileSync(path.join(packDir, "PulumiPolicy.yaml"), "utf8")) as { runtime?: unknown };
    const options =
      typeof project.runtime === "object" && project.runtime !== null
        ? (project.runtime as { options?: Record<string, unknown> }).options
        : undefined;
    return Object.entries(options ?? {}).flatMap(([k, v]) =>
      v === undefined || v === null || String(v) === "" ? [] : [`-${k}=${String(v)}`],
    );
  } catch {
    return [];
  }
}

function readPort(child: ChildProcess, stderr: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const fail = (why: string) => {
      cleanup();
      child.kill("SIGKILL");
      reject(new Error(`the policy pack did not start: ${why}\n${stderr.slice(-40).join("\n")}`));
    };
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      const newline = buffer.indexOf("\n");
      if (newline < 0) return;
      const first = buffer.slice(0, newline).trim();
      const port = Number(first);
      cleanup();
      if (!/^\d+$/.test(first) || !(port > 0 && port < 65536)) {
        fail(`its first line of output should be the port of its gRPC server, got ${JSON.stringify(first.slice(0, 200))}`);
        return;
      }
      // Keep draining stdout: a pack that prints would otherwise block on a full pipe.
      child.stdout?.on("data", () => {});
      resolve(port);
    };
    const onExit = (code: number | null, signal: string | null) => fail(`it exited (${signal ?? `code ${code}`}) before printing its port`);
    const timer = setTimeout(() => fail(`no port after ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
    };
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
}
