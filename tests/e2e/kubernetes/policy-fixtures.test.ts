/**
 * The policy tests' compliant Kubernetes fixtures (tests/policies/support/fixtures.ts, read as
 * they are) are objects a real API server accepts: each is created with a server-side dry run
 * (admission and validation run, nothing is stored) against the loopback control plane.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GPU_SET, kubernetesStack, modelSet } from "../../policies/support/fixtures";
import { type ControlPlane, startControlPlane } from "./support/control-plane";
import { e2eTools } from "./support/tools";

let cluster: ControlPlane;

beforeAll(async () => {
  cluster = await startControlPlane(e2eTools());
  const namespaces = new Set(
    [kubernetesStack(GPU_SET)]
      .flatMap((s) => s.all.map((r) => r.props["metadata"]?.namespace))
      .filter((n): n is string => typeof n === "string"),
  );
  for (const ns of namespaces) await cluster.kubectl(["create", "namespace", ns]);
});

afterAll(async () => {
  await cluster?.stop();
});

const stacks = {
  "the GPU set": kubernetesStack(GPU_SET),
  "a CPU set": kubernetesStack(modelSet(["bge-m3"], "cpu")),
  "a set with unverified files allowed": kubernetesStack(modelSet(["bge-m3", "yunet"], "cuda", true)),
};

describe("every compliant Kubernetes fixture of the policy tests is accepted by a real API server (server-side dry run)", () => {
  for (const [what, stack] of Object.entries(stacks)) {
    for (const resource of stack.all) {
      it(`${what}: ${resource.props["kind"]} ${resource.props["metadata"].name}`, async () => {
        const out = await cluster.kubectl(["create", "--dry-run=server", "-o", "json", "-f", "-"], JSON.stringify(resource.props));
        const created = JSON.parse(out);
        expect(created.kind).toBe(resource.props["kind"]);
        // Labels come back as sent: every value is one the API server takes (≤ 63 characters…).
        expect(created.metadata.labels).toEqual(resource.props["metadata"].labels);
      });
    }
  }
});
