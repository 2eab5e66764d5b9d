/**
 * The dev stack on a real Docker engine: `pulumi up` steps (support/up.ts) of the real program,
 * each registered resource created on the engine as the upstream provider would
 * (support/provider-mapping.ts) or by our dynamic providers' own serialized code.
 */
import { createHash } from "node:crypto";
import * as net from "node:net";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CACHE_GID, CACHE_UID, cachePaths, hubRepoFolder, LABELS } from "../../../components/core/contract";
import { selectModels } from "../../../components/core/selection";
import { computeMemorySizing } from "../../../components/core/sizing";
import { FakeHub } from "../../downloader/support/hub-server";
import { type DevStack, devStack, removeStackDirs } from "./support/deploy";
import { type DevModelFiles, devConfig, publishDevModels } from "./support/dev-stack";
import { HubSwitch } from "./support/hub-switch";
import { containerCreateBody, loadDynamicProvider, readHealthcheck } from "./support/provider-mapping";

const dockerHost = inject("dockerHost");
const docker = new Docker({ socketPath: new URL(dockerHost).pathname });
const ONE_SHOT = "pulumi-nodejs:dynamic/docker:OneShotContainer";
const SERVICE = "docker:index/container:Container";

let hub: FakeHub;
let relay: HubSwitch;
let models: DevModelFiles;
let serial = 0;

