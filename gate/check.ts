/**
 * `npm run check -- --stack <name> [--json] [--json-out <file>] [--policy-config <file>] [--update]`
 *
 * The pull-request gate without cloud credentials or a Pulumi CLI: runs the program for
 * `Pulumi.<name>.yaml` under the SDK's mocks (preview mode, as `pulumi preview`), starts the policy
 * pack exactly as the CLI does and feeds it the resource graph (gate/analyzer-client.ts), prints
 * the resources and the violations, and exits 1 on any mandatory violation (2 when it cannot run).
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
// Only light modules load before the pack is launched: @pulumi/pulumi alone takes seconds to
// load, in the gate (run-under-mocks, the program) as in the pack; both now load in parallel.
import type { Diagnostic } from "./analyzer-client";
import { launchPolicyPack } from "./pack-launch";
import type { MockRunResult, RegisteredResource } from "./run-under-mocks";
import { REPO_ROOT, readStackFile, SECRET_PLACEHOLDER } from "./stack-file";

const POLICY_PACK_DIR = path.join(REPO_ROOT, "policies");

export interface CheckOptions {
  stack: string;
  /** A `--policy-pack-config` file; defaults to policies/config/<stack>.json when it exists. */
  policyConfig?: string;
  /** Run as `pulumi up` would (computed outputs known) instead of preview. */
  update?: boolean;
}

export interface CheckReport {
  stack: string;
  /** Preview (as `pulumi preview`) or update (as `pulumi up`). */
  mode: "preview" | "update";
  policyConfigFile: string | undefined;
  resources: { urn: string; type: string; name: string; parent: string; dependencies: string[]; props: Record<string, unknown> }[];
  diagnostics: { policy: string; level: string; urn: string; message: string }[];
  mandatory: number;
  advisory: number;
  /**
   * programMs: from start until the program ran under mocks; packWaitMs: then waiting for the pack
   * (booting in parallel) to print its port (0 when it was ready first); analyzeMs: Configure,
   * Analyze and AnalyzeStack.
   */
  timings: { programMs: number; packWaitMs: number; analyzeMs: number; totalMs: number };
}

export async function check(options: CheckOptions): Promise<CheckReport> {
  const started = Date.now();
  const stackFile = readStackFile(options.stack);
  const preview = !options.update;
  const packOptions = {
    packDir: POLICY_PACK_DIR,
    stack: stackFile.stack,
    project: stackFile.project,
    dryRun: preview,
    stackConfig: stackFile.config,
    stackConfigSecretKeys: stackFile.secretKeys,
  };
  // The pack boots (node, ts-node, the pack) while this process loads the SDK and runs the program.
  const launched = launchPolicyPack(packOptions);
  const { PolicyPackProcess } = require("./analyzer-client") as typeof import("./analyzer-client");
  const { analyzeResources, defaultPolicyConfigFile, readPolicyConfigFile, toAnalyzerResource } =
    require("./policy-run") as typeof import("./policy-run");
  const configFile = options.policyConfig ?? defaultPolicyConfigFile(options.stack);
  let run: MockRunResult;
  let programMs: number;
  try {
    const userConfig = configFile ? readPolicyConfigFile(configFile) : {};
    const { runStackUnderMocks } = require("./run-under-mocks") as typeof import("./run-under-mocks");
    run = await runStackUnderMocks(options.stack, () => loadProgram()(), { preview }).catch((err: unknown) => {
      throw new CheckError(`the program failed for stack ${options.stack}: ${err instanceof Error ? err.message : String(err)}`);
    });
    programMs = Date.now() - started;
    await launched.port;
    const packWaitMs = Date.now() - started - programMs;
    const pack = await PolicyPackProcess.connect(launched, packOptions);
    try {
      const analyzeStart = Date.now();
      const result = await analyzeResources(pack, run.resources.map(toAnalyzerResource), { userConfig });
      const analyzeMs = Date.now() - analyzeStart;
      const diagnostics = result.diagnostics.map(shortDiagnostic);
      return {
        stack: options.stack,
        mode: preview ? "preview" : "update",
        policyConfigFile: configFile ? path.relative(REPO_ROOT, configFile) : undefined,
        resources: run.resources.map(describeResource),
        diagnostics,
        mandatory: diagnostics.filter((d) => d.level === "mandatory").length,
        advisory: diagnostics.filter((d) => d.level === "advisory").length,
        timings: { programMs, packWaitMs, analyzeMs, totalMs: Date.now() - started },
      };
    } finally {
      await pack.stop();
    }
  } catch (err) {
    launched.child.kill("SIGKILL");
    if (err instanceof CheckError) throw err;
    throw new CheckError(`${err instanceof Error ? err.message : String(err)}`);
  }
}

