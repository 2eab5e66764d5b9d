import { describe, expect, it } from "vitest";
import { DOCKER_ONE_SHOT_TYPE, LABELS } from "../components/core/contract";
import { type RegisteredResource, runStackUnderMocks } from "../gate/run-under-mocks";
import { readStackFile } from "../gate/stack-file";
import { parseStackConfig } from "../infra/config";
import { planStack } from "../infra/plan";
import { runProgram } from "../infra/program";

const program = () => runProgram() as unknown as Record<string, unknown>;
const role = (r: RegisteredResource) =>
  ((r.props["labels"] as { label: string; value: string }[]) ?? []).find((l) => l.label === LABELS.role)?.value;
const container = (resources: RegisteredResource[], wanted: string) =>
  resources.find((r) => (r.type === "docker:index/container:Container" || r.type === DOCKER_ONE_SHOT_TYPE) && role(r) === wanted)!;

describe("docker target variants", () => {
  it("uses a configured downloader image instead of building one", async () => {
    const image = "registry.example.com/model-cache-downloader:1.0.0";
    const { resources } = await runStackUnderMocks("dev", program, { config: { "model-cache:downloaderImage": image } });
    expect(resources.filter((r) => r.type === "docker:index/image:Image")).toEqual([]);
    expect(container(resources, "downloader").props["image"]).toBe(image);
  });

  it("requests all GPUs and sizes from the cuda measurements on a cuda stack", async () => {
    const overrides = { "model-cache:device": "cuda", "model-cache:gpuMemoryMiB": "8192" };
    const { resources } = await runStackUnderMocks("dev", program, { config: overrides });
    const plan = planStack(parseStackConfig({ ...readStackFile("dev").config, ...overrides }));
    const service = container(resources, "service");
    expect(service.props["gpus"]).toBe("all");
    expect(service.props["memory"]).toBe(plan.sizing.limitMiB);
    expect(plan.sizing.device).toBe("cuda");
    expect(container(resources, "downloader").props["gpus"]).toBeUndefined();
  });

  it("previews without knowing the download's outcome, contract labels still known", async () => {
    const { resources } = await runStackUnderMocks("dev", program, { preview: true });
    const service = container(resources, "service");
    expect(role(service)).toBe("service");
    expect(service.dependencies).toContain(container(resources, "downloader").urn);
  });

  it("refuses replicas > 1 on docker", async () => {
    await expect(runStackUnderMocks("dev", program, { config: { "model-cache:replicas": "2" } })).rejects.toThrow(
      /model-cache:replicas: the docker target runs exactly one service container \(got 2\)/,
    );
  });
});
