import { describe, expect, it } from "vitest";
import { opaqueResources } from "../../../policies/rules/opaque-resources";
import { kubernetesStack, urn } from "../support/fixtures";
import { runPolicy } from "../support/in-process";
import { K8S } from "../support/types";

describe("opaque-resources", () => {
  it("a Helm Release is reported as not checked (advisory only)", async () => {
    const release = { urn: urn(K8S.helmRelease, "r"), type: K8S.helmRelease, name: "r", props: { chart: "oci://example/vllm" } };
    const result = await runPolicy(opaqueResources, [...kubernetesStack().all, release]);
    expect(result.mandatory).toEqual([]);
    expect(result.advisory).toEqual([expect.stringMatching(/not checked inside Release "r" \(chart oci:\/\/example\/vllm\)/)]);
    expect(result.reported[0]?.urn).toBe(release.urn);
  });

  it("look-alike: the objects a Chart or ConfigGroup registers are ordinary resources: nothing to report", async () => {
    const chartChild = { ...kubernetesStack().deployment, parent: urn("kubernetes:helm.sh/v4:Chart", "c") };
    expect((await runPolicy(opaqueResources, [chartChild])).reported).toEqual([]);
  });
});
