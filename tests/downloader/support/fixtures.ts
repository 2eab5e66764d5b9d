/** A small but complete model set on the fake hub, and the manifest that pins it. */
import { createHash } from "node:crypto";
import type { Manifest } from "../../../components/core/manifest.js";
import { digestsOf, type FakeHub, type HubFileInfo } from "./hub-server.js";

export const REPO = "acme/tiny-model";
export const COMMIT = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
export const GATED_REPO = "acme/gated-model";
export const GATED_COMMIT = "1111111111222222222233333333334444444444";

/** Deterministic pseudo-random bytes (incompressible, unlike zeros). */
export function bytes(size: number, seed: string): Buffer {
  const out = Buffer.allocUnsafe(size);
  let block = createHash("sha256").update(seed).digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset, 0, Math.min(block.length, size - offset));
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

export interface Fixture {
  manifest: Manifest;
  files: Record<string, HubFileInfo>;
  whisper: { url: string; sha256: string; size: number };
  plain: { url: string; sha256: string; size: number };
  data: Record<string, Buffer>;
}

export interface FixtureOptions {
  weightsSize?: number;
  /** Add a gated repo that only answers with this token. */
  gatedToken?: string;
}

export function setupFixture(hub: FakeHub, options: FixtureOptions = {}): Fixture {
  const data: Record<string, Buffer> = {
    "config.json": Buffer.from(JSON.stringify({ model_type: "bert", hidden_size: 32 }, null, 2)),
    "tokenizer/vocab.txt": bytes(5000, "vocab"),
    "model.safetensors": bytes(options.weightsSize ?? 3 * 1024 * 1024, "weights"),
    whisper: bytes(1024 * 1024, "whisper"),
    plain: bytes(100 * 1024, "yunet"),
  };
  const infos = hub.addRepo(REPO, COMMIT, [
    { path: "config.json", data: data["config.json"]!, lfs: false },
    { path: "tokenizer/vocab.txt", data: data["tokenizer/vocab.txt"]!, lfs: false },
    { path: "model.safetensors", data: data["model.safetensors"]!, lfs: true },
    { path: "README.md", data: Buffer.from("# not in the manifest\n"), lfs: false },
  ]);
  const files = Object.fromEntries(infos.map((i) => [i.path, i]));
  const whisper = hub.addPlainFile("tiny.pt", data.whisper!);
  const plain = hub.addPlainFile("face_detection_yunet.onnx", data.plain!);
  const models: Manifest["models"] = [
    {
      id: "tiny-model",
      kind: "huggingface",
      repo: REPO,
      revision: COMMIT,
      refs: ["main"],
      files: [
        // sha256 only: the downloader must HEAD to learn it is git-stored (etag = git sha1).
        { path: "config.json", sha256: files["config.json"]!.sha256 },
        // gitSha1: the blob name is known without any request.
        { path: "tokenizer/vocab.txt", size: files["tokenizer/vocab.txt"]!.size, gitSha1: files["tokenizer/vocab.txt"]!.gitSha1 },
        { path: "model.safetensors", size: files["model.safetensors"]!.size, sha256: files["model.safetensors"]!.sha256 },
      ],
    },
    { id: "whisper-tiny", kind: "whisper", name: "tiny", url: whisper.url, size: whisper.size, sha256: whisper.sha256 },
    { id: "yunet", kind: "file", path: "face_detection_yunet.onnx", url: plain.url, size: plain.size, sha256: plain.sha256 },
  ];
  if (options.gatedToken) {
    const gated = bytes(200 * 1024, "gated");
    data.gated = gated;
    hub.addRepo(GATED_REPO, GATED_COMMIT, [{ path: "weights.bin", data: gated, lfs: true }], { gatedToken: options.gatedToken });
    models.push({
      id: "gated-model",
      kind: "huggingface",
      repo: GATED_REPO,
      revision: GATED_COMMIT,
      refs: ["main"],
      files: [{ path: "weights.bin", sha256: digestsOf(gated).sha256 }],
    });
  }
  return { manifest: { version: 1, models }, files, whisper, plain, data };
}
