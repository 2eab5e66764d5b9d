import { describe, expect, it } from "vitest";
import { EXIT, worstExitCode } from "../../downloader/src/exit-codes.js";
import { redact, redactText } from "../../downloader/src/http.js";
import { normalizeEtag, parseHubHeaders, resolveUrl } from "../../downloader/src/hub.js";
import { blobNameFromTarget, blobPath, hubRepoPaths, pointerPath, pointerTarget, refPath } from "../../downloader/src/layout.js";
import { lockKey } from "../../downloader/src/lock.js";
import { backoffDelay, parseContentRange } from "../../downloader/src/transfer.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const SHA256 = "a".repeat(64);

describe("layout", () => {
  const repo = hubRepoPaths("/app/models/.cache", "BAAI/bge-m3");

  it("relative links: one ../ more per sub-folder", () => {
    const blob = blobPath(repo, SHA256);
    expect(pointerTarget(pointerPath(repo, COMMIT, "config.json"), blob)).toBe(`../../blobs/${SHA256}`);
    expect(pointerTarget(pointerPath(repo, COMMIT, "1_Pooling/config.json"), blob)).toBe(`../../../blobs/${SHA256}`);
    expect(pointerTarget(pointerPath(repo, COMMIT, "a/b/c.bin"), blob)).toBe(`../../../../blobs/${SHA256}`);
    expect(refPath(repo, "main")).toBe("/app/models/.cache/models--BAAI--bge-m3/refs/main");
  });

  it("reads a blob name back only from a well-formed relative link", () => {
    const pointer = pointerPath(repo, COMMIT, "1_Pooling/config.json");
    expect(blobNameFromTarget(repo, pointer, `../../../blobs/${SHA256}`)).toBe(SHA256);
    expect(blobNameFromTarget(repo, pointer, `../../blobs/${SHA256}`)).toBeUndefined();
    expect(blobNameFromTarget(repo, pointer, `/app/models/.cache/models--BAAI--bge-m3/blobs/${SHA256}`)).toBeUndefined();
    expect(blobNameFromTarget(repo, pointer, "../../../../models--other--repo/blobs/x")).toBeUndefined();
  });
});

describe("hub protocol", () => {
  it("resolve URLs encode each path segment and keep a mirror's path prefix", () => {
    expect(resolveUrl({ endpoint: "https://mirror.example/hf/", repo: "a/b", revision: COMMIT, path: "dir/my file#1.json" }).href).toBe(
      `https://mirror.example/hf/a/b/resolve/${COMMIT}/dir/my%20file%231.json`,
    );
  });

  it("etags lose W/ and quotes", () => {
    expect(normalizeEtag(`W/"${SHA256}"`)).toBe(SHA256);
    expect(normalizeEtag(`"${SHA256}"`)).toBe(SHA256);
    expect(normalizeEtag(SHA256)).toBe(SHA256);
  });

  it("prefers X-Linked-Etag and X-Linked-Size (LFS) over ETag and Content-Length", () => {
    const ref = { endpoint: "https://huggingface.co", repo: "a/b", revision: COMMIT, path: "m.safetensors", hasToken: false };
    const meta = parseHubHeaders(
      { "x-repo-commit": COMMIT, "x-linked-etag": `"${SHA256}"`, etag: '"pointer"', "x-linked-size": "1234", "content-length": "0" },
      ref,
    );
    expect(meta).toEqual({ commit: COMMIT, etag: SHA256, size: 1234, lfs: true });
    expect(() => parseHubHeaders({ etag: '"x"' }, ref)).toThrow(/X-Repo-Commit/);
    expect(() => parseHubHeaders({ "x-repo-commit": COMMIT, etag: '"../../etc"' }, ref)).toThrow(/not a usable blob name/);
  });

  it("URLs in messages drop the query string (CDN signatures)", () => {
    expect(redact(new URL("https://cdn-lfs.hf.co/repos/x?X-Amz-Signature=secret"))).toBe("https://cdn-lfs.hf.co/repos/x");
    expect(redactText("https://user:secret@mirror.example/hf")).toBe("https://mirror.example/hf");
  });
});

describe("transfer helpers", () => {
  it("parses Content-Range", () => {
    expect(parseContentRange("bytes 100-199/200")).toEqual({ start: 100, end: 199, total: 200 });
    expect(parseContentRange("bytes 0-9/*")).toEqual({ start: 0, end: 9, total: undefined });
    expect(parseContentRange("items 0-1/2")).toBeUndefined();
    expect(parseContentRange(undefined)).toBeUndefined();
  });

  it("backs off exponentially with jitter, capped, and honours a longer Retry-After", () => {
    for (let failure = 1; failure <= 10; failure++) {
      const delay = backoffDelay(failure, 500);
      const base = Math.min(30_000, 500 * 2 ** (failure - 1));
      expect(delay).toBeGreaterThanOrEqual(base * 0.75 - 1);
      expect(delay).toBeLessThanOrEqual(base * 1.25 + 1);
    }
    expect(backoffDelay(1, 100, 5000)).toBe(5000);
    expect(backoffDelay(1, 100, 600_000)).toBe(60_000);
  });
});

describe("exit codes and locks", () => {
  it("the most actionable exit code wins", () => {
    expect(worstExitCode([])).toBe(EXIT.ok);
    expect(worstExitCode([EXIT.incomplete, EXIT.network, EXIT.checksum])).toBe(EXIT.checksum);
    expect(worstExitCode([EXIT.network, EXIT.filesystem])).toBe(EXIT.filesystem);
    expect(worstExitCode([EXIT.unexpected, EXIT.incomplete])).toBe(EXIT.unexpected);
  });

  it("lock names are single path segments", () => {
    expect(lockKey("blob", "models--a--b", SHA256)).toBe(`models--a--b@${SHA256}`);
    expect(lockKey("file", "whisper/medium.pt")).toBe("file@whisper%2Fmedium.pt");
  });
});
