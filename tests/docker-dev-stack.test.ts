import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { builtinCatalog } from "../components/core/catalog/index";
import {
  ANNOTATIONS,
  CACHE_ENV_KEYS,
  cachePaths,
  DOCKER_ONE_SHOT_TYPE,
  hubRepoFolder,
  LABELS,
  manifestLabelValue,
} from "../components/core/contract";
import { parseManifest } from "../components/core/manifest";
import { buildManifest, selectModels } from "../components/core/selection";
import { computeMemorySizing } from "../components/core/sizing";
import { deriveStartPeriod } from "../components/core/startup";
import { goDuration, httpHealthcheckTest } from "../components/docker/healthcheck";
import { BASE_DOWNLOAD_TIMEOUT_SECONDS, MIN_DOWNLOAD_MIB_PER_SECOND, manifestBytes } from "../components/docker/model-downloader";
import { type MockRunResult, type RegisteredResource, runStackUnderMocks } from "../gate/run-under-mocks";
import { readStackFile } from "../gate/stack-file";
import { parseStackConfig } from "../infra/config";
import { runProgram } from "../infra/program";

// Everything expected is derived from Pulumi.dev.yaml as written plus the catalog: change the
// stack file and the expectations follow; break a component and the test fails.
const stackFile = readStackFile("dev");
const config = parseStackConfig(stackFile.config);
const models = selectModels(config.models, builtinCatalog());
const manifest = buildManifest(models);
const sizing = computeMemorySizing({ models, device: config.device, headroom: config.headroom, gpuMemoryMiB: config.gpuMemoryMiB });
const paths = cachePaths(config.mountPath);
// The stack leaves startPeriodSeconds unset: the period is derived from the catalog's load times.
const startPeriod = deriveStartPeriod({ models, device: config.device });

