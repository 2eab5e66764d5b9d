/**
 * `npm run bench:downloader`: figures for the downloader on a loopback fake hub. Prints, asserts nothing.
 *  (a) one 1 GiB LFS file: `model-cache download` vs `curl -L -o` of the same resolve URL (ratio of medians),
 *      uncapped (CPU-bound on loopback) and with the server capped at 200 MB/s (network-bound);
 *  (b) 8 × 128 MiB files: parallel download vs one sequential curl, uncapped and with a per-connection cap;
 *  (c) a synthetic cache shaped like the seed's set (sparse files): warm `download` and `verify`, and
 *      `verify --deep` throughput vs `sha256sum`;
 *  (d) peak RSS of the downloader while it fetches the 1 GiB file.
 * Everything lives in one os.tmpdir() folder, removed at the end; the whole run takes a few minutes.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { BUILTIN_CATALOG } from "../components/core/catalog/models.js";
import { hubRepoFolder } from "../components/core/contract.js";
import type { Manifest } from "../components/core/manifest.js";
import { type Body, FakeHub } from "../tests/downloader/support/hub-server.js";
import { benchSideBySide } from "./side-by-side.js";

const REPO_ROOT = resolve(__dirname, "..");
const BIN = join(REPO_ROOT, "downloader", "bin", "model-cache.js");
const COMMIT = "b".repeat(40);
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** (a)'s network-bound line: one connection capped like a CDN's. */
const CAPPED_RATE = 200e6;
/** Which parts to run: BENCH_PARTS=a,b,c,r (a includes d; r: side by side with curl, aria2c, huggingface_hub). */
const PARTS = new Set((process.env.BENCH_PARTS ?? "a,b,c,r").split(","));

interface Timed {
  seconds: number;
  code: number;
  peakRss: number;
  stderr: string;
}

/** Run a process; wall time, exit code and peak RSS (VmHWM, sampled from /proc while it runs). */
function timed(command: string, args: string[], env: Record<string, string> = {}): Promise<Timed> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let peakRss = 0;
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const sample = async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, "utf8");
        const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peakRss = Math.max(peakRss, kb * 1024);
      } catch {
        // Exited between two samples.
      }
    };
    const timer = setInterval(sample, 10);
    child.on("error", fail);
    child.on("close", (code) => {
      clearInterval(timer);
      done({ seconds: (performance.now() - started) / 1000, code: code ?? -1, peakRss, stderr });
    });
  });
}

async function must(run: Promise<Timed>, what: string): Promise<Timed> {
  const result = await run;
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}:\n${result.stderr.split("\n").slice(-15).join("\n")}`);
  return result;
}

async function syncDisk(): Promise<void> {
  await timed("sync", []);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A sparse file of `size` bytes whose first bytes are `head` (so equal sizes still differ). */
async function sparseFile(path: string, size: number, head = ""): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, "w");
  if (head) await handle.write(Buffer.from(head), 0, Buffer.byteLength(head), 0);
  await handle.truncate(size);
  await handle.close();
}

async function digestsOfFile(path: string, size: number): Promise<{ sha256: string; gitSha1: string }> {
  const sha256 = createHash("sha256");
  const sha1 = createHash("sha1").update(`blob ${size}\0`);
  const handle = await open(path, "r");
  const buffer = Buffer.allocUnsafe(4 * MIB);
  for (let position = 0; position < size; ) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    sha256.update(buffer.subarray(0, bytesRead));
    sha1.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  await handle.close();
  return { sha256: sha256.digest("hex"), gitSha1: sha1.digest("hex") };
}

async function servedFile(path: string, size: number, head: string): Promise<Exclude<Body, Buffer>> {
  await sparseFile(path, size, head);
  return { path, size, ...(await digestsOfFile(path, size)) };
}

const fmt = {
  s: (seconds: number) => `${seconds.toFixed(seconds < 1 ? 3 : 2)} s`,
  mbs: (bytes: number, seconds: number) => `${(bytes / 1e6 / seconds).toFixed(0)} MB/s`,
  mib: (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`,
};

async function downloadCmd(manifest: string, cache: string, endpoint: string, extra: string[] = [], env: Record<string, string> = {}) {
  return timed(process.execPath, [BIN, "download", "-m", manifest, "-c", cache, "--progress", "none", ...extra], {
    HF_ENDPOINT: endpoint,
    ...env,
  });
}

