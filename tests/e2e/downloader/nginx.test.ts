/**
 * The downloader against nginx: a real HTTP server, not our fake hub. Range requests over several
 * kept-alive connections, TLS with a certificate the client must verify, `limit_rate` (a CDN's
 * per-connection cap) for a kill -9 in the middle of a ranged download, and `max_ranges 0` (a
 * server that ignores Range). `npm run e2e:downloader` installs nginx-light when it is missing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EXIT } from "../../../downloader/src/exit-codes.js";
import { collect, REPO_ROOT, spawnCli, tempDir, waitFor } from "../../downloader/support/cli.js";

const NGINX = process.env.NGINX ?? "/usr/sbin/nginx";
const TLS_DIR = join(REPO_ROOT, "tests", "downloader", "support", "tls");
const MIB = 1024 * 1024;
const BIG = randomBytes(48 * MIB);
const BIG_SHA = createHash("sha256").update(BIG).digest("hex");

let work: { path: string; cleanup: () => Promise<void> };
let nginx: ChildProcess;
const ports = { plain: 0, capped: 0, noRanges: 0, tls: 0 };

interface Logged {
  port: number;
  request: string;
  status: number;
  range: string;
  bytes: number;
  connection: number;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

async function accessLog(): Promise<Logged[]> {
  const text = await readFile(join(work.path, "access.log"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [port, request, status, range, bytes, connection] = line.split("\t");
      return {
        port: Number(port),
        request: request!,
        status: Number(status),
        range: range!,
        bytes: Number(bytes),
        connection: Number(connection),
      };
    });
}

beforeAll(async () => {
  work = await tempDir("model-cache-nginx-");
  const root = join(work.path, "www");
  await mkdir(root);
  await writeFile(join(root, "big.bin"), BIG);
  for (const key of Object.keys(ports) as (keyof typeof ports)[]) ports[key] = await freePort();
  const config = `
daemon off;
master_process off;
worker_processes 1;
pid ${work.path}/nginx.pid;
error_log ${work.path}/error.log warn;
events { worker_connections 256; }
http {
  log_format lanes '$server_port\t$request\t$status\t$http_range\t$body_bytes_sent\t$connection';
  access_log ${work.path}/access.log lanes;
  client_body_temp_path ${work.path}/body;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 1000;
  server { listen 127.0.0.1:${ports.plain}; root ${root}; }
  # 256 KB/s per request after its first 256 KB (nginx lets a second's worth through at once).
  server { listen 127.0.0.1:${ports.capped}; root ${root}; limit_rate 256k; }
  server { listen 127.0.0.1:${ports.noRanges}; root ${root}; max_ranges 0; }
  server {
    listen 127.0.0.1:${ports.tls} ssl;
    root ${root};
    ssl_certificate ${TLS_DIR}/localhost.crt;
    ssl_certificate_key ${TLS_DIR}/localhost.key;
  }
}
`;
  await writeFile(join(work.path, "nginx.conf"), config);
  nginx = spawn(NGINX, ["-p", work.path, "-e", join(work.path, "error.log"), "-c", join(work.path, "nginx.conf")], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const up = async (port: number) =>
    new Promise<boolean>((done) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        done(true);
      });
      socket.once("error", () => done(false));
    });
  await waitFor(async () => (await Promise.all(Object.values(ports).map(up))).every(Boolean), "nginx listening", 20_000);
});

afterAll(async () => {
  nginx?.kill("SIGTERM");
  await work?.cleanup();
});

let cache: { path: string; cleanup: () => Promise<void> };
beforeEach(async (context) => {
  cache = await tempDir("model-cache-nginx-cache-");
  context.onTestFinished(() => cache.cleanup());
});

async function manifestFor(url: string): Promise<string> {
  const path = join(cache.path, "manifest.json");
  await writeFile(
    path,
    JSON.stringify({ version: 1, models: [{ id: "big", kind: "file", path: "big.bin", url, size: BIG.length, sha256: BIG_SHA }] }),
  );
  return path;
}

function download(manifest: string, env: Record<string, string> = {}): ChildProcess {
  return spawnCli(["download", "-m", manifest, "-c", join(cache.path, "cache"), "--json"], env);
}

async function bytesOnDisk(): Promise<Buffer> {
  return readFile(join(cache.path, "cache", "big.bin"));
}

/** The [start, end) spans of the logged range requests for big.bin on `port`, from `from` on. */
function spansOf(log: Logged[], port: number): [number, number][] {
  return log
    .filter((l) => l.port === port && l.request.includes("/big.bin") && l.status === 206)
    .map((l) => {
      const m = /^bytes=(\d+)-(\d*)$/.exec(l.range);
      const start = Number(m?.[1]);
      return [start, m?.[2] ? Number(m[2]) + 1 : BIG.length] as [number, number];
    });
}

