/**
 * Size and sha256 of a plain URL (whisper checkpoints, files), streamed once and never stored; or
 * its size alone from a HEAD. Redirects are followed; the hub token only ever goes to the hub's origin.
 */
import { z } from "zod";
import { NetworkError } from "../errors.js";
import { ContentHasher } from "../hashing.js";
import { type HttpClient, redact, statusError } from "../http.js";
import { type RetryOptions, withRetries } from "../retry.js";

export interface UrlDigest {
  size: number;
  sha256: string;
}

const hints = (what: string, url: URL) => ({
  what,
  notFound: `check the URL ${redact(url)}`,
  unauthorized: `the server wants credentials for ${redact(url)}`,
  forbidden: `access to ${redact(url)} is denied`,
});

export async function hashUrl(http: HttpClient, url: URL, what: string, retry: RetryOptions): Promise<UrlDigest> {
  return withRetries(what, retry, async () => {
    const response = await http.open("GET", url, { redirects: "follow", signal: retry.signal });
    if (response.status !== 200) throw statusError(response, hints(what, url));
    const hasher = new ContentHasher();
    for await (const chunk of response.body as AsyncIterable<Buffer>) hasher.update(chunk);
    const announced = z.coerce.number().int().nonnegative().safeParse(response.headers["content-length"]);
    if (announced.success && announced.data !== hasher.bytes) {
      throw new NetworkError(`${what}: ${redact(url)} ended after ${hasher.bytes} of ${announced.data} bytes`, true);
    }
    return { size: hasher.bytes, sha256: hasher.digest().sha256 };
  });
}

/** The size a server announces for a URL (HEAD, redirects followed); undefined when it does not say. */
export async function sizeOfUrl(http: HttpClient, url: URL, what: string, retry: RetryOptions): Promise<number | undefined> {
  return withRetries(what, retry, async () => {
    const response = await http.open("HEAD", url, { redirects: "follow", signal: retry.signal });
    response.body.resume();
    if (response.status !== 200) throw statusError(response, hints(what, url));
    const size = z.coerce.number().int().nonnegative().safeParse(response.headers["content-length"]);
    return size.success ? size.data : undefined;
  });
}