async function benchOneFile(work: string, hub: FakeHub, lines: string[]): Promise<void> {
  const body = await servedFile(join(work, "serve", "one.bin"), GIB, "one-gib");
  const repo = "bench/one-gib";
  hub.addRepo(repo, COMMIT, [{ path: "model.safetensors", data: body, lfs: true }]);
  const manifest: Manifest = {
    version: 1,
    models: [
      {
        id: "one-gib",
        kind: "huggingface",
        repo,
        revision: COMMIT,
        refs: ["main"],
        files: [{ path: "model.safetensors", size: GIB, sha256: body.sha256 }],
      },
    ],
  };
  const manifestFile = join(work, "one.json");
  await writeFile(manifestFile, JSON.stringify(manifest));
  const url = `${hub.endpoint}/${repo}/resolve/${COMMIT}/model.safetensors`;
  const curl: number[] = [];
  const ours: number[] = [];
  const oursNoFsync: number[] = [];
  let peakRss = 0;
  const runCurl = async (into: number[]) => {
    const out = join(work, "curl-one");
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    await syncDisk();
    into.push((await must(timed("curl", ["-sSfL", "-o", join(out, "model.safetensors"), url]), "curl")).seconds);
    await rm(out, { recursive: true, force: true });
  };
  const runOurs = async (into: number[], extra: string[], env: Record<string, string> = {}) => {
    const cache = join(work, "cache-one");
    await rm(cache, { recursive: true, force: true });
    await syncDisk();
    const run = await must(downloadCmd(manifestFile, cache, hub.endpoint, extra, env), "model-cache download (1 GiB)");
    into.push(run.seconds);
    peakRss = Math.max(peakRss, run.peakRss);
    await rm(cache, { recursive: true, force: true });
  };
  for (let i = 0; i < RUNS; i++) {
    // Same server, same (page-cached) source file; curl goes first on even runs and last on odd ones.
    if (i % 2 === 0) await runCurl(curl);
    await runOurs(ours, []);
    await runOurs(oursNoFsync, ["--no-fsync"]);
    if (i % 2 === 1) await runCurl(curl);
  }
  lines.push(
    `(a) 1 GiB file, median of ${RUNS}: curl -L -o ${fmt.s(median(curl))} (${fmt.mbs(GIB, median(curl))}); ` +
      `model-cache download ${fmt.s(median(ours))} (${fmt.mbs(GIB, median(ours))}, fsync on) → ratio ${(median(ours) / median(curl)).toFixed(2)}×; ` +
      `with --no-fsync ${fmt.s(median(oursNoFsync))} → ${(median(oursNoFsync) / median(curl)).toFixed(2)}×` +
      `  [curl runs: ${curl.map((s) => s.toFixed(2)).join(", ")}; ours: ${ours.map((s) => s.toFixed(2)).join(", ")}]`,
  );
  // The same file with the server capped like one CDN connection: what the ratio is when the network, not the CPU, is the limit.
  hub.bytesPerSecondPerConnection = CAPPED_RATE;
  const curlCapped: number[] = [];
  const oursCapped: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await runCurl(curlCapped);
    await runOurs(oursCapped, []);
  }
  hub.bytesPerSecondPerConnection = undefined;
  lines.push(
    `(a) the same, server capped at ${CAPPED_RATE / 1e6} MB/s per connection: curl ${fmt.s(median(curlCapped))}, ` +
      `model-cache (fsync on) ${fmt.s(median(oursCapped))} → ratio ${(median(oursCapped) / median(curlCapped)).toFixed(2)}×`,
  );
  lines.push(`(d) peak RSS of model-cache while fetching the 1 GiB file: ${fmt.mib(peakRss)}`);
}

