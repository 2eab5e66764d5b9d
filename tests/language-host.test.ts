/**
 * Loads the program the way `pulumi up` / `pulumi preview` do on a user's machine: the language
 * host's command line (`node @pulumi/pulumi/cmd/run --monitor … infra/index.ts` with
 * PULUMI_NODEJS_TYPESCRIPT=true, so the SDK registers ts-node with the project's own
 * `typescript` and `tsconfig.json`, type-checking included), config in PULUMI_CONFIG as the
 * language host serialises it, against a gRPC engine. Whatever vitest's transform forgives,
 * this does not.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DOCKER_ONE_SHOT_TYPE } from "../components/core/contract";
import { type FakeEngine, startFakeEngine } from "./support/fake-engine";
import { runUnderLanguageHost } from "./support/language-host";

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe("the program under the Pulumi language host's loader (ts-node, project typescript, tsconfig.json)", () => {
  it("previews the dev stack as written", { timeout: 120_000 }, async () => {
    engine = await startFakeEngine();
    const result = await runUnderLanguageHost(engine, "dev", { dryRun: true });
    const errors = engine.logs.filter((l) => l.severity === "error");
    expect(errors, result.stderr).toEqual([]);
    expect(result.code, result.stderr).toBe(0);
    const types = engine.registrations.map((r) => r.type);
    expect(types).toContain("pulumi:pulumi:Stack");
    // The service container, and the download step (a dynamic resource: its provider serialized under ts-node).
    expect(types.filter((t) => t === "docker:index/container:Container")).toHaveLength(1);
    expect(types.filter((t) => t === DOCKER_ONE_SHOT_TYPE)).toHaveLength(1);
    const download = engine.registrations.find((r) => r.type === DOCKER_ONE_SHOT_TYPE)!;
    expect(String(download.inputs["__provider"])).toContain("exports.handler");
    expect(types).toContain("docker:index/volume:Volume");
  });

  it("fails `pulumi up` with the download step's error and never registers the service", { timeout: 120_000 }, async () => {
    // What the engine reports when the step's create fails (the message is the provider's:
    // tests/docker-components.test.ts and the e2e suite check it on a real engine).
    const message =
      "the model downloader (container model-cache-dev-models-downloader) exited with code 5.\n  | checksum mismatch for model.safetensors";
    engine = await startFakeEngine((args) => {
      if (args.type === DOCKER_ONE_SHOT_TYPE) throw new Error(message);
      return {};
    });
    const result = await runUnderLanguageHost(engine, "dev", { dryRun: false });
    expect(result.code).not.toBe(0);
    const error = [...engine.logs.filter((l) => l.severity === "error").map((l) => l.message), result.stderr].join("\n");
    expect(error).toMatch(/exited with code 5/);
    expect(error).toMatch(/checksum mismatch for model\.safetensors/);
    // The service was never registered: it depends on the download step.
    const service = engine.registrations.find((r) => r.type === "docker:index/container:Container");
    expect(service).toBeUndefined();
  });
});
