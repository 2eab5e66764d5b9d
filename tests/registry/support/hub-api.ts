/**
 * The fake hub of the downloader tests (tests/downloader/support/hub-server.ts, used as it is)
 * behind a front that adds the hub's JSON API, answering as huggingface.co does:
 * - `GET /api/models/{repo}/revision/{revision}` (revision URL-encoded, `refs%2Fpr%2F1` style):
 *   the model info, its `sha` the commit; 401 RepoNotFound / GatedRepo, 404 RevisionNotFound;
 * - `GET /api/models/{repo}/tree/{revision}?recursive=true&expand=true`: one page of entries,
 *   directories too, `{type, oid, size, path, lfs?: {oid, size, pointerSize}, lastCommit}`
 *   (an LFS file's `oid` is the git sha1 of its pointer file, `size` the file's), the next page
 *   in `Link: <…&cursor=…>; rel="next"`, as huggingface_hub's paginate() follows it.
 * Everything else (resolve, the CDN) is proxied to the fake hub unchanged.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { FakeHub, type HubFileInfo, type HubFileSpec } from "../../downloader/support/hub-server.js";

interface ApiRepo {
  commit: string;
  refs: Set<string>;
  files: HubFileInfo[];
  gatedToken: string | undefined;
}

export interface ApiRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

export class HubWithApi {
  readonly apiRequests: ApiRequest[] = [];
  /** Entries per tree page (the hub pages its listings; small here so that every test paginates). */
  pageSize = 3;
  private readonly repos = new Map<string, ApiRepo>();
  private readonly faults: { pathPrefix: string; status: number; headers: Record<string, string> }[] = [];

  private constructor(
    readonly hub: FakeHub,
    private readonly front: http.Server,
  ) {}

  static async start(): Promise<HubWithApi> {
    const hub = await FakeHub.start();
    let self: HubWithApi | undefined;
    const front = http.createServer((req, res) => self!.handle(req, res));
    self = new HubWithApi(hub, front);
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    return self;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.front.address() as AddressInfo).port}`;
  }

  addRepo(
    repo: string,
    commit: string,
    files: HubFileSpec[],
    options: { branches?: string[]; tags?: string[]; gatedToken?: string } = {},
  ): HubFileInfo[] {
    const refs = [...(options.branches ?? ["main"]), ...(options.tags ?? [])];
    const info = this.hub.addRepo(repo, commit, files, {
      branches: refs,
      ...(options.gatedToken ? { gatedToken: options.gatedToken } : {}),
    });
    this.repos.set(repo, { commit, refs: new Set(refs), files: info, gatedToken: options.gatedToken });
    return info;
  }

  /** The next API request whose path starts with `pathPrefix` gets this status instead (once per call). */
  failApi(pathPrefix: string, status: number, headers: Record<string, string> = {}): void {
    this.faults.push({ pathPrefix, status, headers });
  }

  async close(): Promise<void> {
    this.front.closeAllConnections();
    await new Promise((resolve) => this.front.close(resolve));
    await this.hub.close();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", this.endpoint);
    if (!url.pathname.startsWith("/api/")) return void this.proxy(req, res);
    this.apiRequests.push({ method: req.method ?? "", path: `${url.pathname}${url.search}`, authorization: req.headers.authorization });
    const fault = this.faults.findIndex((f) => url.pathname.startsWith(f.pathPrefix));
    if (fault >= 0) {
      const { status, headers } = this.faults.splice(fault, 1)[0]!;
      return void json(res, status, { error: "fault" }, headers);
    }
    const match = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/.exec(url.pathname);
    if (!match || req.method !== "GET") return void json(res, 404, { error: "Sorry, we can't find the page you are looking for." });
    const [, name, kind, encodedRevision] = match as unknown as [string, string, string, string];
    const revision = decodeURIComponent(encodedRevision);
    const repo = this.repos.get(name);
    const token = req.headers.authorization?.replace(/^Bearer /, "");
    if (!repo) return void json(res, 401, { error: "Repository not found" }, { "x-error-code": "RepoNotFound" });
    if (repo.gatedToken !== undefined && token !== repo.gatedToken) {
      return void json(res, token ? 403 : 401, { error: "Access to this repo is restricted" }, { "x-error-code": "GatedRepo" });
    }
    if (!repo.refs.has(revision) && revision !== repo.commit) {
      return void json(res, 404, { error: `Invalid rev id: ${revision}` }, { "x-error-code": "RevisionNotFound" });
    }
    if (kind === "revision") {
      return void json(res, 200, {
        _id: "0",
        id: name,
        modelId: name,
        sha: repo.commit,
        siblings: repo.files.map((f) => ({ rfilename: f.path })),
      });
    }
    const all = treeEntries(repo);
    const start = url.searchParams.has("cursor") ? Number(Buffer.from(url.searchParams.get("cursor") ?? "", "base64url").toString()) : 0;
    const page = all.slice(start, start + this.pageSize);
    const headers: Record<string, string> = {};
    if (start + this.pageSize < all.length) {
      const next = new URL(url.pathname, this.endpoint);
      next.searchParams.set("recursive", url.searchParams.get("recursive") ?? "false");
      next.searchParams.set("expand", url.searchParams.get("expand") ?? "false");
      next.searchParams.set("cursor", Buffer.from(String(start + this.pageSize)).toString("base64url"));
      headers.link = `<${next.href}>; rel="next"`;
    }
    json(res, 200, page, headers);
  }

  private proxy(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = new URL(req.url ?? "/", this.hub.endpoint);
    const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  }
}

const LAST_COMMIT = { id: "9".repeat(40), title: "Upload", date: "2025-01-01T00:00:00.000Z" };

function treeEntries(repo: ApiRepo): unknown[] {
  const dirs = new Set<string>();
  for (const f of repo.files) {
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  const directories = [...dirs]
    .sort()
    .map((path) => ({ type: "directory", oid: sha1(`tree ${path}`), size: 0, path, lastCommit: LAST_COMMIT }));
  const files = repo.files.map((f) => {
    if (!f.lfs) return { type: "file", oid: f.gitSha1, size: f.size, path: f.path, lastCommit: LAST_COMMIT };
    const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${f.sha256}\nsize ${f.size}\n`;
    return {
      type: "file",
      oid: sha1(`blob ${Buffer.byteLength(pointer)}\0${pointer}`),
      size: f.size,
      path: f.path,
      lfs: { oid: f.sha256, size: f.size, pointerSize: Buffer.byteLength(pointer) },
      lastCommit: LAST_COMMIT,
      securityFileStatus: { status: "safe", avScan: { virusFound: false }, pickleImportScan: null },
    };
  });
  return [...directories, ...files];
}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}
