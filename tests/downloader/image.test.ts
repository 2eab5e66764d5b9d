/** The image's build, checked without a Docker engine: the bundle and the Dockerfile's contract. */
import { execFileSync, spawn } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CACHE_GID, CACHE_UID, DEFAULT_MOUNT_PATH } from "../../components/core/contract.js";
import { collect, REPO_ROOT, tempDir } from "./support/cli.js";
import { setupFixture } from "./support/fixtures.js";
import { FakeHub } from "./support/hub-server.js";

let dir: { path: string; cleanup: () => Promise<void> };
let outfile: string;
let metafile: Metafile;
beforeAll(async () => {
  dir = await tempDir();
  // The bundle as `npm run build:downloader` makes it, into <tmp>/dist as in the image.
  outfile = join(dir.path, "dist", "model-cache.cjs");
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
  metafile = result.metafile;
});
afterAll(() => dir.cleanup());

describe("the downloader bundle (npm run build:downloader)", () => {
  it("needs nothing but Node's built-in modules at run time, and no Pulumi SDK", async () => {
    const scripts = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
    expect(scripts["build:downloader"]).toContain("esbuild downloader/src/cli.ts --bundle --platform=node");
    expect(scripts.prepare).toBe("npm run build:downloader");
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.filter((p) => p.includes("@pulumi"))).toEqual([]);
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const externals = Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    expect(externals.filter((p) => !builtins.has(p))).toEqual([]);
    const version = execFileSync(process.execPath, ["-e", `require(${JSON.stringify(outfile)}).main(["--version"])`], { encoding: "utf8" });
    expect(version.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("the bin runs the bundle end to end: a cold download, then a warm one", async () => {
    // The layout of the image: <app>/downloader/bin/model-cache.js next to <app>/dist/model-cache.cjs.
    const bin = join(dir.path, "downloader", "bin", "model-cache.js");
    await mkdir(join(dir.path, "downloader", "bin"), { recursive: true });
    await copyFile(join(REPO_ROOT, "downloader", "bin", "model-cache.js"), bin);
    const hub = await FakeHub.start();
    try {
      const fixture = setupFixture(hub);
      const manifest = join(dir.path, "manifest.json");
      await writeFile(manifest, JSON.stringify(fixture.manifest));
      const env = { PATH: process.env.PATH, HF_ENDPOINT: hub.endpoint, MODEL_CACHE_MANIFEST: await readFile(manifest, "utf8") };
      const run = () =>
        collect(
          spawn(process.execPath, [bin, "download", "--cache", join(dir.path, "cache"), "--json"], {
            env,
            stdio: ["ignore", "pipe", "pipe"],
          }),
        );
      const cold = await run();
      expect(cold.code, cold.stderr).toBe(0);
      expect(cold.json?.models.map((m) => m.status)).toEqual(["downloaded", "downloaded", "downloaded"]);
      const requests = hub.requests.length;
      const warm = await run();
      expect(warm.code, warm.stderr).toBe(0);
      expect(warm.json?.models.map((m) => m.status)).toEqual(["ok", "ok", "ok"]);
      expect(hub.requests.length).toBe(requests);
    } finally {
      await hub.close();
    }
  });
});

describe("downloader/Dockerfile", () => {
  it("builds in one stage, runs the CLI as uid 1000 in a slim stage that owns /app/models", async () => {
    const text = await readFile(join(REPO_ROOT, "downloader", "Dockerfile"), "utf8");
    const lines = text.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
    const froms = lines.filter((l) => l.startsWith("FROM "));
    expect(froms).toEqual(["FROM node:24-bookworm-slim AS build", "FROM node:24-bookworm-slim"]);
    const final = lines.slice(lines.lastIndexOf(froms[1]!)).join("\n");
    expect(final).toContain(`USER ${CACHE_UID}:${CACHE_GID}`);
    expect(final).toContain('ENTRYPOINT ["model-cache"]');
    expect(final).toContain(`chown -R ${CACHE_UID}:${CACHE_GID} ${DEFAULT_MOUNT_PATH}`);
    expect(final).toContain("COPY --from=build /src/dist/model-cache.cjs ./dist/model-cache.cjs");
    expect(final).toContain("COPY --from=build /src/dist/model-cache.cjs.v8-cache");
    expect(final).not.toContain("node_modules");
    expect(final).not.toMatch(/npm (ci|install)/);
    expect(text).toContain("npm run build:downloader");
    // The root .dockerignore: the one every builder reads (BuildKit, the classic builder, Pulumi's Image).
    const ignore = await readFile(join(REPO_ROOT, ".dockerignore"), "utf8");
    expect(ignore).toContain("!downloader/");
    expect(ignore).toContain("!components/core/");
  });
});