describe("model-cache download against nginx", () => {
  it("splits a large file into ranges over kept-alive connections and gets it byte for byte", async () => {
    const result = await collect(download(await manifestFor(`http://127.0.0.1:${ports.plain}/big.bin`)));
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect((await bytesOnDisk()).equals(BIG)).toBe(true);
    const log = (await accessLog()).filter((l) => l.port === ports.plain);
    const spans = spansOf(log, ports.plain).sort((a, b) => a[0] - b[0]);
    // Every byte asked for exactly once, in ranges nginx answered with 206.
    let at = 0;
    for (const [start, end] of spans) {
      expect(start).toBe(at);
      at = end;
    }
    expect(at).toBe(BIG.length);
    expect(spans.length).toBeGreaterThan(3);
    // More than one connection, and connections that served more than one range.
    const perConnection = new Map<number, number>();
    for (const l of log) perConnection.set(l.connection, (perConnection.get(l.connection) ?? 0) + 1);
    expect(perConnection.size).toBeGreaterThan(1);
    expect([...perConnection.values()].some((n) => n > 1)).toBe(true);
  });

  it("a server that ignores Range (max_ranges 0) gets one stream", async () => {
    const result = await collect(download(await manifestFor(`http://127.0.0.1:${ports.noRanges}/big.bin`)));
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stderr).toContain("does not split it into ranges; one stream");
    expect((await bytesOnDisk()).equals(BIG)).toBe(true);
    const statuses = (await accessLog()).filter((l) => l.port === ports.noRanges).map((l) => l.status);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it("over TLS, verifies nginx's certificate: refused without the CA, downloaded with NODE_EXTRA_CA_CERTS", async () => {
    const manifest = await manifestFor(`https://localhost:${ports.tls}/big.bin`);
    const refused = await collect(download(manifest));
    expect(refused.code).toBe(EXIT.network);
    const reason = refused.json?.models[0]?.reason ?? "";
    expect(reason).toMatch(/self-signed certificate/);
    expect(reason).toContain("NODE_EXTRA_CA_CERTS");
    expect(refused.stderr).not.toMatch(/retry \d/); // no retry helps a certificate nobody vouches for
    const trusted = await collect(download(manifest, { NODE_EXTRA_CA_CERTS: join(TLS_DIR, "localhost.crt") }));
    expect(trusted.code, trusted.stderr).toBe(EXIT.ok);
    expect((await bytesOnDisk()).equals(BIG)).toBe(true);
    expect(spansOf(await accessLog(), ports.tls).length).toBeGreaterThan(3);
  });

  it("kill -9 in the middle of a ranged download from a capped server: the next run fetches only what is missing", async () => {
    const capped = await manifestFor(`http://127.0.0.1:${ports.capped}/big.bin`);
    const env = { MODEL_CACHE_CONNECTIONS: "4" };
    const partials = join(cache.path, "cache", ".model-cache", "partial");
    const recorded = async (): Promise<[number, number][]> => {
      for (const name of await readdir(partials).catch(() => [] as string[])) {
        if (!name.endsWith(".ranges")) continue;
        try {
          return (JSON.parse(await readFile(join(partials, name), "utf8")) as { done: [number, number][] }).done;
        } catch {
          // Being replaced (written atomically, but the name may be gone between readdir and read).
        }
      }
      return [];
    };
    const first = download(capped, env);
    const exited = collect(first);
    // The state file says a few MiB are on disk (it is saved about once a second), while other ranges are in flight.
    await waitFor(async () => (await recorded()).reduce((n, [a, b]) => n + b - a, 0) >= 2 * MIB, "2 MiB of ranges on record", 60_000);
    first.kill("SIGKILL");
    await exited;
    const done = await recorded();
    expect(done.reduce((n, [a, b]) => n + b - a, 0)).toBeLessThan(BIG.length);

    // The next run from an uncapped server (a partial belongs to its path in the cache, whatever the URL).
    const mark = (await accessLog()).length;
    const second = await collect(download(await manifestFor(`http://127.0.0.1:${ports.plain}/big.bin`), env));
    expect(second.code, second.stderr).toBe(EXIT.ok);
    expect(second.stderr).toMatch(/resuming with \d+ of \d+ bytes on disk/);
    expect((await bytesOnDisk()).equals(BIG)).toBe(true);
    // nginx saw requests for the missing bytes only: nothing the state listed was asked for again.
    const again = spansOf((await accessLog()).slice(mark), ports.plain);
    expect(again.filter(([a, b]) => done.some(([c, d]) => a < d && c < b))).toEqual([]);
    expect(again.reduce((n, [a, b]) => n + b - a, 0)).toBe(BIG.length - done.reduce((n, [a, b]) => n + b - a, 0));
  });
});
