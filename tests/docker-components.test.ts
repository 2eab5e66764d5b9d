/** The Docker components' own rules: arg validation, durations as the provider reads them, the one-shot step's diff and messages. */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { builtinCatalog } from "../components/core/catalog/index";
import { cachePaths } from "../components/core/contract";
import { buildManifest, selectModels } from "../components/core/selection";
import { computeMemorySizing } from "../components/core/sizing";
import { dockerCacheContext } from "../components/docker/context";
import { goDuration } from "../components/docker/healthcheck";
import {
  BASE_DOWNLOAD_TIMEOUT_SECONDS,
  downloadTimeoutSeconds,
  MIN_DOWNLOAD_MIB_PER_SECOND,
  ModelDownloader,
} from "../components/docker/model-downloader";
import { ModelService } from "../components/docker/model-service";
import { failureMessage, type OneShotContainerInputs, oneShotProvider } from "../components/docker/one-shot-container";
import { goDurationString, parseGoDurationNs } from "./e2e/docker/support/provider-mapping";

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs },
    "model-cache",
    "dev",
    false,
  );
});

const models = selectModels(["all-minilm-l6-v2"], builtinCatalog());
const manifest = buildManifest(models);
const context = () => dockerCacheContext({ cacheName: "models", paths: cachePaths(), manifest });
const sizing = computeMemorySizing({ models, device: "cpu", headroom: 1.25, gpuMemoryMiB: 16384 });
const serviceArgs = {
  volumeName: "v",
  image: "tei",
  args: [],
  env: {},
  sizing,
  containerPort: 80,
  hostPort: 8080,
  startPeriodSeconds: 90,
  healthPath: "/health",
};

describe("goDuration", () => {
  it.each([
    [0, "0s"],
    [5, "5s"],
    [59, "59s"],
    [60, "1m0s"],
    [90, "1m30s"],
    [3600, "1h0m0s"],
    [3661, "1h1m1s"],
  ])("%i s is %s, as Go's Duration.String() reads it back", (seconds, text) => {
    expect(goDuration(seconds)).toBe(text);
    expect(goDurationString(parseGoDurationNs(goDuration(seconds)))).toBe(goDuration(seconds));
  });

  it("refuses what the healthcheck cannot hold", () => {
    expect(() => goDuration(1.5)).toThrow(/whole non-negative seconds/);
  });
});

describe("the download's create timeout", () => {
  it("is the base plus the manifest's bytes at the minimum throughput", () => {
    const bytes = manifest.manifest.models.flatMap((m) => (m.kind === "huggingface" ? m.files : [])).reduce((n, f) => n + (f.size ?? 0), 0);
    expect(downloadTimeoutSeconds(manifest.manifest)).toBe(
      BASE_DOWNLOAD_TIMEOUT_SECONDS + Math.ceil(bytes / (MIN_DOWNLOAD_MIB_PER_SECOND * 1024 * 1024)),
    );
    expect(downloadTimeoutSeconds({ version: 1, models: [] })).toBe(BASE_DOWNLOAD_TIMEOUT_SECONDS);
  });

  it("gives the seed's 7.6 GB cold set about an hour, more than the 20 minutes the provider's default allowed", () => {
    const big = { version: 1 as const, models: [{ id: "x", kind: "file" as const, path: "x", url: "https://example.com/x", size: 7.6e9 }] };
    expect(downloadTimeoutSeconds(big)).toBeGreaterThan(60 * 60);
  });
});

describe("the components' args", () => {
  it("name the arg that is wrong", () => {
    expect(() => dockerCacheContext({ cacheName: "Models!", paths: cachePaths(), manifest })).toThrow(/cacheName "Models!"/);
    expect(() => new ModelDownloader("d1", { context: context(), volumeName: "v", hubEndpoint: "http://hub", concurrency: 0 })).toThrow(
      /ModelDownloader d1: concurrency/,
    );
    expect(
      () => new ModelDownloader("d2", { context: context(), volumeName: "v", image: "", hubEndpoint: "http://hub", concurrency: 4 }),
    ).toThrow(/ModelDownloader d2: image must not be empty/);
    expect(() => new ModelService("s1", { context: context(), ...serviceArgs, hostPort: 0 })).toThrow(
      /ModelService s1: hostPort .*\(got 0\)/,
    );
    expect(() => new ModelService("s2", { context: context(), ...serviceArgs, healthPath: "health" })).toThrow(
      /ModelService s2: healthPath must be an absolute/,
    );
  });

  it("name the containers after the stack and the cache, as `docker ps -a` shows them", () => {
    const d = new ModelDownloader("d3", { context: context(), volumeName: "v", hubEndpoint: "http://hub", concurrency: 4 });
    const s = new ModelService("s3", { context: context(), ...serviceArgs });
    expect([d.containerName, s.containerName]).toEqual(["model-cache-dev-models-downloader", "model-cache-dev-models-service"]);
  });
});

describe("the one-shot step", () => {
  const inputs: OneShotContainerInputs = {
    name: "model-cache-dev-models-downloader",
    image: `sha256:${"a".repeat(64)}`,
    command: ["download"],
    user: "1000:1000",
    envs: ["A=1"],
    volumes: [{ volumeName: "v", containerPath: "/app/models", readOnly: false }],
    labels: [{ label: "model-cache.io/role", value: "downloader" }],
    mustRun: false,
    attach: true,
    restart: "no",
    timeoutSeconds: 600,
    logLines: 30,
    description: "the model downloader",
    failureHint: "Run `pulumi up` again.",
    timeoutHint: "",
  };
  const outs = { ...inputs, exitCode: 0 };

  it("runs again when what it runs changes (a rebuilt image, another manifest), and only then", async () => {
    expect(await oneShotProvider.diff!("id", outs, inputs)).toMatchObject({ changes: false, replaces: [] });
    expect(await oneShotProvider.diff!("id", outs, { ...inputs, image: `sha256:${"b".repeat(64)}` })).toEqual({
      changes: true,
      replaces: ["image"],
      deleteBeforeReplace: true,
    });
    expect(await oneShotProvider.diff!("id", outs, { ...inputs, envs: ["A=2"] })).toMatchObject({ replaces: ["envs"] });
    expect(
      await oneShotProvider.diff!("id", outs, { ...inputs, timeoutSeconds: 9000, logLines: 5, dockerHost: "unix:///x" }),
    ).toMatchObject({
      changes: false,
    });
  });

  it("fails with the exit code, the container's name and its last log lines", () => {
    const text = failureMessage(inputs, 4, ["fetching config.json", "error: 404 Not Found"]);
    expect(text).toBe(
      [
        "the model downloader (container model-cache-dev-models-downloader) exited with code 4.",
        "Its last 2 log lines:",
        "  | fetching config.json",
        "  | error: 404 Not Found",
        "Run `pulumi up` again.",
      ].join("\n"),
    );
  });
});
