import { describe, expect, it } from "vitest";
import { DOCKER_ONE_SHOT_TYPE, LABELS } from "../components/core/contract";
import { runStackUnderMocks } from "../gate/run-under-mocks";
import { runProgram } from "../infra/program";

const TOKEN = "hf_exampleTokenValue0123456789";
const run = (secret: boolean) =>
  runStackUnderMocks("dev", () => runProgram() as unknown as Record<string, unknown>, {
    config: { "model-cache:hfToken": TOKEN },
    secretKeys: secret ? ["model-cache:hfToken"] : [],
  });

describe("the hub token", () => {
  it("reaches the downloader only, as a secret", async () => {
    const { resources } = await run(true);
    const containers = resources.filter((r) => r.type === "docker:index/container:Container" || r.type === DOCKER_ONE_SHOT_TYPE);
    const role = (r: (typeof containers)[number]) =>
      (r.props["labels"] as { label: string; value: string }[]).find((l) => l.label === LABELS.role)?.value;
    const downloader = containers.find((r) => role(r) === "downloader")!;
    const service = containers.find((r) => role(r) === "service")!;
    expect(downloader.props["envs"]).toContain(`HF_TOKEN=${TOKEN}`);
    expect(downloader.secretProps).toContain("envs");
    for (const r of resources.filter((r) => r !== downloader)) {
      expect(JSON.stringify(r.props), `${r.type} ${r.name}`).not.toContain(TOKEN);
    }
    expect(service.secretProps).not.toContain("envs");
  });

  it("is refused when stored in plain text", async () => {
    await expect(run(false)).rejects.toThrow(
      /model-cache:hfToken: the hub token is stored in plain text; store it as a secret: pulumi config set --secret model-cache:hfToken/,
    );
  });
});
