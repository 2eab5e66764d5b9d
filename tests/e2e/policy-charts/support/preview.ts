/**
 * `pulumi preview` of a tiny inline program with the real CLI, with two policy packs: a recorder
 * of every resource the engine shows a pack, and the model-cache pack itself.
 *
 * The CLI starts a Node.js policy pack through the Node.js language plugin, which this machine
 * cannot build (the Go module proxy does not serve pulumi-language-nodejs). The engine also loads
 * a policy pack given as an executable (pkg/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer:
 * "launch it directly as a binary analyzer plugin"), so each pack is a two-line launcher that runs
 * the pack's own `@pulumi/pulumi/cmd/run-policy-pack` with the engine's address, which is what
 * the language plugin's RunPlugin runs. The program is an Automation API inline program (the
 * CLI connects to the SDK's own language server in this process).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { type EngineEvent, LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { writePolicyPackLauncher } from "../../kubernetes/support/policy-pack-launcher";
import type { Tools } from "./tools";

const REPO = path.resolve(__dirname, "../../../..");
export const RECORDER_DIR = path.resolve(__dirname, "../fixtures/recorder");
export const PACK_DIR = path.join(REPO, "policies");

export interface Seen {
  at: "Analyze" | "AnalyzeStack";
  type: string;
  urn: string;
  parent?: string;
}

export interface PreviewResult {
  /** What the recorder pack was shown. */
  seen: Seen[];
  /** The model-cache pack's diagnostics. */
  diagnostics: { policy: string; level: string; urn: string | undefined; message: string }[];
  output: string;
}

function launcher(dir: string, name: string, packDir: string): string {
  return writePolicyPackLauncher(path.join(dir, name), packDir, path.join(REPO, "node_modules"));
}

export async function preview(t: Tools, work: string, name: string, program: () => Promise<void>): Promise<PreviewResult> {
  mkdirSync(work, { recursive: true });
  const record = path.join(work, `${name}.record.jsonl`);
  writeFileSync(record, "");
  const bin = path.join(work, "bin");
  mkdirSync(bin, { recursive: true });
  const packs = [launcher(bin, "recorder-pack", RECORDER_DIR), launcher(bin, "model-cache-pack", PACK_DIR)];
  if (!existsSync(path.join(work, "state"))) mkdirSync(path.join(work, "state"));
  const pulumiCommand = await PulumiCommand.get({ root: path.dirname(t.pulumiDir), skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: name, projectName: "policy-charts", program },
    {
      workDir: work,
      pulumiHome: path.join(work, "home"),
      pulumiCommand,
      envVars: {
        PATH: [t.providerDir, path.dirname(process.execPath), process.env["PATH"] ?? ""].join(path.delimiter),
        PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "e2e",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        RECORD_FILE: record,
      },
    },
  );
  const diagnostics: PreviewResult["diagnostics"] = [];
  let output = "";
  const onEvent = (e: EngineEvent) => {
    const p = e.policyEvent;
    if (p && p.policyPackName === "model-cache-contract") {
      diagnostics.push({ policy: p.policyName, level: p.enforcementLevel, urn: p.resourceUrn, message: p.message });
    }
  };
  try {
    await stack.preview({ policyPacks: packs, onEvent, onOutput: (s) => (output += s) });
  } catch (err) {
    // A mandatory violation fails the preview; the events say which.
    appendFileSync(path.join(work, `${name}.error.txt`), String(err));
  }
  const seen = readFileSync(record, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Seen);
  return { seen, diagnostics, output };
}
