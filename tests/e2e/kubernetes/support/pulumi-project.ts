/**
 * The project as a user has it, in a temp dir (Pulumi.yaml, infra/, components/, gate/,
 * policies/, package.json, tsconfig.json and the repository's node_modules), driven with the real
 * `pulumi` CLI: a local file backend, a passphrase secrets provider, a PULUMI_HOME of its own,
 * the built Kubernetes provider on PATH (found as an ambient plugin: nothing is downloaded, and
 * automatic plugin acquisition is off), and the real Node.js language plugin built by
 * scripts/e2e-tools.sh on PATH (v3.68.0, the newest the module proxy serves: see there).
 *
 * That plugin runs programs but cannot start a policy pack (RunPlugin came after it), so the pack
 * is handed to the CLI as an executable analyzer (`policyPack()`): a launcher that runs the SDK's
 * own `@pulumi/pulumi/cmd/run-policy-pack` in the pack's folder with the engine's address, which is
 * what a current plugin's RunPlugin runs (the engine's NewPolicyAnalyzer launches an executable
 * pack path directly).
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { REPO_ROOT } from "../../../../gate/stack-file";
import { writePolicyPackLauncher } from "./policy-pack-launcher";
import type { E2eTools } from "./tools";

const PROJECT_FILES = ["Pulumi.yaml", "package.json", "tsconfig.json", "infra", "components", "gate", "policies"];
export const PASSPHRASE = "model-cache-e2e";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for messages. */
  output: string;
}

export class PulumiProject {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly root: string;
  private readonly pulumiBin: string;

  private constructor(
    root: string,
    readonly stack: string,
    tools: E2eTools,
  ) {
    this.root = root;
    this.pulumiBin = tools.pulumi;
    this.dir = path.join(root, "project");
    const home = path.join(root, "pulumi-home");
    const state = path.join(root, "state");
    mkdirSync(home, { recursive: true });
    mkdirSync(state, { recursive: true });
    const { KUBECONFIG: _k, PULUMI_HOME: _h, PULUMI_BACKEND_URL: _b, PULUMI_ACCESS_TOKEN: _t, ...inherited } = process.env;
    this.env = {
      ...inherited,
      PATH: [
        tools.providerDir,
        tools.languageHostDir,
        path.dirname(process.execPath),
        path.dirname(tools.pulumi),
        process.env["PATH"] ?? "",
      ].join(":"),
      PULUMI_HOME: home,
      PULUMI_BACKEND_URL: `file://${state}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
      // Enables `--event-log` (the engine events, which the tests read step order from).
      PULUMI_DEBUG_COMMANDS: "true",
      E2E_PULUMI_VERSION: tools.pulumi.match(/pulumi-(\d+\.\d+\.\d+)/)?.[1] ?? "3.0.0",
      NO_COLOR: "1",
    };
  }

  /** Copies the project, creates `stack` with `config` (Pulumi.<stack>.yaml) and the secrets. */
  static async create(tools: E2eTools, stack: string, config: Record<string, unknown>, secrets: Record<string, string>) {
    const root = mkdtempSync(path.join(tmpdir(), "model-cache-e2e-pulumi-"));
    const project = new PulumiProject(root, stack, tools);
    mkdirSync(project.dir);
    for (const f of PROJECT_FILES) cpSync(path.join(REPO_ROOT, f), path.join(project.dir, f), { recursive: true });
    symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(project.dir, "node_modules"));
    await project.mustRun(["stack", "init", stack]);
    project.writeConfig(config);
    for (const [key, value] of Object.entries(secrets)) await project.mustRun(["config", "set", "--secret", key, "--", value]);
    return project;
  }

  /** The project's `policies/` as a pack the CLI can start (see the module comment). */
  policyPack(): string {
    return writePolicyPackLauncher(
      path.join(this.root, "model-cache-contract-pack"),
      path.join(this.dir, "policies"),
      path.join(this.dir, "node_modules"),
    );
  }

  get stackFile(): string {
    return path.join(this.dir, `Pulumi.${this.stack}.yaml`);
  }

  /** Replaces the stack's plain config (secrets and the encryption salt stay). */
  writeConfig(config: Record<string, unknown>): void {
    const file = (parse(readFileSync(this.stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const secrets = Object.fromEntries(
      Object.entries(file.config ?? {}).filter(([, v]) => v !== null && typeof v === "object" && !Array.isArray(v) && "secure" in v),
    );
    writeFileSync(this.stackFile, stringify({ ...file, config: { ...config, ...secrets } }));
  }

  readConfig(): Record<string, unknown> {
    return ((parse(readFileSync(this.stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> }).config ?? {};
  }

  run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(this.pulumiBin, ["--non-interactive", ...args], {
        cwd: this.dir,
        env: { ...this.env, ...extraEnv },
        stdio: ["ignore", "pipe", "pipe"],
      });
      // A CLI still running when the test process ends (a timeout) is ended with it.
      const kill = () => child.kill("SIGKILL");
      process.once("exit", kill);
      child.on("exit", () => process.removeListener("exit", kill));
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => {
        if (process.env["E2E_VERBOSE"]) process.stderr.write(`$ pulumi ${args.join(" ")} → ${code}\n${stdout}${stderr}\n`);
        resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
      });
    });
  }

  async mustRun(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    const result = await this.run(args, extraEnv);
    if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${result.code}:\n${result.output}`);
    return result;
  }

  up(...extra: string[]) {
    return this.run(["up", "--yes", "--skip-preview", "--stack", this.stack, ...extra]);
  }

  preview(...extra: string[]) {
    return this.run(["preview", "--stack", this.stack, ...extra]);
  }

  async outputs(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.mustRun(["stack", "output", "--json", "--stack", this.stack])).stdout);
  }

  /** The stack's resources as the state holds them. */
  async resources(): Promise<{ urn: string; type: string; id?: string; outputs?: Record<string, any>; protect?: boolean }[]> {
    const exported = JSON.parse((await this.mustRun(["stack", "export", "--stack", this.stack])).stdout);
    return exported.deployment.resources ?? [];
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
