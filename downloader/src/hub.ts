/**
 * The Hugging Face hub's resolve protocol, as huggingface_hub speaks it: a HEAD on
 * `<endpoint>/<repo>/resolve/<revision>/<path>` without following the redirect an LFS file
 * answers with, reading the commit, the etag (the blob's name: sha256 for LFS files, the git
 * blob sha1 otherwise) and the size from its headers.
 */
import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
import { COMMIT_RE, HUB_ENDPOINT_ENV } from "../../components/core/contract.js";
import { NetworkError } from "./errors.js";
import { type HttpClient, type HttpResponse, redactText, type StatusHints, statusError } from "./http.js";
import { ETAG_FILE_RE } from "./layout.js";

export interface HubFileRef {
  endpoint: string;
  repo: string;
  revision: string;
  path: string;
  /** Whether a token is configured: changes what a 401/403 tells the user to check. */
  hasToken: boolean;
}

export interface HubFileMetadata {
  commit: string;
  etag: string;
  size: number | undefined;
  /** The file is stored with LFS (the hub redirected it to its CDN). */
  lfs: boolean;
  /** Where the redirect pointed (an LFS file's CDN URL): huggingface_hub downloads from there, without the token. */
  location?: URL;
}

export function resolveUrl(ref: Pick<HubFileRef, "endpoint" | "repo" | "revision" | "path">): URL {
  // Joined on the URL's path, not its text: an endpoint's query string (a mirror's key) stays a query string.
  const url = new URL(ref.endpoint);
  const path = ref.path.split("/").map(encodeURIComponent).join("/");
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${path}`;
  url.hash = "";
  return url;
}

/** Strip the weak marker and the quotes: `W/"abc"` → `abc`. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

const HeaderInt = z.coerce.number().int().nonnegative();

export async function headHubFile(http: HttpClient, ref: HubFileRef, signal?: AbortSignal): Promise<HubFileMetadata> {
  const url = resolveUrl(ref);
  const response = await http.open("HEAD", url, { redirects: "same-origin", signal });
  response.body.resume();
  if (response.status >= 400) throw statusError(response, hubHints(ref));
  return parseHubHeaders(response.headers, ref, response);
}

export function parseHubHeaders(headers: IncomingHttpHeaders, ref: HubFileRef, response?: HttpResponse): HubFileMetadata {
  const commit = header(headers, "x-repo-commit");
  const rawEtag = header(headers, "x-linked-etag") ?? header(headers, "etag");
  const what = `${ref.repo}/${ref.path}`;
  if (!commit || !COMMIT_RE.test(commit)) {
    throw new NetworkError(
      `${what}: the hub's answer has no valid X-Repo-Commit header (status ${response?.status ?? "?"}): is ${HUB_ENDPOINT_ENV}=${redactText(ref.endpoint)} a Hugging Face hub or a faithful mirror?`,
      false,
    );
  }
  if (!rawEtag) throw new NetworkError(`${what}: the hub's answer has no ETag: cannot name the blob`, false);
  const etag = normalizeEtag(rawEtag);
  if (!ETAG_FILE_RE.test(etag)) throw new NetworkError(`${what}: the hub's ETag ${JSON.stringify(etag)} is not a usable blob name`, false);
  // A redirect's own Content-Length is its (empty) body's, not the file's.
  const redirected = response !== undefined && response.status >= 300 && response.status < 400;
  const sizeText = header(headers, "x-linked-size") ?? (redirected ? undefined : header(headers, "content-length"));
  const size = sizeText === undefined ? undefined : HeaderInt.safeParse(sizeText).data;
  const lfs = header(headers, "x-linked-etag") !== undefined || redirected;
  const location = redirected ? urlOrUndefined(header(headers, "location"), response.url) : undefined;
  return location ? { commit, etag, size, lfs, location } : { commit, etag, size, lfs };
}

/** A Location resolved against the URL that sent it; undefined when it is not one (the GET then follows the resolve URL's redirect). */
function urlOrUndefined(location: string | undefined, base: URL): URL | undefined {
  if (!location) return undefined;
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function hubHints(ref: HubFileRef): StatusHints {
  const tokenHint = ref.hasToken
    ? "HF_TOKEN is set but was refused: check that it is valid, not expired, and has read access to this repo"
    : "the repo may be private or gated: set HF_TOKEN to a token with read access";
  return {
    what: `${ref.repo} file ${ref.path} at ${ref.revision}`,
    unauthorized: `${tokenHint}; also check that the repo id "${ref.repo}" exists`,
    forbidden: `access denied: for a gated model, accept its terms on the model page with the account that owns HF_TOKEN; check the token's permissions`,
    notFound: `check that "${ref.path}" exists in ${ref.repo} at commit ${ref.revision} (the manifest's path and revision)`,
  };
}
