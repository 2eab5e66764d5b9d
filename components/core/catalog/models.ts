/**
 * The built-in catalog. Checksums and commits are copied from public records (each entry says
 * which); none is invented. Memory and load times: the seed devlog's measurements where it gives
 * them, every other number an estimate with its basis stated (`model-cache measure` replaces them).
 */
import type { CatalogEntry } from "./schema";

const SEED = "seed devlog 2025-11-12 (nvidia-smi on the model-service)";

export const BUILTIN_CATALOG: CatalogEntry[] = [
  {
    id: "whisper-medium",
    kind: "whisper",
    description: "OpenAI Whisper medium (769M params) speech recognition checkpoint, loaded by openai-whisper from XDG_CACHE_HOME/whisper",
    name: "medium",
    url: "https://openaipublic.azureedge.net/main/whisper/models/345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1/medium.pt",
    size: 1528008539,
    sha256: "345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1",
    memory: {
      cuda: {
        gpu: { mib: 2908, basis: "measured", source: `${SEED}: "[whisper] Loaded in 117.08s, ~2908MB"` },
        hostPeak: {
          mib: 3000,
          basis: "estimate",
          source: "whisper.load_model builds the 769M-param model in fp32 on the host (2934 MiB) before .to('cuda')",
        },
      },
      cpu: {
        gpu: { mib: 0, basis: "estimate", source: "no GPU on cpu" },
        hostPeak: {
          mib: 4400,
          basis: "estimate",
          source: "769M params in fp32 (2934 MiB) plus the fp16 checkpoint while loading (1457 MiB)",
        },
      },
    },
    load: {
      cuda: { seconds: 117.08, basis: "measured", source: `${SEED}: "[whisper] Loaded in 117.08s, ~2908MB"` },
      cpu: {
        seconds: 120,
        basis: "estimate",
        source:
          "the cuda load (117 s) is dominated by reading the 1.5 GB checkpoint and building the fp32 model on the host, which cpu does too",
      },
    },
  },
  {
    id: "whisper-tiny",
    kind: "whisper",
    description: "OpenAI Whisper tiny (39M params): a small ASR checkpoint for CPU-only dev stacks",
    name: "tiny",
    url: "https://openaipublic.azureedge.net/main/whisper/models/65147644a518d12f04e32d6f3b26facc3f8dd46e5390956a9424a650c0ce22b9/tiny.pt",
    size: 75572083,
    sha256: "65147644a518d12f04e32d6f3b26facc3f8dd46e5390956a9424a650c0ce22b9",
    memory: {
      cuda: {
        gpu: { mib: 150, basis: "estimate", source: "39M params in fp16 plus CUDA context share" },
        hostPeak: { mib: 150, basis: "estimate", source: "the 72 MiB checkpoint staged in host memory" },
      },
      cpu: {
        gpu: { mib: 0, basis: "estimate", source: "no GPU on cpu" },
        hostPeak: {
          mib: 300,
          basis: "estimate",
          source: "39M params in fp32 (149 MiB) plus the checkpoint while loading (72 MiB) plus activations",
        },
      },
    },
    load: {
      cuda: { seconds: 6, basis: "estimate", source: "whisper medium's 117 s scaled by size (75 MB of 1.5 GB), plus the CUDA context" },
      cpu: { seconds: 6, basis: "estimate", source: "whisper medium's 117 s scaled by size (75 MB of 1.5 GB), rounded up" },
    },
  },
  {
    id: "siglip-so400m",
    kind: "huggingface",
    description: "Google SigLIP so400m patch14-384 vision-language embeddings (878M params)",
    repo: "google/siglip-so400m-patch14-384",
    // The commit most public pins use; the hub records no public sha256 for its files that this
    // project could find, so they carry none: a stack enabling it must allow unverified files.
    revision: "9fdffc58afc957d1a03a25b10dba0329ab15c2a3",
    refs: ["main"],
    files: [
      { path: "config.json" },
      { path: "model.safetensors" },
      { path: "preprocessor_config.json" },
      { path: "special_tokens_map.json" },
      { path: "spiece.model" },
      { path: "tokenizer_config.json" },
    ],
    memory: {
      cuda: {
        gpu: { mib: 1600, basis: "measured", source: `${SEED}: "[siglip] Loaded in 4.02s, ~1600MB"` },
        hostPeak: {
          mib: 1700,
          basis: "estimate",
          source: "the fp16 weights (~1.6 GiB) staged in host memory before .to('cuda'), plus the processor",
        },
      },
      cpu: {
        gpu: { mib: 0, basis: "estimate", source: "no GPU on cpu" },
        hostPeak: { mib: 3500, basis: "estimate", source: "878M params in fp32 (3350 MiB) plus the processor" },
      },
    },
    load: {
      cuda: { seconds: 4.02, basis: "measured", source: `${SEED}: "[siglip] Loaded in 4.02s, ~1600MB"` },
      cpu: { seconds: 8, basis: "estimate", source: "the cuda load (4.02 s, safetensors) with the fp32 upcast on the host" },
    },
  },
  {
    id: "bge-m3",
    kind: "huggingface",
    description: "BAAI BGE-M3 multilingual text embeddings (568M params, dense + sparse + colbert heads)",
    repo: "BAAI/bge-m3",
    // main at the time of pinning; sizes and sha256 from public model_info(files_metadata=True) dumps.
    revision: "5617a9f61b028005a4858fdac845db406aefb181",
    refs: ["main"],
    files: [
      { path: "1_Pooling/config.json", size: 191, sha256: "e54c164a07274f2eb45bb724f54a79d1efcc90c41573887cd9a29aeee0597352" },
      { path: "colbert_linear.pt", size: 2100674, sha256: "19bfbae397c2b7524158c919d0e9b19393c5639d098f0a66932c91ed8f5f9abb" },
      { path: "config.json", size: 687, sha256: "26159e7ad065073448460117eb24b7a4572f6f4e78eadff65dc0a11c052449fa" },
      { path: "config_sentence_transformers.json", size: 123, sha256: "1eef72430e7194a1e59680e635aed81ffa083f05668dbc5bb1c56c04c0999c38" },
      { path: "modules.json", size: 349, sha256: "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf" },
      { path: "pytorch_model.bin", size: 2271145830, sha256: "b5e0ce3470abf5ef3831aa1bd5553b486803e83251590ab7ff35a117cf6aad38" },
      { path: "sentence_bert_config.json", size: 54, sha256: "eb9b44b13c0f52a3b3685c3b1cbdea1ba8b04bea123b98f61610048940776eb1" },
      { path: "sentencepiece.bpe.model", size: 5069051, sha256: "cfc8146abe2a0488e9e2a0c56de7952f7c11ab059eca145a0a727afce0db2865" },
      { path: "sparse_linear.pt", size: 3516, sha256: "45c93804d2142b8f6d7ec6914ae23a1eee9c6a1d27d83d908a20d2afb3595ad9" },
      { path: "special_tokens_map.json", size: 964, sha256: "8c785abebea9ae3257b61681b4e6fd8365ceafde980c21970d001e834cf10835" },
      { path: "tokenizer.json", size: 17098108, sha256: "21106b6d7dab2952c1d496fb21d5dc9db75c28ed361a05f5020bbba27810dd08" },
      { path: "tokenizer_config.json", size: 444, sha256: "a62b2b6784f990259fddef5f16388693a8043be4f69179e6a5257eeb3f9abac4" },
    ],
    memory: {
      cuda: {
        gpu: { mib: 1100, basis: "estimate", source: "568M params in fp16 (1083 MiB)" },
        hostPeak: {
          mib: 2300,
          basis: "estimate",
          source: "the fp32 pytorch_model.bin (2166 MiB) deserialised in host memory before .to('cuda'), plus the tokenizer",
        },
      },
      cpu: {
        gpu: { mib: 0, basis: "estimate", source: "no GPU on cpu" },
        hostPeak: { mib: 2400, basis: "estimate", source: "568M params in fp32 (2166 MiB) plus the tokenizer" },
      },
    },
    load: {
      cuda: {
        seconds: 20,
        basis: "estimate",
        source: "2.2 GB pytorch_model.bin unpickled (no mmap, unlike SigLIP's safetensors at 4 s for 3.5 GB), plus the tokenizer",
      },
      cpu: { seconds: 20, basis: "estimate", source: "as on cuda: the unpickling dominates" },
    },
  },
  {
    id: "yunet",
    kind: "file",
    description: "OpenCV YuNet 2023mar face detector (ONNX), loaded by cv2.FaceDetectorYN from the cache root",
    path: "face_detection_yunet_2023mar.onnx",
    url: "https://media.githubusercontent.com/media/opencv/opencv_zoo/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx",
    size: 232589,
    sha256: "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4",
    memory: {
      cuda: {
        gpu: { mib: 0, basis: "estimate", source: "runs on the CPU through OpenCV DNN" },
        hostPeak: { mib: 50, basis: "estimate", source: "227 KiB network plus OpenCV DNN buffers" },
      },
      cpu: {
        gpu: { mib: 0, basis: "estimate", source: "no GPU on cpu" },
        hostPeak: { mib: 50, basis: "estimate", source: "227 KiB network plus OpenCV DNN buffers" },
      },
    },
    load: {
      cuda: { seconds: 1, basis: "estimate", source: "a 227 KiB ONNX network read by OpenCV DNN" },
      cpu: { seconds: 1, basis: "estimate", source: "a 227 KiB ONNX network read by OpenCV DNN" },
    },
  },
  {
    id: "all-minilm-l6-v2",
    kind: "huggingface",
    description:
      "sentence-transformers all-MiniLM-L6-v2 (22.7M params) text embeddings: the CPU dev stack's model, served by text-embeddings-inference",
    repo: "sentence-transformers/all-MiniLM-L6-v2",
    revision: "1110a243fdf4706b3f48f1d95db1a4f5529b4d41",
    refs: ["main"],
    // What text-embeddings-inference reads from a local snapshot: config, tokenizer, pooling, weights.
    files: [
      { path: "1_Pooling/config.json", size: 190, gitSha1: "d1514c3162bbe87b343f565fadc62e6c06f04f03" },
      {
        path: "config.json",
        size: 612,
        gitSha1: "72b987fd805cfa2b58c4c8c952b274a11bfd5a00",
        sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
      },
      { path: "config_sentence_transformers.json", size: 116, gitSha1: "fd1b291129c607e5d49799f87cb219b27f98acdf" },
      { path: "model.safetensors", size: 90868376, sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db" },
      { path: "modules.json", size: 349, gitSha1: "952a9b81c0bfd99800fabf352f69c7ccd46c5e43" },
      { path: "sentence_bert_config.json", size: 53, gitSha1: "59d594003bf59880a884c574bf88ef7555bb0202" },
      {
        path: "tokenizer.json",
        size: 466247,
        gitSha1: "cb202bfe2e3c98645018a6d12f182a434c9d3e02",
        sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
      },
      { path: "tokenizer_config.json", size: 350, gitSha1: "c79f2b6a0cea6f4b564fed1938984bace9d30ff0" },
      {
        path: "vocab.txt",
        size: 231508,
        gitSha1: "fb140275c155a9c7c5a3b3e0e77a9e839594a938",
        sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
      },
    ],
    memory: {
      cuda: {
        gpu: { mib: 150, basis: "estimate", source: "22.7M params in fp16 plus CUDA context share" },
        hostPeak: { mib: 150, basis: "estimate", source: "87 MiB safetensors mapped while loading plus the tokenizer" },
      },
      cpu: {
        gpu: { mib: 0, basis: "estimate", source: "no GPU on cpu" },
        hostPeak: {
          mib: 250,
          basis: "estimate",
          source: "87 MiB fp32 weights, tokenizer and batch activations in text-embeddings-inference",
        },
      },
    },
    load: {
      cuda: {
        seconds: 5,
        basis: "estimate",
        source: "87 MiB safetensors and the tokenizer read by text-embeddings-inference, plus the CUDA context",
      },
      cpu: {
        seconds: 5,
        basis: "estimate",
        source: "87 MiB safetensors and the tokenizer read by text-embeddings-inference, plus its warm-up batch",
      },
    },
  },
];
