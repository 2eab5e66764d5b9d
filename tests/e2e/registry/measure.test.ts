/**
 * `model-cache measure` on a real Docker engine (dockerd started by the suite), measuring a
 * stand-in server that allocates a known amount of memory and sleeps a known time before its
 * health endpoint answers.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { builtinCatalog, mergeCatalog, readCatalogFile } from "../../../components/core/catalog";
import { readStackFile } from "../../../gate/stack-file";
import { parseStackConfig } from "../../../infra/config";
import { planStack } from "../../../infra/plan";
import { runCli, tempDir } from "../../downloader/support/cli";
import { startEngine, type TestEngine } from "../docker/support/engine";
import { buildStandIn, STAND_IN_IMAGE } from "./support/stand-in-image";

const ALLOCATE_MIB = 300;
const SLEEP_SECONDS = 6;
/** The stand-in's own Node heap and code, and one health-check process (a second Node) alongside. */
const RUNTIME_SLACK_MIB = 160;
const HEALTH = JSON.stringify([
  "/usr/local/bin/node",
  "-e",
  "require('http').get('http://127.0.0.1:8080/health',r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))",
]);

let engine: TestEngine;
let dir: { path: string; cleanup: () => Promise<void> };
let catalog: string;

const entry = (id: string) => `  # ${id}: served by the stand-in
  - id: ${id}
    kind: file
    description: >-
      a stand-in model
      for measure
    path: ${id}.bin
    url: https://models.example.internal/${id}.bin
    size: 10
    sha256: ${"5e".repeat(32)}
    memory:
      cpu:
        hostPeak: { mib: 50, basis: estimate, source: "a guess" }
        gpu: { mib: 0, basis: estimate, source: "no GPU on cpu" }
    load: { cpu: { seconds: 1, basis: estimate, source: "a guess" } } # to be measured
`;
const CATALOG = `# The team's catalog: measured with model-cache measure.\nmodels:\n${entry("stand-in")}${entry("second")}`;

beforeAll(async () => {
  engine = await startEngine();
  await buildStandIn(engine.docker);
});
afterAll(async () => {
  await engine?.stop();
});
beforeEach(async () => {
  dir = await tempDir("model-cache-measure-");
  catalog = join(dir.path, "catalog.yaml");
  writeFileSync(catalog, CATALOG);
});
afterEach(async () => {
  for (const c of await engine.docker.listContainers({ all: true })) await engine.docker.getContainer(c.Id).remove({ force: true });
  await dir.cleanup();
});

const measure = (...args: string[]) => runCli(["measure", ...args], { DOCKER_HOST: engine.host });
const standIn = (mib: number, seconds: number, ...extra: string[]) => [
  "--",
  "--allocate-mib",
  String(mib),
  "--sleep-seconds",
  String(seconds),
  "--port",
  "8080",
  ...extra,
];