async function benchEightFiles(work: string, hub: FakeHub, lines: string[]): Promise<void> {
  const repo = "bench/eight";
  const bodies: Exclude<Body, Buffer>[] = [];
  for (let i = 0; i < 8; i++) bodies.push(await servedFile(join(work, "serve", `part-${i}.bin`), 128 * MIB, `part-${i}`));
  hub.addRepo(
    repo,
    COMMIT,
    bodies.map((data, i) => ({ path: `model-0000${i}-of-00008.safetensors`, data, lfs: true })),
  );
  const files = bodies.map((b, i) => ({
    path: `model-0000${i}-of-00008.safetensors`,
    size: 128 * MIB,
    sha256: (b as { sha256: string }).sha256,
  }));
  const manifest: Manifest = { version: 1, models: [{ id: "eight", kind: "huggingface", repo, revision: COMMIT, refs: ["main"], files }] };
  const manifestFile = join(work, "eight.json");
  await writeFile(manifestFile, JSON.stringify(manifest));

  for (const cap of [undefined, 100e6]) {
    hub.bytesPerSecondPerConnection = cap;
    const out = join(work, "curl-eight");
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    await syncDisk();
    const curlArgs = ["-sSfL", ...files.flatMap((f) => ["-o", join(out, f.path), `${hub.endpoint}/${repo}/resolve/${COMMIT}/${f.path}`])];
    const curl = await must(timed("curl", curlArgs), "curl (8 files)");
    await rm(out, { recursive: true, force: true });
    const cache = join(work, "cache-eight");
    await rm(cache, { recursive: true, force: true });
    await syncDisk();
    const ours = await must(downloadCmd(manifestFile, cache, hub.endpoint, ["--concurrency", "8"]), "model-cache download (8 files)");
    await rm(cache, { recursive: true, force: true });
    lines.push(
      `(b) 8 × 128 MiB${cap ? `, server capped at ${cap / 1e6} MB/s per connection` : ", uncapped loopback"}: sequential curl ${fmt.s(curl.seconds)}, ` +
        `model-cache --concurrency 8 ${fmt.s(ours.seconds)} → ${(curl.seconds / ours.seconds).toFixed(2)}× faster`,
    );
  }
  hub.bytesPerSecondPerConnection = undefined;
}

/** The seed's model set (whisper-medium, siglip-so400m, bge-m3, yunet) laid out as sparse files. */
async function benchSeedCache(work: string, lines: string[]): Promise<void> {
  const cache = join(work, "seed-cache");
  const models: Manifest["models"] = [];
  const allFiles: string[] = [];
  let total = 0;
  const lfsLike = (path: string, size: number) => size > 1_000_000 || /\.(safetensors|bin|pt|model)$/.test(path);
  for (const id of ["whisper-medium", "siglip-so400m", "bge-m3", "yunet"]) {
    const entry = BUILTIN_CATALOG.find((e) => e.id === id);
    if (!entry) throw new Error(`catalog has no ${id}`);
    if (entry.kind === "huggingface") {
      const repoDir = join(cache, hubRepoFolder(entry.repo));
      const files = [];
      for (const file of entry.files) {
        // siglip's catalog entry has no sizes: the public file sizes, rounded.
        const size = file.size ?? SIGLIP_SIZES[file.path] ?? 1000;
        const staging = join(work, "staging", entry.id, file.path);
        await sparseFile(staging, size, `${entry.id}/${file.path}`);
        const digests = await digestsOfFile(staging, size);
        const lfs = lfsLike(file.path, size);
        const etag = lfs ? digests.sha256 : digests.gitSha1;
        const blob = join(repoDir, "blobs", etag);
        await mkdir(dirname(blob), { recursive: true });
        await rm(blob, { force: true });
        await sparseFile(blob, size, `${entry.id}/${file.path}`);
        const pointer = join(repoDir, "snapshots", entry.revision, file.path);
        await mkdir(dirname(pointer), { recursive: true });
        await symlink(relative(dirname(pointer), blob), pointer);
        files.push(lfs ? { path: file.path, size, sha256: digests.sha256 } : { path: file.path, size, gitSha1: digests.gitSha1 });
        allFiles.push(blob);
        total += size;
      }
      await mkdir(join(repoDir, "refs"), { recursive: true });
      await writeFile(join(repoDir, "refs", "main"), entry.revision);
      models.push({ id: entry.id, kind: "huggingface", repo: entry.repo, revision: entry.revision, refs: ["main"], files });
    } else {
      const size = entry.size ?? 0;
      const path = entry.kind === "whisper" ? join(cache, "whisper", `${entry.name}.pt`) : join(cache, entry.path);
      await sparseFile(path, size, entry.id);
      const { sha256 } = await digestsOfFile(path, size);
      allFiles.push(path);
      total += size;
      models.push(
        entry.kind === "whisper"
          ? { id: entry.id, kind: "whisper", name: entry.name, url: entry.url, size, sha256 }
          : { id: entry.id, kind: "file", path: entry.path, url: entry.url, size, sha256 },
      );
    }
  }
  await rm(join(work, "staging"), { recursive: true, force: true });
  const manifestFile = join(work, "seed.json");
  await writeFile(manifestFile, JSON.stringify({ version: 1, models } satisfies Manifest));
  const fileCount = models.reduce((n, m) => n + (m.kind === "huggingface" ? m.files.length : 1), 0);
  // A closed port: any request would fail the run, so success proves the warm path made none.
  const offline = "http://127.0.0.1:9";

  const adopt = await must(downloadCmd(manifestFile, cache, offline), "first download on the synthetic cache");
  const warmDownload: number[] = [];
  const warmVerify: number[] = [];
  for (let i = 0; i < 7; i++) {
    warmDownload.push((await must(downloadCmd(manifestFile, cache, offline), "warm download")).seconds);
    warmVerify.push((await must(timed(process.execPath, [BIN, "verify", "-m", manifestFile, "-c", cache]), "verify")).seconds);
  }
  const node = await must(timed(process.execPath, ["-e", "0"]), "node -e 0");
  const deep = await must(
    timed(process.execPath, [BIN, "verify", "--deep", "-m", manifestFile, "-c", cache, "--progress", "none"]),
    "verify --deep",
  );
  const sha = await must(timed("sha256sum", allFiles), "sha256sum");
  lines.push(
    `(c) synthetic seed cache: ${models.length} models, ${fileCount} files, ${(total / 1e9).toFixed(2)} GB (sparse). ` +
      `First download on it (no records yet: hashes every byte locally, 0 requests) ${fmt.s(adopt.seconds)}.`,
  );
  lines.push(
    `(c) warm download, median of 7: ${fmt.s(median(warmDownload))} (max ${fmt.s(Math.max(...warmDownload))}); ` +
      `verify: ${fmt.s(median(warmVerify))} (max ${fmt.s(Math.max(...warmVerify))}); for scale, \`node -e 0\` takes ${fmt.s(node.seconds)} here`,
  );
  lines.push(
    `(c) verify --deep ${fmt.s(deep.seconds)} (${fmt.mbs(total, deep.seconds)}) vs sha256sum ${fmt.s(sha.seconds)} (${fmt.mbs(total, sha.seconds)}) → ` +
      `${(sha.seconds / deep.seconds).toFixed(2)}× sha256sum's throughput`,
  );
}

