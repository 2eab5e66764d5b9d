/**
 * The range lane (downloader/src/range-lane.ts) against real servers: node:http and node:https for
 * what a CDN answers, and a raw TCP server for heads and bodies no well-behaved server sends.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NetworkError } from "../../downloader/src/errors.js";
import { HttpClient } from "../../downloader/src/http.js";
import { type LaneAnswer, lanesAllowed, parseHead, RangeLane } from "../../downloader/src/range-lane.js";

const BODY = randomBytes(3 * 1024 * 1024 + 4321);
const TLS_DIR = join(__dirname, "support", "tls");

let dir: string;
let servers: net.Server[];
let requests: { headers: http.IncomingHttpHeaders; socket: net.Socket }[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "range-lane-"));
  servers = [];
  requests = [];
});
afterEach(async () => {
  for (const server of servers) {
    (server as http.Server).closeAllConnections?.();
    await new Promise((done) => server.close(done));
  }
  await rm(dir, { recursive: true, force: true });
});

/** A server that honours `Range: bytes=a-b` and `bytes=a-` over BODY, as node:http serves it. */
function rangeHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  requests.push({ headers: req.headers, socket: req.socket });
  const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  if (!match) {
    res.writeHead(200, { "content-length": BODY.length });
    res.end(BODY);
    return;
  }
  const start = Number(match[1]);
  const end = match[2] ? Number(match[2]) : BODY.length - 1;
  res.writeHead(206, { "content-length": end - start + 1, "content-range": `bytes ${start}-${end}/${BODY.length}` });
  res.end(BODY.subarray(start, end + 1));
}

async function listen<T extends net.Server>(server: T, host = "127.0.0.1"): Promise<T> {
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, host, done));
  return server;
}

async function httpServer(handler = rangeHandler): Promise<URL> {
  const server = await listen(http.createServer(handler));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/blob?signature=s`);
}

/** A TCP server that answers every request with `answer(requestText)` written as is (then closes, unless told not to). */
async function rawServer(answer: (socket: net.Socket, request: string) => void): Promise<URL> {
  const server = await listen(
    net.createServer((socket) => {
      let text = "";
      socket.on("data", (data) => {
        text += data.toString("latin1");
        if (text.includes("\r\n\r\n")) {
          const request = text;
          text = "";
          answer(socket, request);
        }
      });
      socket.on("error", () => undefined);
    }),
  );
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/blob`);
}

function lane(options: Partial<ConstructorParameters<typeof RangeLane>[0]> = {}): RangeLane {
  return new RangeLane({
    authorizationFor: () => undefined,
    userAgent: "model-cache-test",
    timeoutMs: 2000,
    onRequest: () => undefined,
    ...options,
  });
}

async function fetchInto(
  l: RangeLane,
  url: URL,
  start: number,
  end: number,
  form: "range" | "rest" = "range",
  signal = new AbortController().signal,
): Promise<{ answer: LaneAnswer; file: Buffer; written: number; received: number }> {
  const path = join(dir, `out-${randomBytes(4).toString("hex")}`);
  const handle = await open(path, "w+");
  let written = 0;
  let received = 0;
  try {
    const answer = await l.fetch({
      url,
      start,
      end,
      size: BODY.length,
      sink: { fd: handle.fd, onReceived: (chunk) => (received += chunk.length), onWritten: (bytes) => (written += bytes) },
      signal,
      form,
    });
    return { answer, file: await readFile(path), written, received };
  } finally {
    await handle.close();
  }
}

