/** downloader/Dockerfile on the real engine: as the program builds it, and with plain `docker build`. */
import { spawn } from "node:child_process";
import Docker from "dockerode";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { CACHE_GID, CACHE_UID } from "../../../components/core/contract";
import { type RegisteredResource, runStackUnderMocks } from "../../../gate/run-under-mocks";
import { runProgram } from "../../../infra/program";
import { DOWNLOADER_DOCKERFILE, REPO_ROOT } from "./support/images";
import { buildContext, buildImage } from "./support/provider-mapping";

const docker = new Docker({ socketPath: new URL(inject("dockerHost")).pathname });
let image: RegisteredResource;

beforeAll(async () => {
  const run = await runStackUnderMocks("dev", () => runProgram() as unknown as Record<string, unknown>);
  image = run.resources.find((r) => r.type === "docker:index/image:Image")!;
});

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.once("close", (code) => resolve({ code, out }));
  });
}

describe("downloader/Dockerfile", () => {
  it("builds as the program builds it: BuildKit through the engine API, with the .dockerignore honoured", async () => {
    const build = image.props["build"] as { context: string; dockerfile: string };
    expect(build.dockerfile).toBe(DOWNLOADER_DOCKERFILE);
    const context = buildContext(build.context, build.dockerfile);
    // Only what the build uses: no node_modules, dist, tests, .git, docs.
    expect(
      context.files.filter((f) => !/^(package\.json|package-lock\.json|\.dockerignore|components\/core\/|downloader\/)/.test(f)),
    ).toEqual([]);
    expect(context.files).toContain("downloader/Dockerfile");

    const built = await buildImage(docker, image.props, { networkMode: "host" });
    // No `# syntax=` frontend to fetch from Docker Hub: the engine's built-in frontend did it.
    expect(built.log).not.toMatch(/docker\/dockerfile|registry-1\.docker\.io/);
    expect(built.outputs["repoDigest"]).toMatch(/^sha256:[0-9a-f]{64}$/);
    const info = await docker.getImage(built.id).inspect();
    expect(info.Config.User).toBe(`${CACHE_UID}:${CACHE_GID}`);
    expect(info.Config.Entrypoint).toEqual(["model-cache"]);
    const version = await run("docker", ["run", "--rm", "--network", "host", built.id, "--version"], { DOCKER_HOST: inject("dockerHost") });
    expect(version.code, version.out).toBe(0);
    expect(version.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("builds with plain `docker build -f downloader/Dockerfile .` (the classic builder), sending only the .dockerignore'd context", async () => {
    const result = await run(
      "docker",
      ["build", "--network", "host", "-t", "model-cache-downloader:plain", "-f", "downloader/Dockerfile", "."],
      {
        DOCKER_HOST: inject("dockerHost"),
        DOCKER_BUILDKIT: "0",
      },
    );
    expect(result.code, result.out).toBe(0);
    const sent = /Sending build context to Docker daemon\s+([\d.]+)([kMG]?B)/.exec(result.out);
    expect(sent, result.out).not.toBeNull();
    const bytes = Number(sent![1]) * ({ B: 1, kB: 1e3, MB: 1e6, GB: 1e9 } as Record<string, number>)[sent![2]!]!;
    // The context is package.json, the lockfile, components/core and downloader: a few MB, not the
    // 374 MB of a context without the .dockerignore (node_modules and all).
    expect(bytes).toBeLessThan(10e6);
  });
});
