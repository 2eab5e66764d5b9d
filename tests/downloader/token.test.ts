import { writeFile } from "node:fs/promises";
import { beforeEach, describe, expect, it } from "vitest";
import { EXIT } from "../../downloader/src/exit-codes.js";
import { runCli } from "./support/cli.js";
import { GATED_REPO } from "./support/fixtures.js";
import type { FakeHub } from "./support/hub-server.js";
import { useHubSession } from "./support/session.js";

const TOKEN = "hf_supersecretTOKEN0123456789";

const session = useHubSession({ fixture: { gatedToken: TOKEN } });
let hub: FakeHub;
let cache: string;
let manifestFile: string;

beforeEach(async () => {
  ({ hub, cache, manifestFile } = session);
});

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

  it("an LFS file comes from the CDN URL its HEAD answered (as huggingface_hub does): no GET on the hub for it", async () => {
    const result = await runCli(["download", "-m", manifestFile, "-c", cache], { HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN });
    expect(result.code, result.stderr).toBe(0);
    const weights = hub.requests.filter((r) => r.path.includes("model.safetensors"));
    expect(weights.map((r) => [r.server, r.method])).toEqual([["hub", "HEAD"]]);
    const blobs = hub.requests.filter((r) => r.server === "cdn" && r.path.startsWith("/lfs/"));
    expect(blobs.length).toBeGreaterThan(0);
    expect(blobs.every((r) => r.method === "GET" && r.authorization === undefined && r.path.includes("signature="))).toBe(true);
  });

  it("a plain file URL on the hub's own origin gets it (as the docs say); the same file on another host does not", async () => {
    const data = Buffer.from("a checkpoint kept in a hub repo");
    const onHub = hub.addPlainFile("on-hub.bin", data, { onHub: true });
    const elsewhere = hub.addPlainFile("elsewhere.bin", data);
    const manifest = {
      version: 1,
      models: [
        { id: "on-hub", kind: "file", path: "on-hub.bin", url: onHub.url, sha256: onHub.sha256 },
        { id: "elsewhere", kind: "file", path: "elsewhere.bin", url: elsewhere.url, sha256: elsewhere.sha256 },
      ],
    };
    await writeFile(manifestFile, JSON.stringify(manifest));
    const result = await runCli(["download", "-m", manifestFile, "-c", cache], { HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN });
    expect(result.code, result.stderr).toBe(0);
    expect(hub.requests.filter((r) => r.path === "/plain/on-hub.bin").map((r) => [r.server, r.authorization])).toEqual([
      ["hub", `Bearer ${TOKEN}`],
    ]);
    expect(hub.requests.filter((r) => r.path === "/plain/elsewhere.bin").map((r) => [r.server, r.authorization])).toEqual([
      ["cdn", undefined],
    ]);
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
