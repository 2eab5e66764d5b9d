/**
 * The retry of a failed download under the real Pulumi CLI (v3.276.0, the project's pin) and the
 * real engine: the download step (`ModelDownloader` with a prebuilt image, so no bridged provider
 * is needed) as an Automation API inline program (the CLI talks to the SDK's language server in
 * this process: the Node.js language plugin cannot be built here), its dynamic provider run by the
 * SDK's own `pulumi-resource-pulumi-nodejs` (copied from the SDK's dist, as the CLI ships it).
 * First `up` with the hub down fails and records nothing; the same program's next `up` creates it;
 * the `up` after that has no changes.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cachePaths, DOCKER_ONE_SHOT_TYPE } from "../../../components/core/contract";
import { buildManifest, selectModels } from "../../../components/core/selection";
import { dockerCacheContext } from "../../../components/docker/context";
import { ModelDownloader } from "../../../components/docker/model-downloader";
import { runStackUnderMocks } from "../../../gate/run-under-mocks";
import { runProgram } from "../../../infra/program";
import { FakeHub } from "../../downloader/support/hub-server";
import { devConfig, publishDevModels } from "./support/dev-stack";
import { HubSwitch } from "./support/hub-switch";
import { REPO_ROOT, toolsDir } from "./support/images";
import { buildImage } from "./support/provider-mapping";

const dockerHost = inject("dockerHost");
const docker = new Docker({ socketPath: new URL(dockerHost).pathname });
const cliVersion = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).config.pulumiCli as string;
const cliRoot = path.join(path.dirname(toolsDir()), `pulumi-${cliVersion}`);
const cli = path.join(cliRoot, "bin", "pulumi");

let hub: FakeHub;
let relay: HubSwitch;
let work: string;
let stack: Stack;

/** The SDK's dynamic-provider plugin script, as the CLI's distribution ships it. */
function dynamicProviderPlugin(dir: string): void {
  const sdk = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  const script = path.join(sdk, "github.com/pulumi/pulumi/sdk", `v3@v${cliVersion}`, "nodejs/dist/pulumi-resource-pulumi-nodejs");
  fs.copyFileSync(script, path.join(dir, "pulumi-resource-pulumi-nodejs"));
  fs.chmodSync(path.join(dir, "pulumi-resource-pulumi-nodejs"), 0o755);
}

if (!fs.existsSync(cli)) console.warn(`e2e:docker: SKIPPING the real-CLI retry test: no ${cli} (build the pinned Pulumi CLI there first)`);

describe.skipIf(!fs.existsSync(cli))(`pulumi ${cliVersion} on the engine`, () => {
  beforeAll(async () => {
    hub = await FakeHub.start();
    const models = publishDevModels(hub);
    relay = await HubSwitch.start(hub);
    work = fs.mkdtempSync(path.join(os.tmpdir(), "model-cache-e2e-cli-"));
    const bin = path.join(work, "bin");
    fs.mkdirSync(bin);
    dynamicProviderPlugin(bin);
    // The dynamic provider resolves @pulumi/pulumi and dockerode from the project directory.
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(work, "node_modules"));

    const run = await runStackUnderMocks("dev", () => runProgram() as unknown as Record<string, unknown>);
    const image = await buildImage(docker, run.resources.find((r) => r.type === "docker:index/image:Image")!.props, {
      networkMode: "host",
    });
    const volumeName = `model-cache-cli-${process.pid}`;
    await docker.createVolume({ Name: volumeName });
    const manifest = buildManifest(selectModels(devConfig.models, models.catalog));

    const pulumiCommand = await PulumiCommand.get({ root: cliRoot, version: undefined, skipVersionCheck: true });
    stack = await LocalWorkspace.createOrSelectStack(
      {
        projectName: "model-cache-cli-e2e",
        stackName: "dev",
        program: async () => {
          const context = dockerCacheContext({ cacheName: "models", paths: cachePaths(devConfig.mountPath), manifest });
          const downloader = new ModelDownloader("models-downloader", {
            context,
            volumeName,
            image: image.id,
            hubEndpoint: relay.endpoint,
            concurrency: 4,
            networkMode: "host",
          });
          return { containerId: downloader.container.id };
        },
      },
      {
        workDir: work,
        pulumiHome: path.join(work, "home"),
        pulumiCommand,
        envVars: {
          PATH: [bin, path.dirname(process.execPath), process.env["PATH"] ?? ""].join(path.delimiter),
          PULUMI_BACKEND_URL: `file://${work}`,
          PULUMI_CONFIG_PASSPHRASE: "e2e",
          PULUMI_SKIP_UPDATE_CHECK: "true",
        },
      },
    );
    await stack.setConfig("docker:host", { value: dockerHost });
  });

  afterAll(async () => {
    await stack?.destroy().catch(() => undefined);
    await relay?.down();
    await hub?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("a failed download (the hub down) is retried by the next `pulumi up`, which succeeds; the one after has no changes", async () => {
    const inState = async () =>
      ((await stack.exportStack()).deployment.resources ?? []).filter((r: { type: string }) => r.type === DOCKER_ONE_SHOT_TYPE);

    await relay.down();
    let output = "";
    const failed = await stack.up({ onOutput: (s) => (output += s) }).then(
      () => undefined,
      (err: Error) => err,
    );
    await relay.up();
    // What a user sees: the CLI's own output of the failed `up`.
    console.log(`pulumi up with the hub down:\n${output.split("\n").slice(-24).join("\n")}`);
    expect(failed, output).toBeInstanceOf(Error);
    expect(output).toMatch(/the model downloader \(container model-cache-cli-e2e-dev-models-downloader\) exited with code [1-9]/);
    expect(output).toMatch(/ {2}\| /);
    expect(await inState()).toEqual([]);

    const second = await stack.up();
    expect(second.summary.result).toBe("succeeded");
    expect(second.summary.resourceChanges).toMatchObject({ create: 1 });
    expect(await inState()).toHaveLength(1);
    const container = await docker.getContainer("model-cache-cli-e2e-dev-models-downloader").inspect();
    expect(container.State.ExitCode).toBe(0);

    const third = await stack.preview();
    expect(third.changeSummary).not.toHaveProperty("create");
    expect(third.changeSummary).not.toHaveProperty("replace");
    expect(third.changeSummary).not.toHaveProperty("update");
  });
});