describe("model-cache measure on a real Docker engine", () => {
  it("records the container's peak memory and its seconds to healthy as measured, in the catalog file, comments kept", async () => {
    await engine.docker.createVolume({ Name: "measure-models" });
    const result = await measure(
      "--catalog",
      catalog,
      "--image",
      STAND_IN_IMAGE,
      "--model",
      "stand-in",
      "--device",
      "cpu",
      "--runtime-overhead-mib",
      "0",
      "--volume",
      "measure-models",
      "--health-cmd",
      HEALTH,
      "--json",
      ...standIn(ALLOCATE_MIB, SLEEP_SECONDS),
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { peakMiB: number; measurement: { secondsToHealthy: number; peak: { how: string } } };
    expect(report.measurement.peak.how).toMatch(/cgroup v[12] (memory\.peak|memory\.max_usage_in_bytes)/);

    const text = readFileSync(catalog, "utf8");
    expect(text).toContain("# The team's catalog: measured with model-cache measure.");
    expect(text).toContain("      a stand-in model\n      for measure\n");
    expect(text).toContain("# to be measured");
    const [measured, untouched] = parse(text).models;
    const hostPeak = measured.memory.cpu.hostPeak;
    expect(hostPeak.basis).toBe("measured");
    expect(hostPeak.mib).toBeGreaterThanOrEqual(ALLOCATE_MIB);
    expect(hostPeak.mib).toBeLessThanOrEqual(ALLOCATE_MIB + RUNTIME_SLACK_MIB);
    expect(hostPeak.source).toMatch(
      new RegExp(`model-cache measure \\d{4}-\\d\\d-\\d\\d: container peak ${report.peakMiB} MiB .*image ${STAND_IN_IMAGE}, cpu, host `),
    );
    expect(measured.load.cpu.basis).toBe("measured");
    // It cannot be healthy before it slept; the health check runs every second.
    expect(measured.load.cpu.seconds).toBeGreaterThanOrEqual(SLEEP_SECONDS);
    expect(measured.load.cpu.seconds).toBeLessThan(SLEEP_SECONDS + 20);
    expect(untouched.memory.cpu.hostPeak).toEqual({ mib: 50, basis: "estimate", source: "a guess" });

    // The stack sizes and waits from the measurements.
    const config = parseStackConfig({
      ...readStackFile("dev").config,
      "model-cache:models": '["stand-in"]',
      "model-cache:serviceArgs": "[]",
      "model-cache:startPeriodSeconds": "0",
    });
    const plan = planStack(config, mergeCatalog(builtinCatalog(), readCatalogFile(catalog)));
    expect(plan.sizing.needMiB).toBe(hostPeak.mib + plan.sizing.runtimeOverheadMiB);
    expect(plan.startPeriod.derivedSeconds).toBe(Math.ceil(measured.load.cpu.seconds * 1.25 + 30));
    // The container it started is gone.
    expect(await engine.docker.listContainers({ all: true })).toEqual([]);
  });

  it("mounts the volume read-only and runs the service offline, as the uid the cache belongs to", async () => {
    await engine.docker.createVolume({ Name: "measure-ro" });
    const result = await measure(
      "--dry-run",
      "--keep",
      "--image",
      STAND_IN_IMAGE,
      "--model",
      "stand-in",
      "--device",
      "cpu",
      "--volume",
      "measure-ro",
      "--health-cmd",
      HEALTH,
      "--json",
      ...standIn(10, 0),
    );
    expect(result.code, result.stderr).toBe(0);
    const id = (JSON.parse(result.stdout) as { measurement: { containerId: string } }).measurement.containerId;
    const inspect = await engine.docker.getContainer(id).inspect();
    expect(inspect.Mounts).toEqual([expect.objectContaining({ Name: "measure-ro", Destination: "/app/models", RW: false })]);
    expect(inspect.Config.User).toBe("1000:1000");
    expect(inspect.HostConfig.NetworkMode).toBe("none");
    expect(inspect.Config.Env).toEqual(expect.arrayContaining(["HF_HUB_OFFLINE=1", "HF_HOME=/app/models/.cache"]));
    expect(readFileSync(catalog, "utf8")).toBe(CATALOG);
  });

  it("splits one container's figures between the models it serves, after the runtime overhead sizing adds back", async () => {
    const result = await measure(
      "--catalog",
      catalog,
      "--image",
      STAND_IN_IMAGE,
      "--model",
      "stand-in",
      "second",
      "--split",
      "stand-in=0.75",
      "second=0.25",
      "--device",
      "cpu",
      "--runtime-overhead-mib",
      "100",
      "--health-cmd",
      HEALTH,
      "--json",
      ...standIn(ALLOCATE_MIB, 2),
    );
    expect(result.code, result.stderr).toBe(0);
    const { peakMiB } = JSON.parse(result.stdout) as { peakMiB: number };
    const [a, b] = parse(readFileSync(catalog, "utf8")).models;
    expect(a.memory.cpu.hostPeak.mib).toBe(Math.ceil((peakMiB - 100) * 0.75));
    expect(b.memory.cpu.hostPeak.mib).toBe(Math.ceil((peakMiB - 100) * 0.25));
    expect(a.memory.cpu.hostPeak.source).toMatch(/× 0\.75 \(--split\)/);
    expect(a.load.cpu.seconds + b.load.cpu.seconds).toBeCloseTo(JSON.parse(result.stdout).measurement.secondsToHealthy, 1);
  });

  it("attaches to a running container and measures it the same way", async () => {
    const container = await engine.docker.createContainer({
      Image: STAND_IN_IMAGE,
      Cmd: standIn(ALLOCATE_MIB, 3).slice(1),
      User: "1000:1000",
      Healthcheck: { Test: ["CMD", ...(JSON.parse(HEALTH) as string[])], Interval: 1e9, Retries: 3, StartPeriod: 60e9 },
      HostConfig: { NetworkMode: "none" },
    });
    await container.start();
    const result = await measure(
      "--catalog",
      catalog,
      "--container",
      container.id,
      "--model",
      "stand-in",
      "--device",
      "cpu",
      "--runtime-overhead-mib",
      "0",
      "--json",
    );
    expect(result.code, result.stderr).toBe(0);
    const measured = parse(readFileSync(catalog, "utf8")).models[0];
    expect(measured.memory.cpu.hostPeak.mib).toBeGreaterThanOrEqual(ALLOCATE_MIB);
    expect(measured.load.cpu.seconds).toBeGreaterThanOrEqual(3);
    // Attached, not started: measure leaves it running.
    expect((await container.inspect()).State.Running).toBe(true);
  });

  it("a service that exits before it is healthy fails the measurement with its last log lines, and nothing is written", async () => {
    const result = await measure(
      "--catalog",
      catalog,
      "--image",
      STAND_IN_IMAGE,
      "--model",
      "stand-in",
      "--device",
      "cpu",
      "--health-cmd",
      HEALTH,
      ...standIn(10, 1, "--exit-before-healthy"),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/exited with code 3 before it was healthy; its last log lines:\n[\s\S]*stand-in: cannot load the model/);
    expect(readFileSync(catalog, "utf8")).toBe(CATALOG);
  });
});
