/**
 * A policy pack as the CLI can start it without a Node.js language plugin that has RunPlugin: an
 * executable analyzer (the engine's NewPolicyAnalyzer launches an executable pack path directly)
 * that runs the SDK's own `@pulumi/pulumi/cmd/run-policy-pack` in the pack's folder with the
 * engine's address, which is what a current plugin's RunPlugin runs.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";

/** Writes the launcher at `file` for the pack in `packDir`, with the SDK of `nodeModules`; returns `file`. */
export function writePolicyPackLauncher(file: string, packDir: string, nodeModules: string): string {
  const runner = path.join(nodeModules, "@pulumi", "pulumi", "cmd", "run-policy-pack");
  writeFileSync(file, `#!/bin/sh\ncd "${packDir}" && exec node "${runner}" "$1" .\n`, { mode: 0o755 });
  return file;
}
