/**
 * The prod stack under the Pulumi language host's own loader (`@pulumi/pulumi/cmd/run` with
 * PULUMI_NODEJS_TYPESCRIPT, i.e. ts-node type-checking the program against tsconfig.json, CJS
 * module loading) against a gRPC fake engine: what vitest's transform would forgive in the
 * kubernetes and aws components, this does not.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type FakeEngine, startFakeEngine } from "../support/fake-engine";
import { runUnderLanguageHost } from "../support/language-host";
import { FAKE_KUBECONFIG, K8S, KUBECONFIG_KEY, prodPlan } from "./support";

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe("the prod stack under the language host's loader", () => {
  it("previews as written: EFS, PV, PVC, the digest-named Job, then the Deployment", { timeout: 180_000 }, async () => {
    engine = await startFakeEngine();
    const result = await runUnderLanguageHost(engine, "prod", {
      dryRun: true,
      config: { [KUBECONFIG_KEY]: FAKE_KUBECONFIG },
      secretKeys: [KUBECONFIG_KEY],
    });
    const errors = engine.logs.filter((l) => l.severity === "error");
    expect(errors, result.stderr).toEqual([]);
    expect(result.code, result.stderr).toBe(0);
    const types = engine.registrations.map((r) => r.type);
    for (const type of [K8S.provider, "aws:efs/fileSystem:FileSystem", K8S.pv, K8S.pvc, K8S.job, K8S.deployment, K8S.service, K8S.pdb]) {
      expect(types, type).toContain(type);
    }
    const job = engine.registrations.find((r) => r.type === K8S.job)!;
    const deployment = engine.registrations.find((r) => r.type === K8S.deployment)!;
    expect((job.inputs["metadata"] as { name: string }).name).toContain(prodPlan().manifest.digest.slice(0, 10));
    expect(deployment.dependencies).toContain(job.urn);
  });
});
