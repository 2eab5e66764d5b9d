import { describe, expect, it } from "vitest";
import { LABELS } from "../../../components/core/contract";
import { manifestCoverage } from "../../../policies/rules/manifest-coverage";
import { clone, dockerStack, ecsStack, kubernetesStack, setDockerLabel } from "../support/fixtures";
import { runPolicy } from "../support/in-process";

describe("manifest-coverage", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(manifestCoverage, stack())).reported).toEqual([]);
  });

  it("a consumer labelled with another digest fails", async () => {
    const s = clone(dockerStack());
    setDockerLabel(s.service, LABELS.manifest, "0".repeat(32));
    expect((await runPolicy(manifestCoverage, s.all)).mandatory).toEqual([expect.stringMatching(/fills it for/)]);
  });

  it("a downloader label that is not its manifest's digest fails", async () => {
    const s = clone(dockerStack());
    setDockerLabel(s.downloader, LABELS.manifest, "f".repeat(32));
    setDockerLabel(s.service, LABELS.manifest, "f".repeat(32));
    expect((await runPolicy(manifestCoverage, s.all)).mandatory).toEqual([
      expect.stringMatching(/hashes to [0-9a-f]{64} \(label [0-9a-f]{32}\)/),
    ]);
  });

  it("look-alike: the label is the digest's first 32 hex digits, not the whole digest", async () => {
    const s = dockerStack();
    expect(s.downloader.props["labels"]).toContainEqual({ label: LABELS.manifest, value: s.set.manifest.digest.slice(0, 32) });
    expect((await runPolicy(manifestCoverage, s.all)).reported).toEqual([]);
  });
});
