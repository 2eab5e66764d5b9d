/**
 * Part (r) of `npm run bench:downloader` (issue 14): the downloader beside the tools users would
 * pick instead, in one run, on the same loopback fake hub:
 *  - one 512 MiB LFS file, each connection capped (BENCH_CAP_MBPS, default 40 MB/s, a CDN's limit):
 *    curl, aria2c -x8 -s8, huggingface_hub's hf_hub_download, model-cache;
 *  - a repo of 64 × 4 MiB files + config.json, uncapped: huggingface_hub's snapshot_download, model-cache;
 *  - one 512 MiB file, uncapped (CPU-bound on 2 cores): curl, aria2c, model-cache;
 *  - peak RSS of model-cache for a 4 GiB file.
 * aria2c is Debian's `aria2` (apt-get install aria2). huggingface_hub is not a dependency: point
 * HF_HUB_SRC at its `src/` folder (it runs on Debian's python3-httpx, -filelock, -fsspec, -yaml,
 * -tqdm, -packaging); a tool that is missing is reported as skipped.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Manifest } from "../components/core/manifest.js";
import type { Body, FakeHub } from "../tests/downloader/support/hub-server.js";

const MIB = 1024 ** 2;

interface Timed {
  seconds: number;
  code: number;
  peakRss: number;
  stderr: string;
}

export interface BenchTools {
  timed: (command: string, args: string[], env?: Record<string, string>) => Promise<Timed>;
  must: (run: Promise<Timed>, what: string) => Promise<Timed>;
  servedFile: (path: string, size: number, head: string) => Promise<Exclude<Body, Buffer>>;
  downloadCmd: (manifest: string, cache: string, endpoint: string, extra?: string[], env?: Record<string, string>) => Promise<Timed>;
  syncDisk: () => Promise<void>;
  median: (values: number[]) => number;
  commit: string;
  runs: number;
}

function available(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

const PYTHON = process.env.BENCH_PYTHON ?? "/usr/bin/python3";
/** Extra flags for model-cache (experiments: BENCH_OURS_ARGS="--concurrency 8"); the defaults are what is reported. */
const OURS_ARGS = (process.env.BENCH_OURS_ARGS ?? "").split(" ").filter(Boolean);

