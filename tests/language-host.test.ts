/**
 * Loads the program the way `pulumi up` / `pulumi preview` do on a user's machine: the language
 * host's command line (`node @pulumi/pulumi/cmd/run --monitor … infra/index.ts` with
 * PULUMI_NODEJS_TYPESCRIPT=true, so the SDK registers ts-node with the project's own
 * `typescript` and `tsconfig.json`, type-checking included), config in PULUMI_CONFIG as the
 * language host serialises it, against a gRPC engine. Whatever vitest's transform forgives,
 * this does not.
 */
import { afterEach, describe, expect, it } from "vitest";
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
    expect(types.filter((t) => t === "docker:index/container:Container")).toHaveLength(2);
    expect(types).toContain("docker:index/volume:Volume");
  });

  it("fails `pulumi up` with the downloader's last log lines when it exits non-zero", { timeout: 120_000 }, async () => {
    const logs = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join("\n") + "\nchecksum mismatch for model.safetensors";
    engine = await startFakeEngine((args) =>
      args.type === "docker:index/container:Container" && args.inputs.attach ? { exitCode: 5, containerLogs: logs } : {},
    );
    const result = await runUnderLanguageHost(engine, "dev", { dryRun: false });
    expect(result.code).not.toBe(0);
    const error = engine.logs
      .filter((l) => l.severity === "error")
      .map((l) => l.message)
      .join("\n");
    expect(error).toMatch(/the model downloader exited with code 5; the model service was not started/);
    expect(error).toMatch(/checksum mismatch for model\.safetensors/);
    expect(error).toMatch(/line 40/);
    expect(error).not.toMatch(/line 10\b/);
    // The service was never registered: it waits for the download to succeed.
    const service = engine.registrations.find((r) => r.type === "docker:index/container:Container" && !r.inputs["attach"]);
    expect(service).toBeUndefined();
  });
});
