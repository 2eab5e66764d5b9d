/**
 * Real processes: kill -9 then resume, a downloader frozen past the stale-lock time, two
 * downloaders on one cache, a cache this user cannot write. Every wait is on an event (a file's
 * size, a log line, the fake hub's state), bounded generously, never on a wall-clock guess.
 */
import { chmod, mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { hubRepoFolder } from "../../components/core/contract.js";
import { EXIT } from "../../downloader/src/exit-codes.js";
import { collect, runCli, spawnCli, waitFor, watchStderr } from "./support/cli.js";
import { COMMIT, type Fixture, REPO } from "./support/fixtures.js";
import type { FakeHub } from "./support/hub-server.js";
import { type HubSession, useHubSession } from "./support/session.js";

const WEIGHTS_SIZE = 8 * 1024 * 1024;
const WEIGHTS = `${REPO}/model.safetensors`;

const session = useHubSession({ fixture: { weightsSize: WEIGHTS_SIZE }, env: { MODEL_CACHE_LOCK_STALE_MS: "2000" } });
let hub: FakeHub;
let fixture: Fixture;
let dir: HubSession["dir"];
let cache: string;
let manifestFile: string;
let env: Record<string, string>;

beforeEach(async () => {
  ({ hub, fixture, dir, cache, manifestFile, env } = session);
  hub.throttle = undefined;
});

const blobsDir = () => join(cache, hubRepoFolder(REPO), "blobs");
const args = () => ["download", "-m", manifestFile, "-c", cache, "--progress", "lines", "--progress-interval", "0.2", "--backoff", "5"];

async function partials(): Promise<{ name: string; size: number }[]> {
  const names = await readdir(blobsDir()).catch(() => [] as string[]);
  const out = [];
  for (const name of names.filter((n) => n.endsWith(".incomplete"))) {
    out.push({ name, size: (await stat(join(blobsDir(), name)).catch(() => ({ size: 0 }))).size });
  }
  return out;
}

describe("kill -9 in the middle of a download", () => {
  it("leaves only blobs/<etag>.<random>.incomplete, and the next run resumes it with Range", async () => {
    hub.throttle = { chunkBytes: 64 * 1024, delayMs: 25 };
    const child = spawnCli(args(), env);
    const done = collect(child);
    const etag = fixture.files["model.safetensors"]!.sha256;
    await waitFor(
      async () => (await partials()).some((p) => p.name.startsWith(`${etag}.`) && p.size > 1024 * 1024),
      "1 MiB of the weights",
    );
    child.kill("SIGKILL");
    await done;

    const left = await partials();
    expect(left).toHaveLength(1);
    expect(left[0]!.name).toMatch(new RegExp(`^${etag}\\.[0-9a-f]{16}\\.incomplete$`));
    const keptBytes = left[0]!.size;
    expect(keptBytes).toBeLessThan(WEIGHTS_SIZE);
    // Nothing a consumer reads: no blob under its final name, no snapshot entry, no ref.
    expect(await readdir(blobsDir())).not.toContain(etag);
    await expect(stat(join(cache, hubRepoFolder(REPO), "snapshots", COMMIT, "model.safetensors"))).rejects.toThrow();

    hub.throttle = undefined;
    hub.requests.length = 0;
    const resumed = await runCli([...args(), "--json"], env);
    expect(resumed.code).toBe(0);
    const gets = hub.contentRequests(WEIGHTS);
    expect(gets).toHaveLength(1);
    expect(gets[0]!.range).toBe(`bytes=${keptBytes}-`);
    expect(resumed.stderr).toContain(`resuming at byte ${keptBytes}`);
    expect(resumed.json?.models[0]?.fetchedBytes).toBeLessThan(
      fixture.data["tokenizer/vocab.txt"]!.length + WEIGHTS_SIZE - keptBytes + 10_000,
    );
    expect(await partials()).toEqual([]);
    expect((await runCli(["verify", "--deep", "-m", manifestFile, "-c", cache], env)).code).toBe(0);
  });
});

describe("kill -9 in the middle of a ranged download", () => {
  it("the next run fetches only the ranges the state file does not list", async () => {
    hub.throttle = { chunkBytes: 64 * 1024, delayMs: 100 };
    const ranged = { ...env, MODEL_CACHE_CONNECTIONS: "4" };
    const etag = fixture.files["model.safetensors"]!.sha256;
    const child = spawnCli(args(), ranged);
    const done = collect(child);
    const stateOf = async (): Promise<[number, number][]> => {
      const name = (await readdir(blobsDir()).catch(() => [] as string[])).find((n) => n.startsWith(`${etag}.`) && n.endsWith(".ranges"));
      if (!name) return [];
      try {
        return (JSON.parse(await readFile(join(blobsDir(), name), "utf8")) as { done: [number, number][] }).done;
      } catch {
        return [];
      }
    };
    const bytesIn = (spans: [number, number][]) => spans.reduce((sum, [a, b]) => sum + b - a, 0);
    await waitFor(async () => bytesIn(await stateOf()) >= 1024 * 1024, "a state file listing 1 MiB");
    child.kill("SIGKILL");
    await done;
    const kept = await stateOf();
    expect(bytesIn(kept)).toBeLessThan(WEIGHTS_SIZE);

    hub.throttle = undefined;
    hub.requests.length = 0;
    const resumed = await runCli([...args(), "--json"], ranged);
    expect(resumed.code, resumed.stderr).toBe(0);
    const asked = hub.contentRequests(WEIGHTS).map((r) => {
      const m = /^bytes=(\d+)-(\d+)$/.exec(r.range ?? "");
      if (!m) throw new Error(`not a bounded range: ${r.range}`);
      return [Number(m[1]), Number(m[2]) + 1] as [number, number];
    });
    // Not one byte the state vouched for is asked again; together they make the whole file.
    for (const [a, b] of asked) for (const [c, d] of kept) expect(a >= d || b <= c, `${a}-${b} overlaps ${c}-${d}`).toBe(true);
    expect(bytesIn(asked) + bytesIn(kept)).toBe(WEIGHTS_SIZE);
    expect((await runCli(["verify", "--deep", "-m", manifestFile, "-c", cache], env)).code).toBe(0);
  });
});

describe("SIGTERM", () => {
  it("stops with exit 143, keeps the partial download, releases its locks", async () => {
    hub.throttle = { chunkBytes: 64 * 1024, delayMs: 25 };
    const child = spawnCli(args(), env);
    const done = collect(child);
    await waitFor(async () => (await partials()).some((p) => p.size > 512 * 1024), "512 KiB of the weights");
    child.kill("SIGTERM");
    const result = await done;
    expect(result.code).toBe(EXIT.terminated);
    expect(result.stderr.trimEnd().split("\n").at(-1)).toContain("interrupted by SIGTERM; partial downloads are kept");
    expect((await partials()).length).toBe(1);
    expect(await readdir(join(cache, ".model-cache", "locks"))).toEqual([]);
    hub.throttle = undefined;
    const resumed = await runCli(args(), env);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).not.toContain("another downloader");
    expect(resumed.stderr).toContain("resuming at byte");
  });
});

