/**
 * The hub's JSON API, as huggingface_hub calls it (hf_api.py):
 * - `GET {endpoint}/api/models/{repo}/revision/{quote(revision, safe="")}` → model info, `sha` = the commit;
 * - `GET {endpoint}/api/models/{repo}/tree/{commit}?recursive=true&expand=true` → one page of
 *   entries `{type, path, size, oid, lfs?: {oid, size, pointerSize}}`, the next page's URL in the
 *   `Link: <…>; rel="next"` header (utils/_pagination.py follows it until there is none).
 * Requests go through the downloader's HTTP client (token to the hub origin only) and retry policy.
 */
import LinkHeader from "http-link-header";
import { z } from "zod";
import { COMMIT_RE, SHA1_RE, SHA256_RE } from "../../../components/core/contract.js";
import { NetworkError } from "../errors.js";
import { type HttpClient, type HttpResponse, redact, statusError } from "../http.js";
import { type RetryOptions, withRetries } from "../retry.js";

/** Larger than this is no API answer (a tree page is a few MB at most). */
const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** A repo with more pages than this is not a model repo; stop rather than loop on a broken Link. */
const MAX_PAGES = 10_000;

export interface HubApi {
  http: HttpClient;
  endpoint: string;
  hasToken: boolean;
  retry: RetryOptions;
}

const RevisionInfoSchema = z.object({ sha: z.string().regex(COMMIT_RE, "must be a 40-hex commit") }).passthrough();

export const TreeEntrySchema = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("file"),
      path: z.string().min(1),
      size: z.number().int().nonnegative(),
      oid: z.string().regex(SHA1_RE),
      lfs: z
        .object({ oid: z.string().regex(SHA256_RE), size: z.number().int().nonnegative() })
        .passthrough()
        .optional(),
    })
    .passthrough(),
  z.object({ type: z.literal("directory"), path: z.string() }).passthrough(),
]);
export type TreeEntry = z.infer<typeof TreeEntrySchema>;
export type TreeFile = Extract<TreeEntry, { type: "file" }>;

export function apiUrl(endpoint: string, repo: string, kind: "revision" | "tree", revision: string): URL {
  const base = `${endpoint.replace(/\/+$/, "")}/api/models/${repo}/${kind}/${encodeURIComponent(revision)}`;
  const url = new URL(base);
  if (kind === "tree") {
    url.searchParams.set("recursive", "true");
    url.searchParams.set("expand", "true");
  }
  return url;
}

function hints(api: HubApi, repo: string, revision: string) {
  const token = api.hasToken
    ? "HF_TOKEN is set but was refused: check that it is valid and has read access to this repo"
    : "the repo may be private or gated: set HF_TOKEN to a token with read access";
  return {
    what: `${repo} at ${revision}`,
    unauthorized: `repo "${repo}" was not found or needs a token (${token})`,
    forbidden: `access to "${repo}" is denied: for a gated model, accept its terms with the account that owns HF_TOKEN`,
    notFound: `revision "${revision}" of "${repo}" does not exist: check the branch, tag or commit`,
  };
}

async function getJson(api: HubApi, url: URL, repo: string, revision: string): Promise<{ json: unknown; response: HttpResponse }> {
  return withRetries(`${repo} at ${revision}`, api.retry, async () => {
    const response = await api.http.open("GET", url, {
      headers: { accept: "application/json" },
      redirects: "same-origin",
      signal: api.retry.signal,
    });
    if (response.status >= 400) throw statusError(response, hints(api, repo, revision));
    if (response.status !== 200) {
      response.body.resume();
      throw new NetworkError(`HTTP ${response.status} for ${repo} at ${revision} (${redact(response.url)}): expected 200`, false);
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > MAX_JSON_BYTES) {
        response.body.destroy();
        throw new NetworkError(`${redact(url)}: answer larger than ${MAX_JSON_BYTES} bytes`, false);
      }
      chunks.push(chunk);
    }
    try {
      return { json: JSON.parse(Buffer.concat(chunks).toString("utf8")), response };
    } catch {
      throw new NetworkError(`${redact(url)}: the answer is not JSON: is HF_ENDPOINT a Hugging Face hub or a faithful mirror?`, false);
    }
  });
}

/** The 40-hex commit a branch, tag or commit of `repo` designates now. */
export async function resolveRevision(api: HubApi, repo: string, revision: string): Promise<string> {
  const { json } = await getJson(api, apiUrl(api.endpoint, repo, "revision", revision), repo, revision);
  const info = RevisionInfoSchema.safeParse(json);
  if (!info.success) throw new NetworkError(`${repo} at ${revision}: the hub's answer has no valid "sha" (the commit)`, false);
  return info.data.sha;
}

/** Every file of `repo` at `commit`, following the hub's `Link: rel="next"` pages. */
export async function listTree(api: HubApi, repo: string, commit: string): Promise<TreeFile[]> {
  const files: TreeFile[] = [];
  let url: URL | undefined = apiUrl(api.endpoint, repo, "tree", commit);
  for (let page = 0; url; page++) {
    if (page >= MAX_PAGES) throw new NetworkError(`${repo} at ${commit}: more than ${MAX_PAGES} pages of files`, false);
    const { json, response } = await getJson(api, url, repo, commit);
    const entries = z.array(TreeEntrySchema).safeParse(json);
    if (!entries.success) {
      const issue = entries.error.issues[0];
      throw new NetworkError(
        `${repo} at ${commit}: unexpected tree listing (${issue?.path.join(".")}: ${issue?.message}); is HF_ENDPOINT a Hugging Face hub?`,
        false,
      );
    }
    for (const entry of entries.data) if (entry.type === "file") files.push(entry);
    url = nextPage(response, url);
  }
  return files;
}

function nextPage(response: HttpResponse, current: URL): URL | undefined {
  const raw = response.headers.link;
  const header = Array.isArray(raw) ? raw.join(", ") : raw;
  if (!header) return undefined;
  const next = LinkHeader.parse(header).rel("next")[0];
  return next ? new URL(next.uri, current) : undefined;
}
