import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EXIT } from "../../downloader/src/exit-codes.js";
import { runCli, tempDir } from "./support/cli.js";
import { type Fixture, GATED_REPO, setupFixture } from "./support/fixtures.js";
import { FakeHub } from "./support/hub-server.js";

const TOKEN = "hf_supersecretTOKEN0123456789";

let hub: FakeHub;
let fixture: Fixture;
let dir: { path: string; cleanup: () => Promise<void> };
let cache: string;
let manifestFile: string;

beforeAll(async () => {
  hub = await FakeHub.start();
  fixture = setupFixture(hub, { gatedToken: TOKEN });
});
afterAll(() => hub.close());
beforeEach(async () => {
  dir = await tempDir();
  cache = join(dir.path, "cache");
  manifestFile = join(dir.path, "manifest.json");
  await writeFile(manifestFile, JSON.stringify(fixture.manifest));
  hub.requests.length = 0;
});
afterEach(() => dir.cleanup());

describe("HF_TOKEN goes to the hub host only", () => {
  it("is sent to the hub, never to the CDN host an LFS file redirects to, never printed", async () => {
    const result = await runCli(["download", "-m", manifestFile, "-c", cache, "--json"], { HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN });
    expect(result.code).toBe(0);
    const hubRequests = hub.requests.filter((r) => r.server === "hub");
    const cdnRequests = hub.requests.filter((r) => r.server === "cdn");
    expect(hubRequests.length).toBeGreaterThan(0);
    expect(cdnRequests.length).toBeGreaterThan(0);
    expect(hubRequests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    // LFS blobs (after the redirect) and plain URLs live on the other host name.
    expect(cdnRequests.map((r) => r.authorization)).toEqual(cdnRequests.map(() => undefined));
    expect(cdnRequests.some((r) => r.path.startsWith("/lfs/"))).toBe(true);
    expect(result.stdout).not.toContain(TOKEN);
    expect(result.stderr).not.toContain(TOKEN);
    // Neither are the CDN's signed query strings.
    expect(result.stderr).not.toContain("secret-cdn-signature");
  });

  it("a gated repo without a token: exit 4, says to set HF_TOKEN", async () => {
    const result = await runCli(["download", "-m", manifestFile, "-c", cache, "--json"], { HF_ENDPOINT: hub.endpoint });
    expect(result.code).toBe(EXIT.network);
    const gated = result.json?.models.find((m) => m.id === "gated-model");
    expect(gated?.reason).toContain("HTTP 401");
    expect(gated?.reason).toContain(GATED_REPO);
    expect(gated?.reason).toContain("set HF_TOKEN");
    expect(result.json?.models.filter((m) => m.status === "downloaded")).toHaveLength(3);
  });

  it("a refused token: exit 4 with what to check, and the token is not echoed", async () => {
    const wrong = "hf_wrongTOKENwrongTOKEN";
    const result = await runCli(["download", "-m", manifestFile, "-c", cache, "--json"], { HF_ENDPOINT: hub.endpoint, HF_TOKEN: wrong });
    expect(result.code).toBe(EXIT.network);
    const gated = result.json?.models.find((m) => m.id === "gated-model");
    expect(gated?.reason).toContain("HTTP 403");
    expect(gated?.reason).toContain("accept its terms");
    expect(result.stdout + result.stderr).not.toContain(wrong);
  });
});
