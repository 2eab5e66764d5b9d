import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { hubRepoFolder } from "../../components/core/contract.js";
import { EXIT } from "../../downloader/src/exit-codes.js";
import { runCli } from "./support/cli.js";
import { COMMIT, type Fixture, REPO } from "./support/fixtures.js";
import type { FakeHub } from "./support/hub-server.js";
import { useHubSession } from "./support/session.js";

const session = useHubSession();
let hub: FakeHub;
let fixture: Fixture;
let cache: string;
let manifestFile: string;
let env: Record<string, string>;
const WEIGHTS = `${REPO}/model.safetensors`;
const CONFIG = `${REPO}/config.json`;

beforeEach(async () => {
  ({ hub, fixture, cache, manifestFile, env } = session);
});

const download = (...extra: string[]) => runCli(["download", "-m", manifestFile, "-c", cache, "--json", ...extra], env);

async function weightsOnDisk(): Promise<Buffer> {
  return readFile(join(cache, hubRepoFolder(REPO), "snapshots", COMMIT, "model.safetensors"));
}

describe("download: faults on the wire", () => {
  it("resumes with a Range request after a connection reset mid-body", async () => {
    hub.fail(WEIGHTS, { kind: "reset", afterBytes: 1_000_000 });
    const result = await download();
    expect(result.code).toBe(0);
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
    const gets = hub.contentRequests(WEIGHTS);
    expect(gets).toHaveLength(2);
    expect(gets[0]!.range).toBeUndefined();
    // Resumed where the bytes stopped (the reset may lose what was in flight, never more than was sent).
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1]!.range ?? "")?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1_000_000);
    expect(result.stderr).toMatch(/retry 1\/5 .* from byte \d+/);
  });

  it.each([
    ["an LFS file (from its CDN URL)", WEIGHTS],
    ["a plain URL", "plain/tiny.pt"],
  ])("%s: a resume the server refuses with 416 starts over instead of failing the file", async (_what, key) => {
    hub.fail(key, { kind: "reset", afterBytes: 300_000 });
    expect((await download("--retries", "0")).code).toBe(EXIT.network); // leaves a partial
    hub.fail(key, { kind: "status", status: 416, headers: { "content-range": "bytes */1" } });
    const result = await download();
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(hub.pendingFaults(key)).toBe(0);
    expect((await runCli(["verify", "--deep", "-m", manifestFile, "-c", cache], env)).code).toBe(EXIT.ok);
  });

  it("resumes after a truncated body (fewer bytes than Content-Length, then FIN)", async () => {
    hub.fail(WEIGHTS, { kind: "truncate", afterBytes: 2_000_000 });
    const result = await download();
    expect(result.code).toBe(0);
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
    expect(hub.contentRequests(WEIGHTS)[1]?.range).toBe("bytes=2000000-");
  });

  it("deletes wrong bytes, downloads once more, and succeeds", async () => {
    hub.fail(WEIGHTS, { kind: "corrupt" });
    const result = await download();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("sha256 mismatch");
    expect(result.stderr).toContain("downloading again (once)");
    expect(hub.contentRequests(WEIGHTS)).toHaveLength(2);
    expect(hub.contentRequests(WEIGHTS)[1]?.range).toBeUndefined();
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("fails with exit 5 naming model, file, expected and actual hash when the bytes are wrong twice", async () => {
    hub.fail(WEIGHTS, { kind: "corrupt" }, { kind: "corrupt" });
    const result = await download();
    expect(result.code).toBe(EXIT.checksum);
    const expected = fixture.files["model.safetensors"]!.sha256;
    const model = result.json?.models.find((m) => m.id === "tiny-model");
    expect(model?.status).toBe("failed");
    expect(model?.reason).toMatch(new RegExp(`tiny-model: model\\.safetensors: sha256 mismatch: expected ${expected}, got [0-9a-f]{64}`));
    // The other models are still fetched and verified.
    expect(result.json?.models.filter((m) => m.status === "downloaded").map((m) => m.id)).toEqual(["whisper-tiny", "yunet"]);
    // The last lines say plainly what failed; nothing half-written is visible.
    const tail = result.stderr.trimEnd().split("\n").slice(-3).join("\n");
    expect(tail).toContain("model-cache download: FAILED (exit 5)");
    expect(tail).toContain("tiny-model");
    const blobs = await readdir(join(cache, hubRepoFolder(REPO), "blobs"));
    expect(blobs).not.toContain(expected);
    expect(blobs.filter((b) => b.endsWith(".incomplete"))).toEqual([]);
    await expect(weightsOnDisk()).rejects.toThrow();
    await expect(readFile(join(cache, hubRepoFolder(REPO), "refs", "main"))).rejects.toThrow();
  });

  it("retries a 500 (content and HEAD) and then succeeds", async () => {
    hub.fail(WEIGHTS, { kind: "status", status: 500 });
    hub.fail(`HEAD ${CONFIG}`, { kind: "status", status: 503, headers: { "retry-after": "0" } });
    const result = await download();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("HTTP 500");
    expect(result.stderr).toContain("HTTP 503");
    expect(hub.pendingFaults(WEIGHTS)).toBe(0);
  });

  it("gives up after --retries with exit 4", async () => {
    hub.fail(WEIGHTS, ...Array.from({ length: 3 }, () => ({ kind: "status" as const, status: 502 })));
    const result = await download("--retries", "2");
    expect(result.code).toBe(EXIT.network);
    expect(result.json?.models[0]?.reason).toContain("gave up after 2 retries");
  });

  it("abandons a stalled body after --timeout and resumes it", async () => {
    // The stall outlasts any plausible run: only the timeout can end it (no wall-clock assertion needed).
    hub.fail(WEIGHTS, { kind: "stall", afterBytes: 500_000, stallMs: 120_000 });
    const result = await download("--timeout", "0.3", "--min-rate", "0");
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("read timeout");
    expect(hub.contentRequests(WEIGHTS)[1]?.range).toBe("bytes=500000-");
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("a body trickling a byte at a time is abandoned below --min-rate, and the retries are bounded (exit 4)", async () => {
    // Each attempt would last 200 bytes x 100 ms without the rate check (far past its 1 s window, however loaded the
    // machine); a byte per 100 ms never trips the idle timeout.
    hub.fail(WEIGHTS, ...Array.from({ length: 2 }, () => ({ kind: "trickle" as const, intervalMs: 100, maxBytes: 200 })));
    const result = await download("--timeout", "1", "--min-rate", "1000", "--retries", "1");
    expect(result.code).toBe(EXIT.network);
    expect(result.json?.models[0]?.reason).toMatch(/below the minimum of 1000 bytes\/s .*gave up after 1 retries/);
    // Abandoned attempts count as failures even though each brought a few bytes.
    expect(hub.contentRequests(WEIGHTS)).toHaveLength(2);
  });

  it("response headers trickling a byte at a time are abandoned after --timeout", async () => {
    // 30 bytes of a ~40-byte head at 500 ms each: it would take 15 s, and never complete.
    hub.fail(WEIGHTS, ...Array.from({ length: 2 }, () => ({ kind: "trickle-head" as const, intervalMs: 500, maxBytes: 30 })));
    const result = await download("--timeout", "1", "--retries", "1");
    expect(result.code).toBe(EXIT.network);
    expect(result.json?.models[0]?.reason).toContain("no complete response head within 1s");
    expect(hub.contentRequests(WEIGHTS)).toHaveLength(2);
  });

  it("one file never takes longer than --max-time, however it trickles", async () => {
    // Fast enough for --min-rate 0 (off) and the idle timeout; 2000 bytes at 20 ms would take 40 s.
    hub.fail(WEIGHTS, { kind: "trickle", intervalMs: 20, maxBytes: 2000 });
    const result = await download("--min-rate", "0", "--max-time", "1");
    expect(result.code).toBe(EXIT.network);
    expect(result.json?.models[0]?.reason).toContain("not complete after 1s (--max-time)");
    // The others are not held up by it.
    expect(result.json?.models.filter((m) => m.status === "downloaded").map((m) => m.id)).toEqual(["whisper-tiny", "yunet"]);
  });

  it("starts over when the server ignores the Range request", async () => {
    hub.fail(WEIGHTS, { kind: "reset", afterBytes: 600_000 }, { kind: "ignore-range" });
    const result = await download();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("ignored the Range request");
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("401: exit 4 naming the repo, the file and HF_TOKEN, without retrying", async () => {
    // Twice: the CDN URL the HEAD gave, then the fresh one the resolve URL redirects to (a refusal may be an expired
    // signature); no more than that.
    hub.fail(WEIGHTS, { kind: "status", status: 401 }, { kind: "status", status: 401 });
    const result = await download();
    expect(result.code).toBe(EXIT.network);
    const reason = result.json?.models[0]?.reason ?? "";
    expect(reason).toContain("HTTP 401");
    expect(reason).toContain(REPO);
    expect(reason).toContain("model.safetensors");
    expect(reason).toContain("HF_TOKEN");
    expect(hub.contentRequests(WEIGHTS)).toHaveLength(2);
  });

  it("a CDN URL that refuses (an expired signature) is asked for afresh through the hub, once, and the download goes on", async () => {
    hub.fail(WEIGHTS, { kind: "status", status: 403 });
    const result = await download();
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(hub.contentRequests(WEIGHTS)).toHaveLength(2);
    const weights = hub.requests.filter((r) => r.path.includes("model.safetensors"));
    expect(weights.map((r) => [r.server, r.method])).toEqual([
      ["hub", "HEAD"],
      ["hub", "GET"],
    ]);
    expect((await weightsOnDisk()).equals(fixture.data["model.safetensors"]!)).toBe(true);
  });

  it("404 on a hub file: exit 4 naming the file and what to check", async () => {
    const manifest = structuredClone(fixture.manifest);
    const model = manifest.models[0]!;
    if (model.kind !== "huggingface") throw new Error("fixture changed");
    model.files.push({ path: "missing.bin", sha256: "0".repeat(64) });
    await writeFile(manifestFile, JSON.stringify(manifest));
    const result = await download();
    expect(result.code).toBe(EXIT.network);
    expect(result.json?.models[0]?.reason).toMatch(
      /HTTP 404 .*missing\.bin.*check that "missing\.bin" exists in acme\/tiny-model at commit/,
    );
  });

  it("404 on a plain URL: exit 4 naming the model's url", async () => {
    hub.fail("plain/tiny.pt", { kind: "status", status: 404 });
    const result = await download();
    expect(result.code).toBe(EXIT.network);
    expect(result.json?.models.find((m) => m.id === "whisper-tiny")?.reason).toContain("check the manifest's url for model whisper-tiny");
  });

  it("an unknown repo (the hub answers 401) fails fast with exit 4", async () => {
    const manifest = {
      version: 1,
      models: [
        { id: "ghost", kind: "huggingface", repo: "acme/ghost", revision: COMMIT, files: [{ path: "a.bin", sha256: "1".repeat(64) }] },
      ],
    };
    await writeFile(manifestFile, JSON.stringify(manifest));
    const result = await download();
    expect(result.code).toBe(EXIT.network);
    expect(result.json?.models[0]?.reason).toContain('check that the repo id "acme/ghost" exists');
  });
});