/** Exit codes of fast and deep verify, and whether the weights on disk are the right bytes: what verify calls OK must be. */
async function whatVerifySays(): Promise<{ fast: number; deep: number; bytesRight: boolean }> {
  const fast = await runCli(["verify", "-m", manifestFile, "-c", cache], env);
  const deep = await runCli(["verify", "--deep", "-m", manifestFile, "-c", cache], env);
  const onDisk = await readFile(join(cache, hubRepoFolder(REPO), "snapshots", COMMIT, "model.safetensors"));
  return { fast: fast.code, deep: deep.code, bytesRight: onDisk.equals(fixture.data["model.safetensors"]!) };
}

describe("a downloader frozen past the stale-lock time (SIGSTOP; a frozen container, a stalled NFS client)", () => {
  it("a second takes over, restarts and is killed; the first wakes up: what verify calls OK is what the file holds", async () => {
    // The old way: the second reused the first's partial in place and truncated it; the first, woken up, wrote on past
    // the hole, renamed it and recorded the digests of its stream: verify said OK over 800 KB of zeros.
    hub.throttle = { chunkBytes: 64 * 1024, delayMs: 25 };
    const etag = fixture.files["model.safetensors"]!.sha256;
    const firstChild = spawnCli(args(), env);
    const first = collect(firstChild);
    await waitFor(
      async () => (await partials()).some((p) => p.name.startsWith(`${etag}.`) && p.size >= 1024 * 1024),
      "1 MiB of the weights",
    );
    firstChild.kill("SIGSTOP");
    try {
      // The second finds the first's lock stale (it cannot refresh it), takes over, and its server ignores the Range:
      // it starts the weights over from byte 0, then stalls after 200 kB, and is killed there.
      let stalled = false;
      // Twice: the resume goes over a range lane first, which sees the 200 and hands the request to node:http.
      const ignoringRange = {
        kind: "stall",
        afterBytes: 200_000,
        stallMs: 120_000,
        ignoreRange: true,
        onStall: () => (stalled = true),
      } as const;
      hub.fail(WEIGHTS, ignoringRange, ignoringRange);
      const secondChild = spawnCli(args(), env);
      const second = collect(secondChild);
      await waitFor(() => stalled, "the second downloader restarting the weights");
      await waitFor(async () => (await partials()).some((p) => p.size === 200_000), "the second's 200 kB on disk");
      secondChild.kill("SIGKILL");
      await second;
    } finally {
      firstChild.kill("SIGCONT");
    }
    hub.throttle = undefined;
    const result = await first;
    expect(result.code, result.stderr).toBe(0);

    expect(await whatVerifySays()).toEqual({ fast: 0, deep: 0, bytesRight: true });
    // And a warm run trusts it without a request.
    hub.requests.length = 0;
    expect((await runCli(args(), env)).code).toBe(0);
    expect(hub.requests).toEqual([]);
  });
});

