/**
 * One `pulumi up` of the dev stack against the test engine, in its own process as the CLI runs a
 * program: the real program (config → plan → `deployDocker`) under the SDK's mocks, where each
 * registration becomes the engine step the Pulumi engine would take, against the real Docker engine:
 * - not in state: create (provider-mapping.ts for docker:*, the serialized provider for dynamic
 *   resources); a failed create leaves nothing in state, as in Pulumi;
 * - in state: diff (our dynamic providers' own diff; docker:* by comparing the registered inputs
 *   with the stored ones and the healthcheck the provider's Read reports), then same or replace
 *   (delete before create).
 * The state file holds what a successful step recorded. Run: node --import tsx up.ts <request.json>
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks.js";
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import Docker from "dockerode";
import type { CatalogEntry } from "../../../../components/core/catalog/index";
import { readStackFile } from "../../../../gate/stack-file";
import { planStack } from "../../../../infra/plan";
import { loadStackConfig } from "../../../../infra/pulumi-config";
import { deployDocker } from "../../../../infra/targets/docker";
import {
  buildImage,
  createContainer,
  createVolume,
  dynamicInputs,
  type EngineOverrides,
  loadDynamicProvider,
  type Props,
  readHealthcheck,
} from "./provider-mapping";

export interface UpRequest {
  /** Config on top of Pulumi.dev.yaml. */
  config: Record<string, string>;
  statePath: string;
  catalogPath: string;
  dockerHost: string;
}

export interface StateEntry {
  type: string;
  id: string;
  inputs: Props;
  outputs: Props;
}
export type State = Record<string, StateEntry>;
export type Step = "create" | "same" | "replace";

export interface UpResult {
  ok: boolean;
  error?: string;
  steps: Record<string, Step>;
  outputs?: Record<string, unknown>;
  /** Why a docker:* resource was replaced (the inputs or read-back that differed). */
  diffs: Record<string, string[]>;
}

const overrides: EngineOverrides = { networkMode: "host" };

async function main(): Promise<void> {
  const request = JSON.parse(fs.readFileSync(process.argv[2]!, "utf8")) as UpRequest;
  const state: State = fs.existsSync(request.statePath) ? JSON.parse(fs.readFileSync(request.statePath, "utf8")) : {};
  const catalog = JSON.parse(fs.readFileSync(request.catalogPath, "utf8")) as CatalogEntry[];
  const docker = new Docker({ socketPath: new URL(request.dockerHost).pathname });
  const result: UpResult = { ok: false, steps: {}, diffs: {} };
  const save = () => fs.writeFileSync(request.statePath, JSON.stringify(state, null, 2));

  async function step(args: MockResourceArgs): Promise<MockResourceResult> {
    if (!args.custom) return { id: undefined, state: {} };
    const key = `${args.type}::${args.name}`;
    const inputs =
      args.type.startsWith("pulumi-nodejs:dynamic/") && args.type.endsWith(":OneShotContainer")
        ? { ...(args.inputs as Props), networkMode: overrides.networkMode }
        : (args.inputs as Props);
    const prev = state[key];
    if (prev) {
      const why = await diff(prev, inputs);
      if (why.length === 0) {
        result.steps[key] = "same";
        state[key] = { ...prev, inputs };
        return { id: prev.id, state: prev.outputs };
      }
      result.diffs[key] = why;
      await remove(prev);
      delete state[key];
      save();
    }
    const created = await create(args.type, inputs);
    result.steps[key] = prev ? "replace" : "create";
    state[key] = { type: args.type, id: created.id, inputs, outputs: created.outputs };
    save();
    return { id: created.id, state: created.outputs };
  }

  async function create(type: string, inputs: Props): Promise<{ id: string; outputs: Props }> {
    switch (type) {
      case "docker:index/volume:Volume":
        return createVolume(docker, inputs);
      case "docker:index/image:Image":
        return buildImage(docker, inputs, overrides);
      case "docker:index/container:Container":
        return createContainer(docker, inputs, overrides);
      default: {
        if (!type.startsWith("pulumi-nodejs:dynamic")) throw new Error(`up: no engine step for ${type}`);
        const created = await loadDynamicProvider(inputs).create(inputs);
        return { id: created.id, outputs: { ...dynamicInputs(created.outs ?? {}), __provider: inputs["__provider"] } };
      }
    }
  }

  async function diff(prev: StateEntry, inputs: Props): Promise<string[]> {
    if (prev.type.startsWith("pulumi-nodejs:dynamic")) {
      const provider = loadDynamicProvider(inputs);
      const d = await provider.diff!(prev.id, prev.outputs, inputs);
      return d.changes ? (d.replaces ?? ["(changes)"]) : [];
    }
    const why = Object.keys({ ...prev.inputs, ...inputs }).filter(
      (k) => !k.startsWith("__") && JSON.stringify(prev.inputs[k]) !== JSON.stringify(inputs[k]),
    );
    if (prev.type === "docker:index/image:Image") {
      // The provider's Check adds the context's hash (PD provider.go L202-207): a changed context rebuilds.
      const rebuilt = await buildImage(docker, inputs, overrides);
      if (rebuilt.id !== prev.id) why.push(`repoDigest ${prev.id} → ${rebuilt.id}`);
    }
    if (prev.type === "docker:index/container:Container" && inputs["healthcheck"]) {
      const read = await readHealthcheck(docker, prev.id);
      for (const [k, v] of Object.entries(inputs["healthcheck"] as Props)) {
        if (JSON.stringify(read?.[k]) !== JSON.stringify(v))
          why.push(`healthcheck.${k}: ${JSON.stringify(v)} reads back as ${JSON.stringify(read?.[k])}`);
      }
    }
    return why;
  }

  async function remove(prev: StateEntry): Promise<void> {
    if (prev.type === "docker:index/container:Container") await docker.getContainer(prev.id).remove({ force: true });
    else if (prev.type.startsWith("pulumi-nodejs:dynamic")) await loadDynamicProvider(prev.outputs).delete?.(prev.id, prev.outputs);
  }

  const stack = readStackFile("dev");
  pulumi.runtime.setAllConfig({ ...stack.config, ...request.config, "docker:host": request.dockerHost }, []);
  await pulumi.runtime.setMocks({ newResource: step, call: (a) => a.inputs }, stack.project, stack.stack, false);
  // As under the real language host, a failed registration surfaces as an unhandled rejection; the
  // outputs that depend on it then never resolve, so wait for either.
  let onFailure: (reason: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    onFailure = reject;
  });
  failed.catch(() => undefined);
  process.on("unhandledRejection", (reason) => onFailure(reason));
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    const outputs = await Promise.race([
      pulumi.runtime.runInPulumiStack(async () => {
        const loaded = loadStackConfig();
        const out = deployDocker(planStack(loaded.config, catalog), loaded.hubToken);
        return { serviceUrl: out.serviceUrl, downloaderImage: out.downloaderImage, volumeName: out.volumeName };
      }),
      failed,
    ]);
    const resolved: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(outputs ?? {})) {
      resolved[k] = pulumi.Output.isInstance(v) ? await Promise.race([new Promise((r) => v.apply(r)), failed]) : v;
    }
    await Promise.race([(settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs(), failed]);
    Object.assign(result, { ok: true, outputs: resolved });
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
  }
  clearInterval(keepAlive);
  save();
  process.stdout.write(`\n@@result ${JSON.stringify(result)}\n`);
  process.exit(0);
}

void main();
