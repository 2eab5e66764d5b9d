/** The image's build, checked without a Docker engine: the bundle and the Dockerfile's contract. */
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CACHE_GID, CACHE_UID, DEFAULT_MOUNT_PATH } from "../../components/core/contract.js";
import { REPO_ROOT, tempDir } from "./support/cli.js";

let dir: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.cleanup());

describe("the downloader bundle (npm run build:downloader)", () => {
  it("needs nothing but Node's built-in modules at run time, and no Pulumi SDK", async () => {
    const scripts = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    expect(scripts["build:downloader"]).toContain("esbuild downloader/src/cli.ts --bundle --platform=node");
    expect(scripts.prepare).toBe("npm run build:downloader");
    const outfile = join(dir.path, "model-cache.cjs");
    const result = await build({
      entryPoints: [join(REPO_ROOT, "downloader", "src", "cli.ts")],
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      outfile,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => p.includes("@pulumi"))).toEqual([]);
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const externals = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    expect(externals.filter((p) => !builtins.has(p))).toEqual([]);
    const version = execFileSync(process.execPath, ["-e", `require(${JSON.stringify(outfile)}).main(["--version"])`], { encoding: "utf8" });
    expect(version.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("downloader/Dockerfile", () => {
  it("builds in one stage, runs the CLI as uid 1000 in a slim stage that owns /app/models", async () => {
    const text = await readFile(join(REPO_ROOT, "downloader", "Dockerfile"), "utf8");
    const lines = text.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
    const froms = lines.filter((l) => l.startsWith("FROM "));
    expect(froms).toEqual(["FROM node:20-bookworm-slim AS build", "FROM node:20-bookworm-slim"]);
    const final = lines.slice(lines.lastIndexOf(froms[1]!)).join("\n");
    expect(final).toContain(`USER ${CACHE_UID}:${CACHE_GID}`);
    expect(final).toContain('ENTRYPOINT ["model-cache"]');
    expect(final).toContain(`chown -R ${CACHE_UID}:${CACHE_GID} ${DEFAULT_MOUNT_PATH}`);
    expect(final).toContain("COPY --from=build /src/dist/model-cache.cjs ./dist/model-cache.cjs");
    expect(final).toContain("COPY --from=build /src/dist/model-cache.cjs.v8-cache");
    expect(final).not.toContain("node_modules");
    expect(final).not.toMatch(/npm (ci|install)/);
    expect(text).toContain("npm run build:downloader");
    const ignore = await readFile(join(REPO_ROOT, "downloader", "Dockerfile.dockerignore"), "utf8");
    expect(ignore).toContain("!downloader/");
    expect(ignore).toContain("!components/core/");
  });
});
