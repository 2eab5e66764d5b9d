/**
 * What stands in for kubelets: kwok (the real sigs.k8s.io/kwok controller) with its own stages for
 * nodes (initialize, heartbeat) and pods (ready, delete), plus two stages of this suite for Job
 * pods, in kwok's Stage format: a running Job pod completes (exit 0), unless its first container
 * runs FAILING_IMAGE, in which case it fails (exit 1) with a downloader-like termination message.
 * No container ever runs: the suite tests the objects and their lifecycle, not the images.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";

/** A downloader image whose Job pods fail (no such image is pulled: kwok never runs containers). */
export const FAILING_IMAGE = "registry.invalid/model-cache-downloader:fails-checksum";
export const FAILING_MESSAGE = "checksum mismatch: bge-m3 model.safetensors (expected sha256 9a5c…, got 0000…)";

const NODE_ANNOTATIONS = { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" };

function fakeNode(name: string, labels: Record<string, string>, extra: { taints?: object[]; gpus?: number }) {
  const resources = { cpu: "32", memory: "256Gi", pods: "110", ...(extra.gpus ? { "nvidia.com/gpu": String(extra.gpus) } : {}) };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: NODE_ANNOTATIONS,
      labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok", ...labels },
    },
    spec: { ...(extra.taints ? { taints: extra.taints } : {}) },
    status: { allocatable: resources, capacity: resources },
  };
}

/** A CPU node for the download Job, and two GPU nodes as the prod stack's node group (label, taint). */
export const FAKE_NODES = [
  fakeNode("kwok-cpu-0", { "topology.kubernetes.io/zone": "zone-a" }, {}),
  ...["a", "b"].map((zone, i) =>
    fakeNode(
      `kwok-gpu-${i}`,
      { "eks.amazonaws.com/nodegroup": "gpu", "topology.kubernetes.io/zone": `zone-${zone}` },
      { taints: [{ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }], gpus: 1 },
    ),
  ),
];

function jobPodStage(
  name: string,
  image: { operator: "In" | "NotIn" },
  result: { exitCode: number; reason: string; phase: string; message?: string },
) {
  const message = result.message ? `\n      message: ${JSON.stringify(result.message)}` : "";
  return {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "Stage",
    metadata: { name },
    spec: {
      resourceRef: { apiGroup: "v1", kind: "Pod" },
      selector: {
        matchExpressions: [
          { key: ".metadata.deletionTimestamp", operator: "DoesNotExist" },
          { key: ".status.phase", operator: "In", values: ["Running"] },
          { key: ".metadata.ownerReferences.[].kind", operator: "In", values: ["Job"] },
          { key: ".spec.containers.[0].image", operator: image.operator, values: [FAILING_IMAGE] },
        ],
      },
      next: {
        statusTemplate: `{{ $now := Now }}
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  started: false
  state:
    terminated:
      exitCode: ${result.exitCode}
      reason: ${result.reason}${message}
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
phase: ${result.phase}
`,
      },
    },
  };
}

/** kwok's config: its own stage files (copied by scripts/e2e-tools.sh) and the Job pod stages. */
export function kwokStages(kwokStagesDir: string): string {
  const own = readdirSync(kwokStagesDir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => readFileSync(path.join(kwokStagesDir, f), "utf8").trim());
  const suite = [
    jobPodStage("job-pod-complete", { operator: "NotIn" }, { exitCode: 0, reason: "Completed", phase: "Succeeded" }),
    jobPodStage("job-pod-fail", { operator: "In" }, { exitCode: 1, reason: "Error", phase: "Failed", message: FAILING_MESSAGE }),
  ].map((s) => stringify(s).trim());
  return [...own, ...suite].join("\n---\n");
}