export class CheckError extends Error {
  override name = "CheckError";
}

/** The program entry, loaded lazily so that `--help` and argument errors stay instant. */
function loadProgram(): () => Record<string, unknown> {
  const { runProgram } = require("../infra/program") as { runProgram: () => Record<string, unknown> };
  return runProgram;
}

/** A resource for the report; secret inputs are masked (the report ends up in CI logs and artifacts). */
export function describeResource(r: RegisteredResource): CheckReport["resources"][number] {
  const secret = new Set(r.secretProps);
  const props = Object.fromEntries(Object.entries(r.props).map(([k, v]) => [k, secret.has(k) ? SECRET_PLACEHOLDER : v]));
  return { urn: r.urn, type: r.type, name: r.name, parent: r.parent, dependencies: r.dependencies, props };
}

function shortDiagnostic(d: Diagnostic): CheckReport["diagnostics"][number] {
  // The SDK prefixes the policy's description; the table and JSON keep the specific message.
  const prefix = `${d.description}\n`;
  const message = d.message.startsWith(prefix) ? d.message.slice(prefix.length) : d.message;
  return { policy: d.policyName, level: d.enforcementLevel, urn: d.urn, message };
}

export function renderTable(report: CheckReport): string {
  const lines: string[] = [];
  const nameOf = new Map(report.resources.map((r) => [r.urn, `${r.type} ${r.name}`]));
  const rows = report.resources.map((r) => [r.type, r.name, nameOf.get(r.parent)?.split(" ").pop() ?? ""]);
  lines.push(`Stack ${report.stack}: ${report.resources.length} resources (program under mocks, ${report.mode})`);
  lines.push(...table(["TYPE", "NAME", "PARENT"], rows));
  lines.push("");
  if (report.diagnostics.length === 0) lines.push("Policy violations: none");
  else {
    lines.push("Policy violations:");
    const sorted = [...report.diagnostics].sort((a, b) => (a.level === b.level ? 0 : a.level === "mandatory" ? -1 : 1));
    for (const d of sorted) {
      lines.push(`  [${d.level}] ${d.policy}  (${nameOf.get(d.urn) ?? (d.urn || "stack")})`);
      for (const line of d.message.split("\n")) lines.push(`      ${line}`);
    }
  }
  lines.push("");
  const config = report.policyConfigFile ? ` with ${report.policyConfigFile}` : " with the pack's defaults";
  lines.push(
    `${report.mandatory} mandatory, ${report.advisory} advisory${config}; ${(report.timings.totalMs / 1000).toFixed(1)} s` +
      (report.mandatory > 0 ? " — FAILED" : " — passed"),
  );
  return lines.join("\n");
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")}`.trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name("npm run check --")
    .description("Run the program for Pulumi.<stack>.yaml under mocks and check it with the model-cache-contract policy pack.")
    .requiredOption("--stack <name>", "the stack whose Pulumi.<name>.yaml to check (dev, prod)")
    .option("--json", "print {resources, diagnostics} as JSON")
    .option("--json-out <file>", "also write the JSON report to a file (CI: the table in the log, the JSON as an artifact)")
    .option("--policy-config <file>", "a policy pack config file (default: policies/config/<stack>.json if present)")
    .option("--update", "run the program as `pulumi up` would (computed outputs known) instead of preview")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let opts: { stack: string; json?: boolean; jsonOut?: string; policyConfig?: string; update?: boolean };
  try {
    opts = program.parse(argv, { from: "user" }).opts();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  try {
    const report = await check({
      stack: opts.stack,
      ...(opts.policyConfig ? { policyConfig: path.resolve(opts.policyConfig) } : {}),
      ...(opts.update ? { update: true } : {}),
    });
    if (process.env["MODEL_CACHE_CHECK_TIMINGS"]) process.stderr.write(`check timings: ${JSON.stringify(report.timings)}\n`);
    const json = `${JSON.stringify({ resources: report.resources, diagnostics: report.diagnostics }, null, 2)}\n`;
    if (opts.jsonOut) writeFileSync(opts.jsonOut, json);
    process.stdout.write(opts.json ? json : `${renderTable(report)}\n`);
    return report.mandatory > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`check: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // The SDK keeps handles open after a mock run; leave once the report is written.
      setImmediate(() => process.exit(code));
    },
    (err) => {
      process.stderr.write(`check: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(2);
    },
  );
}
