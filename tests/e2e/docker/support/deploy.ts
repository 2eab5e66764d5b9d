/** `up()`: one `pulumi up` of the dev stack against the test engine (support/up.ts, in its own process). */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CatalogEntry } from "../../../../components/core/catalog/index";
import { REPO_ROOT } from "./images";
import type { State, UpRequest, UpResult } from "./up";

export interface DevStack {
  dir: string;
  statePath: string;
  /** One `pulumi up` with this config on top of Pulumi.dev.yaml. */
  up(config?: Record<string, string>): Promise<UpResult>;
  state(): State;
}

const dirs: string[] = [];

/** Removes the stacks' temp dirs (state, requests). */
export function removeStackDirs(): void {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function devStack(options: { dockerHost: string; catalog: CatalogEntry[]; config: Record<string, string> }): DevStack {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "model-cache-e2e-stack-"));
  dirs.push(dir);
  const statePath = path.join(dir, "state.json");
  const catalogPath = path.join(dir, "catalog.json");
  fs.writeFileSync(catalogPath, JSON.stringify(options.catalog));
  let n = 0;
  return {
    dir,
    statePath,
    state: () => (fs.existsSync(statePath) ? JSON.parse(fs.readFileSync(statePath, "utf8")) : {}),
    async up(config = {}) {
      const request: UpRequest = { config: { ...options.config, ...config }, statePath, catalogPath, dockerHost: options.dockerHost };
      const requestPath = path.join(dir, `up-${++n}.json`);
      fs.writeFileSync(requestPath, JSON.stringify(request));
      const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "up.ts"), requestPath], {
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, DOCKER_HOST: options.dockerHost },
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      await new Promise((resolve) => child.once("close", resolve));
      const line = out.split("\n").find((l) => l.startsWith("@@result "));
      if (!line) throw new Error(`up.ts printed no result:\n${out}\n${err}`);
      return JSON.parse(line.slice("@@result ".length)) as UpResult;
    },
  };
}