export async function benchSideBySide(work: string, hub: FakeHub, lines: string[], t: BenchTools): Promise<void> {
  const cap = Number(process.env.BENCH_CAP_MBPS ?? 40) * 1e6;
  const hasAria = available("aria2c", ["--version"]);
  const hfSrc = process.env.HF_HUB_SRC;
  const hasHf = !!hfSrc && checkHf(hfSrc);
  const hfEnv = (cache: string): Record<string, string> => ({
    PYTHONPATH: hfSrc ?? "",
    HF_ENDPOINT: hub.endpoint,
    HF_HUB_CACHE: cache,
    HF_HUB_DISABLE_XET: "1",
    HF_HUB_DISABLE_TELEMETRY: "1",
    HF_HUB_DISABLE_PROGRESS_BARS: "1",
    HF_HUB_ETAG_TIMEOUT: "60",
    HF_HUB_DOWNLOAD_TIMEOUT: "60",
  });

  // The big file.
  const big = await t.servedFile(join(work, "serve", "big.bin"), 512 * MIB, "big-512");
  const bigRepo = "bench/big";
  hub.addRepo(bigRepo, t.commit, [{ path: "model.safetensors", data: big, lfs: true }]);
  const bigManifest = await writeHubManifest(join(work, "big.json"), "big", bigRepo, t.commit, [
    { path: "model.safetensors", size: big.size, sha256: big.sha256 },
  ]);
  const bigUrl = `${hub.endpoint}/${bigRepo}/resolve/${t.commit}/model.safetensors`;

  const fresh = async (dir: string) => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await t.syncDisk();
  };
  const curl = async () => {
    const out = join(work, "out-curl");
    await fresh(out);
    const run = await t.must(t.timed("curl", ["-sSfL", "-o", join(out, "f"), bigUrl]), "curl");
    await rm(out, { recursive: true, force: true });
    return run.seconds;
  };
  const aria = async () => {
    const out = join(work, "out-aria");
    await fresh(out);
    const run = await t.must(
      t.timed("aria2c", ["-q", "-x8", "-s8", "--file-allocation=none", "--allow-overwrite=true", "-d", out, "-o", "f", bigUrl]),
      "aria2c",
    );
    await rm(out, { recursive: true, force: true });
    return run.seconds;
  };
  const hfOne = async () => {
    const cache = join(work, "cache-hf");
    await fresh(cache);
    const script = `from huggingface_hub import hf_hub_download\nhf_hub_download(${JSON.stringify(bigRepo)}, "model.safetensors", revision=${JSON.stringify(t.commit)})`;
    const run = await t.must(t.timed(PYTHON, ["-c", script], hfEnv(cache)), "hf_hub_download");
    await rm(cache, { recursive: true, force: true });
    return run.seconds;
  };
  let peakRss = 0;
  const ours = async (manifest: string) => {
    const cache = join(work, "cache-ours");
    await fresh(cache);
    const run = await t.must(t.downloadCmd(manifest, cache, hub.endpoint, OURS_ARGS), "model-cache download");
    peakRss = Math.max(peakRss, run.peakRss);
    await rm(cache, { recursive: true, force: true });
    return run.seconds;
  };
  const repeat = async (n: number, f: () => Promise<number>) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await f());
    return t.median(out);
  };
  const s = (x: number | undefined) => (x === undefined ? "skipped" : `${x.toFixed(2)} s`);
  const ratio = (a: number, b: number | undefined) => (b === undefined ? "n/a" : `${(a / b).toFixed(2)}×`);

  // 1. capped: single-connection tools once (their time is the cap's), the splitting ones RUNS times.
  hub.bytesPerSecondPerConnection = cap;
  const capped = {
    curl: await curl(),
    aria: hasAria ? await repeat(t.runs, aria) : undefined,
    hf: hasHf ? await hfOne() : undefined,
    ours: await repeat(t.runs, () => ours(bigManifest)),
  };
  hub.bytesPerSecondPerConnection = undefined;

  // 2. many files.
  const manyRepo = "bench/many";
  const manyFiles: { path: string; data: Exclude<Body, Buffer> }[] = [];
  for (let i = 0; i < 64; i++) {
    manyFiles.push({
      path: `shard-${String(i).padStart(2, "0")}.bin`,
      data: await t.servedFile(join(work, "serve", `many-${i}.bin`), 4 * MIB, `many-${i}`),
    });
  }
  const config = Buffer.from(JSON.stringify({ model_type: "bench" }));
  hub.addRepo(manyRepo, t.commit, [
    { path: "config.json", data: config, lfs: false },
    ...manyFiles.map((f) => ({ path: f.path, data: f.data, lfs: true })),
  ]);
  const manyManifest = await writeHubManifest(join(work, "many.json"), "many", manyRepo, t.commit, [
    { path: "config.json", size: config.length, sha256: createHash("sha256").update(config).digest("hex") },
    ...manyFiles.map((f) => ({ path: f.path, size: f.data.size, sha256: f.data.sha256 })),
  ]);
  const hfMany = async () => {
    const cache = join(work, "cache-hf");
    await fresh(cache);
    const script = `from huggingface_hub import snapshot_download\nsnapshot_download(${JSON.stringify(manyRepo)}, revision=${JSON.stringify(t.commit)})`;
    const run = await t.must(t.timed(PYTHON, ["-c", script], hfEnv(cache)), "snapshot_download");
    await rm(cache, { recursive: true, force: true });
    return run.seconds;
  };
  const many = {
    hf: hasHf ? await repeat(t.runs, hfMany) : undefined,
    ours: await repeat(t.runs, () => ours(manyManifest)),
  };

  // 3. uncapped single file.
  const uncapped = {
    curl: await repeat(t.runs, curl),
    aria: hasAria ? await repeat(t.runs, aria) : undefined,
    ours: await repeat(t.runs, () => ours(bigManifest)),
  };
  await rm(join(work, "serve"), { recursive: true, force: true });

  // 4. peak RSS for 4 GiB.
  const huge = await t.servedFile(join(work, "serve", "huge.bin"), 4096 * MIB, "huge-4g");
  hub.addRepo("bench/huge", t.commit, [{ path: "model.safetensors", data: huge, lfs: true }]);
  const hugeManifest = await writeHubManifest(join(work, "huge.json"), "huge", "bench/huge", t.commit, [
    { path: "model.safetensors", size: huge.size, sha256: huge.sha256 },
  ]);
  peakRss = 0;
  const hugeSeconds = await ours(hugeManifest);
  const hugeRss = peakRss;
  await rm(join(work, "serve"), { recursive: true, force: true });

  lines.push(
    "(r) side by side (medians; curl and hf_hub_download once in the capped case, where the cap sets their time):",
    "| case | curl | aria2c -x8 -s8 | huggingface_hub | model-cache | goal |",
    "| --- | --- | --- | --- | --- | --- |",
    `| one 512 MiB LFS file, ${cap / 1e6} MB/s per connection | ${s(capped.curl)} | ${s(capped.aria)} | ${s(capped.hf)} | ${s(capped.ours)} (${ratio(capped.ours, capped.aria)} aria2c) | ≤ 1.1× aria2c |`,
    `| 64 × 4 MiB files + config, uncapped | — | — | ${s(many.hf)} | ${s(many.ours)} (${ratio(many.ours, many.hf)} huggingface_hub) | ≤ 0.8× huggingface_hub |`,
    `| one 512 MiB file, uncapped | ${s(uncapped.curl)} | ${s(uncapped.aria)} | — | ${s(uncapped.ours)} (${ratio(uncapped.ours, uncapped.curl)} curl) | ≤ 1.3× curl |`,
    `(r) one 4 GiB file, uncapped: model-cache ${s(hugeSeconds)}, peak RSS ${(hugeRss / MIB).toFixed(0)} MiB (goal ≤ 128 MiB)`,
  );
}

/** A manifest of one hub model pinned at `commit`, written to `path` (returned). */
async function writeHubManifest(
  path: string,
  id: string,
  repo: string,
  commit: string,
  files: { path: string; size: number; sha256: string }[],
): Promise<string> {
  const manifest: Manifest = { version: 1, models: [{ id, kind: "huggingface", repo, revision: commit, refs: ["main"], files }] };
  await writeFile(path, JSON.stringify(manifest));
  return path;
}

function checkHf(src: string): boolean {
  return (
    spawnSync(PYTHON, ["-c", "import huggingface_hub"], { stdio: "ignore", env: { PYTHONPATH: src, PATH: process.env.PATH ?? "" } })
      .status === 0
  );
}