let run: MockRunResult;
const byType = (type: string) => run.resources.filter((r) => r.type === type);
const one = (type: string, role?: string): RegisteredResource => {
  const found = byType(type).filter((r) => !role || labelsOf(r)[LABELS.role] === role);
  expect(found, `${type} ${role ?? ""}`).toHaveLength(1);
  return found[0]!;
};
const labelsOf = (r: RegisteredResource) =>
  Object.fromEntries(((r.props["labels"] ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
const envOf = (r: RegisteredResource) =>
  Object.fromEntries(((r.props["envs"] ?? []) as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

/** The resource options each registration was given (the mock runner records the inputs only). */
const optionsOf = new Map<string, pulumi.ResourceOptions>();

beforeAll(async () => {
  run = await runStackUnderMocks("dev", () => {
    pulumi.runtime.registerStackTransformation((args) => {
      optionsOf.set(`${args.type}::${args.name}`, args.opts);
      return undefined;
    });
    return runProgram() as unknown as Record<string, unknown>;
  });
});

describe("the dev stack as written in Pulumi.dev.yaml", () => {
  it("is a docker, cpu stack", () => {
    expect(config.target).toBe("docker");
    expect(config.device).toBe("cpu");
  });

  it("registers exactly the volume, the downloader (with its image build) and the service, under their components", () => {
    const types = run.resources.map((r) => r.type).sort();
    expect(types).toEqual(
      [
        "pulumi:pulumi:Stack",
        "model-cache:docker:ModelCacheVolume",
        "model-cache:docker:ModelDownloader",
        "model-cache:docker:ModelService",
        "docker:index/volume:Volume",
        "docker:index/image:Image",
        DOCKER_ONE_SHOT_TYPE,
        "docker:index/container:Container",
        "pulumi-nodejs:dynamic/docker:HealthyContainer",
      ].sort(),
    );
    const componentOf = (type: string) => one(type).urn;
    expect(one("docker:index/volume:Volume").parent).toBe(componentOf("model-cache:docker:ModelCacheVolume"));
    expect(one(DOCKER_ONE_SHOT_TYPE, "downloader").parent).toBe(componentOf("model-cache:docker:ModelDownloader"));
    expect(one("pulumi-nodejs:dynamic/docker:HealthyContainer").parent).toBe(componentOf("model-cache:docker:ModelService"));
    expect(one("docker:index/image:Image").parent).toBe(componentOf("model-cache:docker:ModelDownloader"));
    expect(one("docker:index/container:Container", "service").parent).toBe(componentOf("model-cache:docker:ModelService"));
  });

  it("labels the volume as the cache", () => {
    const volume = one("docker:index/volume:Volume");
    expect(labelsOf(volume)).toEqual({ [LABELS.role]: "cache", [LABELS.cache]: config.cacheName });
    expect(volume.props["name"]).toBe(`model-cache-dev-${config.cacheName}`);
  });

  it("builds the downloader image from the repo's Dockerfile", () => {
    const image = one("docker:index/image:Image");
    expect(image.props["imageName"]).toBe("model-cache-downloader:local");
    expect(image.props["skipPush"]).toBe(true);
    const build = image.props["build"] as Record<string, string>;
    expect(build["dockerfile"]).toMatch(/\/downloader\/Dockerfile$/);
  });

  it("runs the downloader once, to completion, read-write, with the manifest and the cache env, from the built image's id", () => {
    const d = one(DOCKER_ONE_SHOT_TYPE, "downloader");
    // The mocks report the Image's repoDigest; with skipPush the provider sets it to the image id.
    const image = one("docker:index/image:Image");
    expect(d.props).toMatchObject({
      mustRun: false,
      attach: true,
      restart: "no",
      image: `${image.props["imageName"]}@sha256:${"0".repeat(64)}`,
    });
    expect(d.props["name"]).toBe(`model-cache-dev-${config.cacheName}-downloader`);
    // The create timeout follows the manifest's size at the documented minimum throughput.
    expect(d.props["timeoutSeconds"]).toBe(
      BASE_DOWNLOAD_TIMEOUT_SECONDS + Math.ceil(manifestBytes(manifest.manifest) / (MIN_DOWNLOAD_MIB_PER_SECOND * 1024 * 1024)),
    );
    expect(manifestBytes(manifest.manifest)).toBeGreaterThan(90e6);
    expect(d.props["command"]).toEqual(["download"]);
    expect(d.props["user"]).toBe("1000:1000");
    expect(d.props["volumes"]).toEqual([
      { volumeName: `model-cache-dev-${config.cacheName}`, containerPath: paths.mountPath, readOnly: false },
    ]);
    const env = envOf(d);
    for (const key of CACHE_ENV_KEYS) expect(env[key]).toBe(paths.root);
    expect(parseManifest(env["MODEL_CACHE_MANIFEST"]!)).toEqual(manifest.manifest);
    expect(env["MODEL_CACHE_MANIFEST"]).toBe(manifest.json);
    expect(env["HF_ENDPOINT"]).toBe(config.hubEndpoint);
    expect(env["HF_HUB_OFFLINE"]).toBeUndefined();
    expect(env["HF_TOKEN"]).toBeUndefined();
    expect(labelsOf(d)).toEqual({
      [LABELS.role]: "downloader",
      [LABELS.cache]: config.cacheName,
      [LABELS.manifest]: manifestLabelValue(manifest.digest),
      [ANNOTATIONS.manifestSha256]: manifest.digest,
    });
  });

  it("starts the service after the downloader, read-only, offline, without credentials, as non-root, with the measured limit", () => {
    const d = one(DOCKER_ONE_SHOT_TYPE, "downloader");
    const s = one("docker:index/container:Container", "service");
    expect(s.dependencies).toContain(d.urn);
    expect(s.props["volumes"]).toEqual([
      { volumeName: `model-cache-dev-${config.cacheName}`, containerPath: paths.mountPath, readOnly: true },
    ]);
    const env = envOf(s);
    for (const key of CACHE_ENV_KEYS) expect(env[key]).toBe(paths.root);
    expect(env["HF_HUB_OFFLINE"]).toBe("1");
    expect(env["TRANSFORMERS_OFFLINE"]).toBe("1");
    expect(Object.keys(env).filter((k) => /TOKEN/.test(k))).toEqual([]);
    expect(s.props["user"]).toBe("1000:1000");
    expect(s.props["memory"]).toBe(sizing.limitMiB);
    expect(s.props["memorySwap"]).toBe(sizing.limitMiB);
    expect(s.props["gpus"]).toBeUndefined(); // cpu stack
    expect(s.props["image"]).toBe(config.serviceImage);
    expect(labelsOf(s)).toMatchObject({
      [LABELS.role]: "service",
      [LABELS.cache]: config.cacheName,
      [LABELS.manifest]: manifestLabelValue(manifest.digest),
      [ANNOTATIONS.manifestSha256]: manifest.digest,
      [LABELS.device]: config.device,
    });
  });

  it("points the model server at the verified snapshot and waits for it to be healthy", () => {
    const s = one("docker:index/container:Container", "service");
    const minilm = models.find((m) => m.kind === "huggingface")!;
    if (minilm.kind !== "huggingface") throw new Error("dev stack should serve a hub model");
    expect(s.props["command"]).toEqual([
      "--model-id",
      `${paths.root}/${hubRepoFolder(minilm.repo)}/snapshots/${minilm.revision}`,
      "--port",
      String(config.servicePort),
    ]);
    expect(s.props["ports"]).toEqual([{ internal: config.servicePort, external: config.hostPort }]);
    // Spelled as the provider reads them back (Go durations): 90 s is "1m30s", not "90s".
    expect(s.props["healthcheck"]).toEqual({
      tests: httpHealthcheckTest(config.servicePort, config.healthPath),
      interval: "10s",
      timeout: "5s",
      retries: 3,
      startPeriod: goDuration(startPeriod.seconds),
    });
    expect(config.startPeriodSeconds).toBe(0);
    // The provider's wait polls only for healthy and says nothing; HealthyContainer waits instead.
    expect(s.props["wait"]).toBeUndefined();
    expect(s.props["mustRun"]).toBe(true);
    // The provider's Update ignores the healthcheck: a changed one replaces the container.
    expect(optionsOf.get(`docker:index/container:Container::${s.name}`)).toMatchObject({
      replaceOnChanges: ["healthcheck"],
      deleteBeforeReplace: true,
    });
    const gate = one("pulumi-nodejs:dynamic/docker:HealthyContainer");
    expect(gate.props["containerId"]).toBe(`${config.cacheName}-service-id`);
    expect(gate.props["timeoutSeconds"]).toBeGreaterThan(startPeriod.seconds);
  });

  it("exports the sizing breakdown and the manifest digest", () => {
    expect(run.outputs["manifestDigest"]).toBe(manifest.digest);
    expect(run.outputs["memorySizing"]).toEqual(sizing);
    expect(run.outputs["models"]).toEqual(config.models);
  });
});
