/**
 * Range-split downloads (issue 14): one large file over several connections, the faults a single
 * stream survives still survived per range, and a server without Range support served one stream.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { hubRepoFolder } from "../../components/core/contract.js";
import { EXIT } from "../../downloader/src/exit-codes.js";
import { runCli } from "./support/cli.js";
import { COMMIT, type Fixture, REPO } from "./support/fixtures.js";
import type { FakeHub } from "./support/hub-server.js";
import { useHubSession } from "./support/session.js";

const TOKEN = "hf_rangedTOKEN0123456789";
const session = useHubSession({ fixture: { weightsSize: 6 * 1024 * 1024 } });
let hub: FakeHub;
let fixture: Fixture;
let cache: string;
let manifestFile: string;
let env: Record<string, string>;
const WEIGHTS = `${REPO}/model.safetensors`;

beforeEach(async () => {
  ({ hub, fixture, cache, manifestFile, env } = session);
  env = { ...env, HF_TOKEN: TOKEN };
});

const download = (...extra: string[]) =>
  runCli(["download", "-m", manifestFile, "-c", cache, "--json", "--connections", "4", ...extra], env);
const weightsOnDisk = () => readFile(join(cache, hubRepoFolder(REPO), "snapshots", COMMIT, "model.safetensors"));
const rangesOf = () =>
  hub.contentRequests(WEIGHTS).map((r) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? "");
    return m ? [Number(m[1]), Number(m[2]) + 1] : undefined;
  });

describe("range-split downloads", () => {
  it("splits a large file into ranges over several connections, to the CDN's URL, without the token", async () => {
    const result = await download();
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
    const ranges = rangesOf();
    expect(ranges.length).toBeGreaterThanOrEqual(4);
    expect(ranges.every((r) => r !== undefined)).toBe(true);
    // The pieces cover the file exactly once.
    const sorted = (ranges as [number, number][]).sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [a, b] of sorted) {
      expect(a).toBe(at);
      at = b;
    }
    expect(at).toBe(fixture.files["model.safetensors"]!.size);
    // The hub only answered the HEAD (whose redirect named the CDN URL); every range went straight there, never with the token.
    const hubGets = hub.requests.filter((r) => r.server === "hub" && r.method === "GET" && r.path.includes("model.safetensors"));
    expect(hubGets).toHaveLength(0);
    const cdnGets = hub.requests.filter((r) => r.server === "cdn");
    expect(cdnGets.every((r) => r.authorization === undefined)).toBe(true);
    expect((await runCli(["verify", "--deep", "-m", manifestFile, "-c", cache], env)).code).toBe(EXIT.ok);
  });

  it("a range the CDN refuses (its signature expired mid-download) goes on from a fresh URL the hub redirects to", async () => {
    hub.fail(WEIGHTS, { kind: "status", status: 403 });
    const result = await download();
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stderr).toContain("asking the hub for a fresh download URL");
    const hubGets = hub.requests.filter((r) => r.server === "hub" && r.method === "GET" && r.path.includes("model.safetensors"));
    expect(hubGets).toHaveLength(1);
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("a server that ignores Range gets one stream", async () => {
    hub.noRanges = true;
    const result = await download();
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stderr).toContain("does not split it into ranges; one stream");
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("survives a reset, a truncated range, a 503 with Retry-After and a range answered wrongly", async () => {
    hub.fail(
      WEIGHTS,
      { kind: "reset", afterBytes: 100_000 },
      { kind: "truncate", afterBytes: 50_000 },
      { kind: "status", status: 503, headers: { "retry-after": "0" } },
      { kind: "wrong-range" },
    );
    const result = await download();
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(hub.pendingFaults(WEIGHTS)).toBe(0);
    expect(result.stderr).toContain("with another range; fetching it again");
    expect(result.stderr).toContain("HTTP 503");
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("corrupt bytes in one range: the whole-file hash catches them, the file is fetched once more", async () => {
    hub.fail(WEIGHTS, { kind: "status", status: 500 }, { kind: "corrupt" });
    const result = await download();
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stderr).toContain("sha256 mismatch");
    expect(result.stderr).toContain("downloading again (once)");
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("a trickling range is abandoned below --min-rate and fetched again", async () => {
    hub.fail(WEIGHTS, { kind: "status", status: 500 }, { kind: "trickle", intervalMs: 100, maxBytes: 200 });
    const result = await download("--timeout", "1", "--min-rate", "1000");
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stderr).toContain("below the minimum of 1000 bytes/s");
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("a full-size partial without its state counts for nothing; a state for another size is ignored", async () => {
    const size = fixture.files["model.safetensors"]!.size;
    const blobs = join(cache, hubRepoFolder(REPO), "blobs");
    await mkdir(blobs, { recursive: true });
    const planted = join(blobs, `${fixture.files["model.safetensors"]!.sha256}.0123456789abcdef.incomplete`);
    // What a ranged run leaves when its state is lost: the full length, holes and all.
    await writeFile(planted, Buffer.alloc(size));
    await writeFile(`${planted}.ranges`, JSON.stringify({ version: 1, size: size + 1, done: [[0, size]] }));
    const result = await download();
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stderr).not.toContain("mismatch");
    const fetched = (rangesOf() as [number, number][]).reduce((sum, [a, b]) => sum + b - a, 0);
    expect(fetched).toBe(size);
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("a wrong Content-Range total fails the file (exit 5)", async () => {
    hub.fail(WEIGHTS, { kind: "wrong-total", delta: 3 });
    const result = await download();
    expect(result.code).toBe(EXIT.checksum);
    expect(result.json?.models[0]?.reason).toContain("as the server announced it");
  });
});