beforeAll(async () => {
  hub = await FakeHub.start();
  models = publishDevModels(hub);
  relay = await HubSwitch.start(hub);
});
afterAll(async () => {
  await relay?.down();
  await hub?.close();
  removeStackDirs();
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A dev stack with its own cache (a fresh named volume), a fake hub, and a free service port. */
async function freshStack(
  config: Record<string, string> = {},
  on: { endpoint: string; catalog: DevModelFiles["catalog"] } = { endpoint: relay.endpoint, catalog: models.catalog },
): Promise<{ stack: DevStack; cacheName: string; port: number }> {
  const cacheName = `e2e${++serial}-${process.pid}`;
  const port = await freePort();
  const stack = devStack({
    dockerHost,
    catalog: on.catalog,
    config: {
      "model-cache:cacheName": cacheName,
      "model-cache:hubEndpoint": on.endpoint,
      "model-cache:servicePort": String(port),
      "model-cache:hostPort": String(port),
      ...config,
    },
  });
  return { stack, cacheName, port };
}

const entry = (stack: DevStack, type: string, role?: string) => {
  const found = Object.entries(stack.state()).filter(
    ([key, e]) =>
      e.type === type && (!role || (e.inputs["labels"] as { label: string; value: string }[]).some((l) => l.value === role)) && key,
  );
  expect(found.map(([k]) => k)).toHaveLength(1);
  return found[0]![1];
};

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe("the dev stack, created on the engine with the inputs the program registers", () => {
  let stack: DevStack;
  let cacheName: string;
  let port: number;
  let requestsAfterFirstUp: number;

  beforeAll(async () => {
    ({ stack, cacheName, port } = await freshStack());
    const first = await stack.up();
    expect(first.error).toBeUndefined();
    expect(first.ok).toBe(true);
    requestsAfterFirstUp = hub.requests.length;
  });

  it("creates the volume, builds the image, runs the downloader to exit 0 and starts the service once it is healthy", async () => {
    const steps = Object.values(stack.state()).map((e) => e.type);
    expect(steps.sort()).toEqual(
      ["docker:index/volume:Volume", "docker:index/image:Image", ONE_SHOT, SERVICE, "pulumi-nodejs:dynamic/docker:HealthyContainer"].sort(),
    );
    const volume = await docker.getVolume(`model-cache-dev-${cacheName}`).inspect();
    expect(volume.Labels).toEqual({ [LABELS.role]: "cache", [LABELS.cache]: cacheName });
    const downloader = await docker.getContainer(`model-cache-dev-${cacheName}-downloader`).inspect();
    expect(downloader.State.ExitCode).toBe(0);
    expect(downloader.Config.User).toBe(`${CACHE_UID}:${CACHE_GID}`);
    expect(downloader.HostConfig.Binds).toEqual([`model-cache-dev-${cacheName}:${devConfig.mountPath}:rw`]);
    expect(downloader.HostConfig.RestartPolicy?.Name).toBe("no");
  });

  it("runs the downloader from the image it was built from, by id, so a rebuilt image runs it again", async () => {
    const image = entry(stack, "docker:index/image:Image");
    const downloader = await docker.getContainer(`model-cache-dev-${cacheName}-downloader`).inspect();
    expect(downloader.Image).toBe(image.outputs["repoDigest"]);
    const oneShot = entry(stack, ONE_SHOT);
    expect(oneShot.inputs["image"]).toBe(image.outputs["repoDigest"]);
    const provider = loadDynamicProvider(oneShot.inputs);
    const rebuilt = await provider.diff!(oneShot.id, oneShot.outputs, { ...oneShot.inputs, image: `sha256:${"1".repeat(64)}` });
    expect(rebuilt).toMatchObject({ changes: true, replaces: ["image"] });
  });

  it("the downloader filled the fresh volume as uid 1000; the service reads it read-only, as uid 1000, offline, through the snapshot links", async () => {
    const health = await get(port, devConfig.healthPath);
    expect(health.status).toBe(200);
    const info = JSON.parse((await get(port, "/info")).body) as {
      uid: number;
      gid: number;
      env: Record<string, string>;
      modelDir: string;
      files: { path: string; sha256: string; link?: string }[];
      write: { cacheRoot: string; snapshot: string };
      memoryLimit: string;
    };
    expect([info.uid, info.gid]).toEqual([CACHE_UID, CACHE_GID]);
    expect(info.env["HF_HUB_OFFLINE"]).toBe("1");
    const model = models.catalog.find((m) => m.id === devConfig.models[0])!;
    if (model.kind !== "huggingface") throw new Error("the dev stack serves a hub model");
    expect(info.modelDir).toBe(`${cachePaths(devConfig.mountPath).root}/${hubRepoFolder(model.repo)}/snapshots/${model.revision}`);
    const served = Object.fromEntries(model.files.map((f) => [f.path, models.data.get(`${model.repo}/${f.path}`)!]));
    expect(Object.fromEntries(info.files.map((f) => [f.path, f.sha256]))).toEqual(
      Object.fromEntries(Object.entries(served).map(([p, d]) => [p, createHash("sha256").update(d).digest("hex")])),
    );
    // Every file is a relative link into blobs/, readable by uid 1000.
    for (const file of info.files) expect(file.link, file.path).toMatch(/^(\.\.\/)+blobs\/[0-9a-f]+$/);
    expect(info.write).toEqual({ cacheRoot: "EROFS", snapshot: "EROFS" });
    const sizing = computeMemorySizing({
      models: selectModels(devConfig.models, models.catalog),
      device: devConfig.device,
      headroom: devConfig.headroom,
      gpuMemoryMiB: devConfig.gpuMemoryMiB,
    });
    expect(Number(info.memoryLimit)).toBe(sizing.limitMiB * 1024 * 1024);
    // Offline: the service made no request to the hub.
    expect(hub.requests.length).toBe(requestsAfterFirstUp);
  });

  it("a second `pulumi up` has no changes: the healthcheck reads back as registered", async () => {
    const second = await stack.up();
    expect(second.error).toBeUndefined();
    expect(second.diffs).toEqual({});
    expect(new Set(Object.values(second.steps))).toEqual(new Set(["same"]));
    const service = entry(stack, SERVICE);
    expect(await readHealthcheck(docker, service.id)).toEqual(service.inputs["healthcheck"]);
    // What the fix avoids: "90s" is created as 90 s and read back as "1m30s".
    const spelled = containerCreateBody(
      { ...service.inputs, healthcheck: { ...(service.inputs["healthcheck"] as object), startPeriod: "90s" } },
      {
        networkMode: "host",
      },
    );
    expect(spelled.Healthcheck?.StartPeriod).toBe(90e9);
  });

  it("the downloader run again on the filled volume makes no request", async () => {
    const before = hub.requests.length;
    const state = stack.state();
    const oneShot = entry(stack, ONE_SHOT);
    // As after a rebuilt image: the step runs again.
    const again = await loadDynamicProvider(oneShot.inputs).create(oneShot.inputs);
    expect(again.id).toMatch(/^[0-9a-f]{64}$/);
    expect(hub.requests.slice(before)).toEqual([]);
    expect(Object.keys(state)).toEqual(Object.keys(stack.state()));
  });
});

/** A hub of its own (its faults cannot reach another test), serving the same bytes. */
async function ownHub(): Promise<{ hub: FakeHub; files: DevModelFiles; close(): Promise<void> }> {
  const own = await FakeHub.start();
  const files = publishDevModels(own);
  expect(files.catalog).toEqual(models.catalog);
  return { hub: own, files, close: () => own.close() };
}

describe("failures", () => {
  it("a 404 fails `pulumi up` with exit code 4 and the downloader's last log lines; nothing else starts", async () => {
    const own = await ownHub();
    const { stack, cacheName } = await freshStack({}, { endpoint: own.hub.endpoint, catalog: own.files.catalog });
    const model = models.catalog.find((m) => m.id === devConfig.models[0])!;
    if (model.kind !== "huggingface") throw new Error("hub model expected");
    own.hub.fail(`${model.repo}/${model.files[0]!.path}`, ...Array.from({ length: 20 }, () => ({ kind: "status" as const, status: 404 })));
    const result = await stack.up().finally(() => own.close());
    expect(result.ok).toBe(false);
    expect(result.error).toContain(`the model downloader (container model-cache-dev-${cacheName}-downloader) exited with code 4`);
    expect(result.error).toMatch(/\n {2}\| .*404/);
    expect(result.error).toContain("run `pulumi up` again");
    expect(Object.values(stack.state()).map((e) => e.type)).not.toContain(ONE_SHOT);
    expect(Object.values(stack.state()).map((e) => e.type)).not.toContain(SERVICE);
    await expect(docker.getContainer(`model-cache-dev-${cacheName}-service`).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("a checksum mismatch fails `pulumi up` with exit code 5 and the downloader's last log lines", async () => {
    const own = await ownHub();
    const { stack, cacheName } = await freshStack({}, { endpoint: own.hub.endpoint, catalog: own.files.catalog });
    const model = models.catalog.find((m) => m.id === devConfig.models[0])!;
    if (model.kind !== "huggingface") throw new Error("hub model expected");
    const big = model.files.find((f) => f.sha256 && f.size !== undefined && f.size > 1024 * 1024)!;
    own.hub.fail(`${model.repo}/${big.path}`, ...Array.from({ length: 20 }, () => ({ kind: "corrupt" as const })));
    const result = await stack.up().finally(() => own.close());
    expect(result.ok).toBe(false);
    expect(result.error).toContain(`(container model-cache-dev-${cacheName}-downloader) exited with code 5`);
    expect(result.error).toMatch(/\n {2}\| .*(sha256|checksum)/i);
    expect(Object.values(stack.state()).map((e) => e.type)).not.toContain(ONE_SHOT);
  });

  it("a download that failed (the hub down) is retried by the next `pulumi up` of the same program, which then succeeds", async () => {
    const { stack, port } = await freshStack();
    await relay.down();
    let first: Awaited<ReturnType<DevStack["up"]>>;
    try {
      first = await stack.up();
    } finally {
      await relay.up();
    }
    expect(first.ok).toBe(false);
    expect(first.error).toMatch(/the model downloader \(container .*\) exited with code [1-9]/);
    expect(Object.values(stack.state()).map((e) => e.type)).not.toContain(ONE_SHOT);
    const second = await stack.up();
    expect(second.error).toBeUndefined();
    expect(Object.entries(second.steps).filter(([k]) => k.startsWith(ONE_SHOT))).toEqual([[expect.stringContaining(ONE_SHOT), "create"]]);
    expect((await get(port, devConfig.healthPath)).status).toBe(200);
  });

  it("an unhealthy service fails `pulumi up` with its last log lines, and the next `up` fails at once while it is still unhealthy", async () => {
    // Answers 404 on this path: unhealthy after the retries' worth of intervals.
    const { stack, cacheName } = await freshStack({ "model-cache:healthPath": "/not-ready", "model-cache:startPeriodSeconds": "1" });
    const first = await stack.up();
    expect(first.ok).toBe(false);
    expect(first.error).toContain(`container model-cache-dev-${cacheName}-service is unhealthy`);
    expect(first.error).toContain("stand-in: GET /not-ready 404");
    expect(first.error).not.toContain("was not healthy within");
    // The container stays (a later fix of the server needs no new container); the next up checks it again.
    const second = await stack.up({ "model-cache:startPeriodSeconds": "1" });
    expect(second.ok).toBe(false);
    expect(second.steps[`${SERVICE}::${cacheName}-service`]).toBe("same");
    expect(second.error).toContain("is unhealthy");
  });

  it("a service that exits fails `pulumi up` with its logs well before the wait timeout", async () => {
    const { stack, cacheName } = await freshStack({
      "model-cache:serviceArgs": JSON.stringify(["--model-id", "/app/models/missing", "--port", "{port}"]),
      // A 10-minute start period: only a fail-fast check ends this test within its timeout.
      "model-cache:startPeriodSeconds": "600",
    });
    const result = await stack.up();
    expect(result.ok).toBe(false);
    // Caught while exited (code 1) or already restarted by its `unless-stopped` policy.
    expect(result.error).toMatch(
      new RegExp(`container model-cache-dev-${cacheName}-service exited (with code 1|and was restarted \\d+ times)`),
    );
    expect(result.error).toContain("stand-in: cannot read the model at /app/models/missing");
  }, 120_000);
});
