import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "../components/core/canonical-json";
import { builtinCatalog, CatalogSchema } from "../components/core/catalog";
import { manifestDigest, parseManifest } from "../components/core/manifest";
import { buildManifest, selectModels } from "../components/core/selection";

const catalog = builtinCatalog();

describe("the manifest", () => {
  it("is canonical JSON in docs/architecture.md's shape, and its digest is the sha256 of that JSON", () => {
    const built = buildManifest(selectModels(["whisper-medium", "bge-m3", "yunet"], catalog));
    expect(built.json).toBe(canonicalJson(JSON.parse(built.json)));
    expect(built.digest).toBe(sha256Hex(built.json));
    expect(built.digest).toBe(manifestDigest(parseManifest(built.json)));
    const parsed = JSON.parse(built.json);
    expect(parsed.version).toBe(1);
    expect(parsed.models.map((m: { id: string }) => m.id)).toEqual(["whisper-medium", "bge-m3", "yunet"]);
    expect(parsed.models[0]).toEqual({
      id: "whisper-medium",
      kind: "whisper",
      name: "medium",
      url: expect.stringMatching(/\/345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1\/medium\.pt$/),
      size: 1528008539,
      sha256: "345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1",
    });
    expect(parsed.models[1]).toMatchObject({ kind: "huggingface", repo: "BAAI/bge-m3", refs: ["main"] });
    expect(parsed.models[1].revision).toMatch(/^[0-9a-f]{40}$/);
    expect(parsed.models[2]).toMatchObject({ kind: "file", path: "face_detection_yunet_2023mar.onnx", size: 232589 });
    expect(parsed).not.toHaveProperty("allowUnverified");
    expect(built.json).not.toMatch(/description|memory/);
  });

  it("does not depend on key order", () => {
    const a = { version: 1, models: [{ id: "yunet", kind: "file", path: "f.onnx", url: "https://x/f.onnx", sha256: "a".repeat(64) }] };
    const b = { models: [{ sha256: "a".repeat(64), url: "https://x/f.onnx", path: "f.onnx", kind: "file", id: "yunet" }], version: 1 };
    expect(manifestDigest(parseManifest(a))).toBe(manifestDigest(parseManifest(b)));
  });

  it("rejects bad input with errors naming the field", () => {
    expect(() =>
      parseManifest({
        version: 1,
        models: [{ id: "x", kind: "huggingface", repo: "a/b", revision: "main", files: [{ path: "c", sha256: "a".repeat(64) }] }],
      }),
    ).toThrow(/revision[\s\S]*40-character/);
    expect(() => parseManifest({ version: 1, models: [{ id: "x", kind: "tarball", url: "https://x" }] })).toThrow(/kind/);
    expect(() =>
      parseManifest({ version: 1, models: [{ id: "x", kind: "file", path: "../etc/passwd", url: "https://x", sha256: "a".repeat(64) }] }),
    ).toThrow(/without '\.', '\.\.'/);
    expect(() => parseManifest({ version: 1, models: [{ id: "x", kind: "file", path: "f", url: "https://x" }] })).toThrow(
      /has no checksum/,
    );
    expect(() => parseManifest("{not json")).toThrow();
  });
});

describe("the built-in catalog", () => {
  it("validates, and never invents a checksum: every hub model is pinned and every sha256 is well-formed", () => {
    expect(() => CatalogSchema.parse(catalog)).not.toThrow();
    for (const entry of catalog) {
      if (entry.kind === "huggingface") expect(entry.revision).toMatch(/^[0-9a-f]{40}$/);
      if (entry.kind === "whisper") expect(entry.url).toContain(`/${entry.sha256}/`);
    }
  });

  it("has every model the seed uses plus small CPU models, each with memory and its source per device", () => {
    const ids = catalog.map((e) => e.id);
    expect(ids).toEqual(expect.arrayContaining(["whisper-medium", "siglip-so400m", "bge-m3", "yunet", "all-minilm-l6-v2", "whisper-tiny"]));
    for (const entry of catalog) {
      for (const device of ["cuda", "cpu"] as const) {
        const m = entry.memory[device];
        expect(m, `${entry.id} ${device}`).toBeDefined();
        expect(m!.hostPeak.source.length).toBeGreaterThan(10);
      }
    }
    const seed = catalog.find((e) => e.id === "whisper-medium")!.memory.cuda!.gpu;
    expect(seed).toMatchObject({ mib: 2908, basis: "measured" });
  });
});