describe("a downloader frozen in the middle of a ranged download", () => {
  it("a second takes the partial and its state over and is killed; the first wakes up: the cache verifies byte for byte", async () => {
    hub.throttle = { chunkBytes: 64 * 1024, delayMs: 100 };
    const ranged = { ...env, MODEL_CACHE_CONNECTIONS: "4" };
    const etag = fixture.files["model.safetensors"]!.sha256;
    const firstChild = spawnCli(args(), ranged);
    const first = collect(firstChild);
    const stateBytes = async () => {
      let total = 0;
      for (const name of await readdir(blobsDir()).catch(() => [] as string[])) {
        if (!name.startsWith(`${etag}.`) || !name.endsWith(".ranges")) continue;
        const text = await readFile(join(blobsDir(), name), "utf8").catch(() => "");
        try {
          total = Math.max(
            total,
            (JSON.parse(text) as { done: [number, number][] }).done.reduce((n, [a, b]) => n + b - a, 0),
          );
        } catch {
          // Being rewritten.
        }
      }
      return total;
    };
    await waitFor(async () => (await stateBytes()) >= 1024 * 1024, "1 MiB of ranges on record");
    firstChild.kill("SIGSTOP");
    try {
      let stalled = false;
      hub.fail(WEIGHTS, { kind: "stall", afterBytes: 100_000, stallMs: 120_000, onStall: () => (stalled = true) });
      const secondChild = spawnCli(args(), ranged);
      const second = collect(secondChild);
      await waitFor(() => stalled, "the second downloader fetching a range");
      secondChild.kill("SIGKILL");
      await second;
    } finally {
      firstChild.kill("SIGCONT");
    }
    hub.throttle = undefined;
    const result = await first;
    expect(result.code, result.stderr).toBe(0);
    // It noticed (its read-back of the moved-away partial came up short) and started again from what is on disk.
    expect(result.stderr).toContain("another downloader took over the partial download");
    expect(await whatVerifySays()).toEqual({ fast: 0, deep: 0, bytesRight: true });
  });
});

describe("two downloaders on one cache", () => {
  it("both succeed, each blob is fetched once, the cache verifies", async () => {
    // A long stale time: a loaded machine may delay the holder's lock refresh, and a takeover here would be a test artefact.
    const patient = { ...env, MODEL_CACHE_LOCK_STALE_MS: "60000" };
    // The first holds the big blob in the middle of its body until the second is seen waiting for it.
    let stalled = false;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolveGate) => {
      release = resolveGate;
    });
    hub.fail(WEIGHTS, { kind: "stall", afterBytes: 1024 * 1024, stallMs: 120_000, onStall: () => (stalled = true), until: gate });
    const firstChild = spawnCli(args(), patient);
    const first = collect(firstChild);
    await waitFor(() => stalled, "the first downloader in the middle of the weights");
    const secondChild = spawnCli(args(), patient);
    const secondLog = watchStderr(secondChild);
    const second = collect(secondChild);
    await waitFor(
      () => /model\.safetensors: another downloader is fetching blob/.test(secondLog.text()),
      "the second waiting for the first",
    );
    release();
    const results = await Promise.all([first, second]);
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    expect(hub.contentRequests(WEIGHTS)).toHaveLength(1);
    expect(hub.contentRequests("plain/tiny.pt")).toHaveLength(1);
    expect(results.some((r) => r.stderr.includes("another downloader"))).toBe(true);
    expect(await partials()).toEqual([]);
    hub.throttle = undefined;
    expect((await runCli(["verify", "--deep", "-m", manifestFile, "-c", cache], env)).code).toBe(0);
  });
});

describe("a cache directory the downloader cannot write", () => {
  // As root, chmod does not stop writes: run the CLI as the image's uid instead.
  const asUser = process.getuid?.() === 0 ? { uid: 1000, gid: 1000 } : {};

  it("download: exit 6 with a plain message, nothing written", async () => {
    await chmod(dir.path, 0o755);
    await chmod(manifestFile, 0o644);
    await mkdir(cache, { mode: 0o555 });
    await chmod(cache, 0o555);
    const result = await collect(spawnCli(args(), env, asUser));
    expect(result.code).toBe(EXIT.filesystem);
    const last = result.stderr.trimEnd().split("\n").at(-1) ?? "";
    expect(last).toContain("model-cache download: FAILED (exit 6)");
    expect(last).toMatch(/cannot write the cache .*(permission denied|read-only)/);
    expect(await readdir(cache)).toEqual([]);
  });

  it("verify is read-only: it passes on a complete cache it cannot write", async () => {
    expect((await runCli(args(), env)).code).toBe(0);
    await chmod(dir.path, 0o755);
    await chmod(manifestFile, 0o644);
    await chmod(cache, 0o555);
    const result = await collect(spawnCli(["verify", "-m", manifestFile, "-c", cache], env, asUser));
    expect(result.code, result.stderr).toBe(0);
  });
});