/** google/siglip-so400m-patch14-384 file sizes (the catalog pins no sizes for it). */
const SIGLIP_SIZES: Record<string, number> = {
  "config.json": 576,
  "model.safetensors": 3_511_950_336,
  "preprocessor_config.json": 368,
  "special_tokens_map.json": 409,
  "spiece.model": 798_330,
  "tokenizer_config.json": 711,
};

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "model-cache-bench-"));
  const hub = await FakeHub.start();
  const lines: string[] = [];
  const started = performance.now();
  try {
    const load = () => loadavg()[0]!.toFixed(2);
    console.log(`model-cache downloader bench (node ${process.version}, ${RUNS} runs where repeated), work dir ${work}, load ${load()}`);
    if (PARTS.has("a")) {
      await benchOneFile(work, hub, lines);
      console.log(lines.slice(-3).join("\n"));
    }
    if (PARTS.has("b")) {
      await benchEightFiles(work, hub, lines);
      console.log(lines.slice(-2).join("\n"));
    }
    await rm(join(work, "serve"), { recursive: true, force: true });
    if (PARTS.has("r")) {
      const before = lines.length;
      await benchSideBySide(work, hub, lines, { timed, must, servedFile, downloadCmd, syncDisk, median, commit: COMMIT, runs: RUNS });
      console.log(`${lines.slice(before).join("\n")}\nload ${load()}`);
    }
    if (PARTS.has("c")) {
      await benchSeedCache(work, lines);
      console.log(lines.slice(-3).join("\n"));
    }
    lines.push(`1-minute load average at the end: ${load()} (2 vCPUs)`);
  } finally {
    await hub.close();
    await rm(work, { recursive: true, force: true });
  }
  console.log(`\nSummary (${((performance.now() - started) / 1000).toFixed(0)} s):\n${lines.map((l) => `- ${l}`).join("\n")}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