describe("range lane: what a CDN answers", () => {
  it("a range lands at its offset, byte for byte, larger than the lane's buffers (the socket pauses for the disk)", async () => {
    const url = await httpServer();
    const l = lane();
    const start = 123_457;
    const end = BODY.length - 1000;
    const { answer, file, written } = await fetchInto(l, url, start, end);
    l.close();
    expect(answer).toEqual({ kind: "done" });
    expect(written).toBe(end - start);
    expect(file.subarray(start).equals(BODY.subarray(start, end))).toBe(true);
    expect(requests[0]?.headers.range).toBe(`bytes=${start}-${end - 1}`);
    expect(requests[0]?.headers["accept-encoding"]).toBe("identity");
  });

  it("the whole file is asked for without a Range (a 200 is the answer), the rest of it with an open one", async () => {
    const url = await httpServer();
    const l = lane();
    const whole = await fetchInto(l, url, 0, BODY.length, "rest");
    const rest = await fetchInto(l, url, 1000, BODY.length, "rest");
    l.close();
    expect([whole.answer, rest.answer]).toEqual([{ kind: "done" }, { kind: "done" }]);
    expect(whole.file.equals(BODY)).toBe(true);
    expect(rest.file.subarray(1000).equals(BODY.subarray(1000))).toBe(true);
    expect(requests.map((r) => r.headers.range)).toEqual([undefined, "bytes=1000-"]);
  });

  it("keeps its connection alive across ranges, and across a server that closed it meanwhile", async () => {
    const server = await listen(http.createServer(rangeHandler));
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/blob`);
    const l = lane();
    await fetchInto(l, url, 0, 1000);
    await fetchInto(l, url, 1000, 2000);
    expect(requests[0]?.socket).toBe(requests[1]?.socket);
    // The server closes the idle connection (its keep-alive timeout), as the lane waits between two files.
    const closed = new Promise((done) => requests[1]!.socket.once("close", done));
    requests[1]!.socket.end();
    await closed;
    const again = await fetchInto(l, url, 2000, 3000);
    l.close();
    expect(again.answer).toEqual({ kind: "done" });
    expect(again.file.subarray(2000).equals(BODY.subarray(2000, 3000))).toBe(true);
    expect(requests[2]?.socket).not.toBe(requests[1]?.socket);
  });

  it("moves between origins (hub, CDN, hub) without the closed connection failing the next request", async () => {
    const a = await httpServer();
    const b = new URL((await httpServer()).href.replace("/blob", "/other"));
    const l = lane();
    const answers = [await fetchInto(l, a, 0, 10), await fetchInto(l, b, 10, 20), await fetchInto(l, a, 20, 30)];
    l.close();
    expect(answers.map((x) => x.answer.kind)).toEqual(["done", "done", "done"]);
  });

  it("an error status comes back with its headers (Retry-After), a redirect or a 200 for a range goes to node:http; nothing written", async () => {
    const answers: [number, Record<string, string>][] = [
      [503, { "retry-after": "7", "content-length": "0" }],
      [302, { location: "https://elsewhere.example/x", "content-length": "0" }],
      [200, { "content-length": String(BODY.length) }],
    ];
    const url = await httpServer((req, res) => {
      const [status, headers] = answers[requests.push({ headers: req.headers, socket: req.socket }) - 1]!;
      res.writeHead(status, headers);
      res.end(status === 200 ? BODY : undefined);
    });
    const l = lane();
    const got = [await fetchInto(l, url, 5, 50), await fetchInto(l, url, 5, 50), await fetchInto(l, url, 5, 50)];
    l.close();
    expect(got[0]!.answer).toMatchObject({ kind: "status", status: 503, headers: { "retry-after": "7" } });
    expect(got[1]!.answer).toEqual({ kind: "fallback", reason: "status 302" });
    expect(got[2]!.answer).toEqual({ kind: "fallback", reason: "status 200" });
    expect(got.map((g) => g.written)).toEqual([0, 0, 0]);
  });

  it("a total other than the file's is a wrong size; another range than asked is refused (fetch it again)", async () => {
    const url = await rawServer((socket, request) => {
      const wrongTotal = request.includes("bytes=0-9");
      socket.end(
        wrongTotal
          ? "HTTP/1.1 206 Partial Content\r\ncontent-length: 10\r\ncontent-range: bytes 0-9/999\r\n\r\n0123456789"
          : "HTTP/1.1 206 Partial Content\r\ncontent-length: 10\r\ncontent-range: bytes 0-9/" + BODY.length + "\r\n\r\n0123456789",
      );
    });
    const l = lane();
    expect((await fetchInto(l, url, 0, 10)).answer).toEqual({ kind: "wrong-size", total: "999" });
    const other = fetchInto(l, url, 10, 20);
    await expect(other).rejects.toThrow(/answered bytes 10-19 with another range/);
    await expect(other).rejects.toBeInstanceOf(NetworkError);
    l.close();
  });
});

describe("range lane: hostile answers", () => {
  const head = (...lines: string[]) => `HTTP/1.1 206 Partial Content\r\n${lines.join("\r\n")}\r\n\r\n`;

  it.each([
    ["a folded header", head("content-length: 10", "content-range: bytes 0-9/" + BODY.length, "x-a: b", " folded"), "not plain HTTP/1.1"],
    [
      "two Content-Lengths",
      head("content-length: 10", "content-length: 11", "content-range: bytes 0-9/" + BODY.length),
      "not plain HTTP/1.1",
    ],
    ["a chunked body", head("transfer-encoding: chunked", "content-range: bytes 0-9/" + BODY.length), "a transfer-encoded body"],
    ["no Content-Length", head("content-range: bytes 0-9/" + BODY.length), "no Content-Length"],
    ["HTTP/2 framing", "HTTP/2 206\r\ncontent-length: 10\r\n\r\n", "not plain HTTP/1.1"],
  ])("%s: handed to node:http before a byte is written", async (_name, answer, reason) => {
    const url = await rawServer((socket) => socket.end(`${answer}0123456789`));
    const l = lane();
    const got = await fetchInto(l, url, 0, 10);
    l.close();
    expect(got.answer).toEqual({ kind: "fallback", reason: expect.stringContaining(reason) });
    expect(got.written).toBe(0);
  });

  it("a head split over several reads (the blank line too) is read whole, and the body after it", async () => {
    const full = `${head("content-length: 10", `content-range: bytes 0-9/${BODY.length}`)}0123456789`;
    const cut = full.indexOf("\r\n\r\n") + 2;
    const url = await rawServer((socket) => {
      socket.write(full.slice(0, 20));
      setTimeout(() => socket.write(full.slice(20, cut)), 20);
      setTimeout(() => socket.end(full.slice(cut)), 40);
    });
    const l = lane();
    const got = await fetchInto(l, url, 0, 10);
    l.close();
    expect(got.answer).toEqual({ kind: "done" });
    expect(got.file.toString()).toBe("0123456789");
  });

  it("bytes past the range are dropped and the connection is not used again", async () => {
    let connections = 0;
    const url = await rawServer((socket, request) => {
      if (request.includes("bytes=0-9")) connections++;
      socket.write(`${head("content-length: 10", `content-range: bytes 0-9/${BODY.length}`)}0123456789EXTRA-BYTES`);
    });
    const l = lane();
    const first = await fetchInto(l, url, 0, 10);
    const second = await fetchInto(l, url, 0, 10);
    l.close();
    expect(first.file.toString()).toBe("0123456789");
    expect([first.written, second.written]).toEqual([10, 10]);
    expect(connections).toBe(2);
  });

  it("a body that closes midway: a retryable error once the bytes that came are on disk", async () => {
    const url = await rawServer((socket) =>
      socket.end(`${head("content-length: 1000", `content-range: bytes 0-999/${BODY.length}`)}${"x".repeat(600)}`),
    );
    const l = lane();
    let written = 0;
    const handle = await open(join(dir, "short"), "w+");
    const error = await l
      .fetch({
        url,
        start: 0,
        end: 1000,
        size: BODY.length,
        sink: { fd: handle.fd, onReceived: () => undefined, onWritten: (n) => (written += n) },
        signal: new AbortController().signal,
      })
      .catch((e: unknown) => e);
    await handle.close();
    l.close();
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).retryable).toBe(true);
    expect((error as Error).message).toContain("closed after 600 of 1000 bytes");
    expect(written).toBe(600);
    expect((await readFile(join(dir, "short"))).toString()).toBe("x".repeat(600));
  });

  it("a head that never ends fails within the timeout", async () => {
    const url = await rawServer((socket) => socket.write("HTTP/1.1 206 Partial Content\r\ncontent-length: 10\r\n"));
    const l = lane({ timeoutMs: 300 });
    const started = Date.now();
    await expect(fetchInto(l, url, 0, 10)).rejects.toThrow(/no complete response head within 0.3s/);
    expect(Date.now() - started).toBeLessThan(2000);
    l.close();
  });

  it("an abort stops a body in flight with the abort's reason", async () => {
    const url = await rawServer((socket) =>
      socket.write(`${head("content-length: 1000", `content-range: bytes 0-999/${BODY.length}`)}${"x".repeat(10)}`),
    );
    const l = lane();
    const controller = new AbortController();
    const pending = fetchInto(l, url, 0, 1000, "range", controller.signal);
    setTimeout(() => controller.abort(new NetworkError("not complete after 1s (--max-time)", false)), 100);
    await expect(pending).rejects.toThrow(/--max-time/);
    l.close();
  });

  it("sends the credential it is given, and none with a line break in it (no request at all)", async () => {
    const seen: string[] = [];
    const url = await rawServer((socket, request) => {
      seen.push(request);
      socket.end(`${head("content-length: 1", `content-range: bytes 0-0/${BODY.length}`)}x`);
    });
    await fetchInto(lane({ authorizationFor: () => "Bearer hf_abc" }), url, 0, 1);
    const injected = await fetchInto(lane({ authorizationFor: () => "Bearer hf_abc\r\nX-Evil: 1" }), url, 0, 1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain("\r\nAuthorization: Bearer hf_abc\r\n");
    expect(injected.answer).toEqual({ kind: "fallback", reason: "a credential with a line break" });
  });

  it("parses heads strictly", () => {
    expect(parseHead("HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2")).toMatchObject({
      status: 206,
      keepAlive: true,
      headers: new Map([
        ["content-length", "5"],
        ["x-a", "1, 2"],
      ]),
    });
    expect(parseHead("HTTP/1.1 206 OK\r\nConnection: close")?.keepAlive).toBe(false);
    expect(parseHead("HTTP/1.0 206 OK")?.keepAlive).toBe(false);
    expect(parseHead("HTTP/1.1 206 OK\r\nBad Name: x")).toBeUndefined();
    expect(parseHead("HTTP/1.1 206 OK\r\nX: a\rb")).toBeUndefined();
  });
});

describe("range lane: when it may be used", () => {
  it("the client hands out at most maxSockets lanes at once: the next waits for one back, or for its abort", async () => {
    const client = HttpClient.create({ hubOrigin: "https://hub.example", timeoutMs: 1000, maxSockets: 2, userAgent: "t" });
    const first = await client.lane();
    const second = await client.lane();
    let third: RangeLane | undefined;
    const waiting = client.lane().then((l) => (third = l));
    const aborted = new AbortController();
    const fourth = client.lane(aborted.signal);
    await new Promise((done) => setTimeout(done, 20));
    expect(third).toBeUndefined();
    aborted.abort(new Error("interrupted"));
    await expect(fourth).rejects.toThrow("interrupted");
    client.release(first!);
    await waiting;
    expect(third).toBe(first); // the same lane, its connection kept for the next file
    client.release(second!);
    client.release(third!);
    client.close();
  });

  it("not when node:http is told to use a proxy (the lane would go around it)", () => {
    expect(lanesAllowed({})).toBe(true);
    expect(lanesAllowed({ HTTPS_PROXY: "http://proxy:3128" })).toBe(true);
    expect(lanesAllowed({ HTTPS_PROXY: "http://proxy:3128", NODE_USE_ENV_PROXY: "1" })).toBe(false);
    expect(lanesAllowed({ http_proxy: "http://proxy:3128", NODE_OPTIONS: "--use-env-proxy" })).toBe(false);
  });
});

describe("range lane over TLS", () => {
  const script = (port: number) => `
    const { openSync, readFileSync } = require("node:fs");
    const { createHash } = require("node:crypto");
    const { RangeLane } = require(${JSON.stringify(resolve(__dirname, "../../downloader/src/range-lane.ts"))});
    const lane = new RangeLane({ authorizationFor: () => undefined, userAgent: "t", timeoutMs: 5000, onRequest: () => {} });
    const fd = openSync(process.argv[2], "w+");
    lane.fetch({ url: new URL("https://localhost:${port}/blob"), start: 0, end: ${BODY.length}, size: ${BODY.length}, sink: { fd, onReceived: () => {}, onWritten: () => {} }, signal: new AbortController().signal, form: "rest" })
      .then((answer) => { lane.close(); console.log(JSON.stringify({ answer, sha: createHash("sha256").update(readFileSync(process.argv[2])).digest("hex") })); })
      .catch((error) => { lane.close(); console.log(JSON.stringify({ error: error.message, retryable: error.retryable })); });`;

  it("verifies the server's certificate (NODE_EXTRA_CA_CERTS, as for node:https) and fetches through it", async () => {
    const [key, cert] = await Promise.all([readFile(join(TLS_DIR, "localhost.key")), readFile(join(TLS_DIR, "localhost.crt"))]);
    const server = await listen(https.createServer({ key, cert }, rangeHandler));
    const port = (server.address() as AddressInfo).port;
    const file = join(dir, "tls-script.cjs");
    await writeFile(file, script(port));
    const run = (env: Record<string, string>) =>
      new Promise<string>((done) => {
        // Another process: NODE_EXTRA_CA_CERTS is read when Node starts (and a synchronous spawn would block this server).
        const child = spawn(process.execPath, ["--import", "tsx", file, join(dir, "tls-out")], {
          cwd: resolve(__dirname, "../.."),
          env: { ...process.env, ...env },
        });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d));
        child.stderr.on("data", (d: Buffer) => (out += d));
        child.on("close", () => done(out));
      });
    const trusted = JSON.parse(await run({ NODE_EXTRA_CA_CERTS: join(TLS_DIR, "localhost.crt") }));
    expect(trusted.answer).toEqual({ kind: "done" });
    expect(trusted.sha).toBe(createHash("sha256").update(BODY).digest("hex"));
    const untrusted = JSON.parse(await run({}));
    expect(untrusted.error).toMatch(/self-signed certificate/);
    expect(untrusted.error).toContain("NODE_EXTRA_CA_CERTS");
    expect(untrusted.retryable).toBe(false);
  });
});
