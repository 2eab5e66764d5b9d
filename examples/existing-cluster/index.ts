/**
 * A program of your own that adds a verified, read-only, offline model cache to a cluster it
 * already manages: a PVC on the cluster's ReadWriteMany storage class, the download Job for the
 * manifest, and a model service that starts only after it. Type-checked with the project
 * (tsconfig includes examples/), so it cannot drift from the components' args.
 */
import * as k8s from "@pulumi/kubernetes";
import { core, kubernetes } from "../../components/index";

const cacheName = "embeddings";
const namespace = new k8s.core.v1.Namespace("ml", { metadata: { name: "ml" } });

const paths = core.cachePaths();
const models = core.selectModels(["bge-m3"], core.builtinCatalog());
const manifest = core.buildManifest(models);
const sizing = core.computeMemorySizing({ models, device: "cuda", headroom: core.DEFAULT_HEADROOM, gpuMemoryMiB: 15360 });
const startPeriod = core.deriveStartPeriod({ models, device: "cuda" });
// Built once, shared by the three components; the namespace's output makes each wait for it.
const context = kubernetes.kubernetesCacheContext({ cacheName, namespace: namespace.metadata.name, paths, manifest });
const downloaderImage = "registry.example.com/model-cache-downloader:0.1.0"; // built from downloader/Dockerfile

const volume = new kubernetes.ModelCacheVolume(cacheName, {
  context,
  storageSize: "50Gi",
  storageClassName: "efs-sc", // any ReadWriteMany class
});

const downloader = new kubernetes.ModelDownloader(`${cacheName}-downloader`, { context, image: downloaderImage }, { dependsOn: [volume] });

const service = new kubernetes.ModelService(
  `${cacheName}-service`,
  {
    context,
    image: "ghcr.io/huggingface/text-embeddings-inference:1.8",
    args: ["--model-id", core.expandServiceArgs(["{snapshot:bge-m3}"], { models, paths, port: 80, key: "args" })[0] ?? "", "--port", "80"],
    env: core.consumerEnv(paths),
    sizing,
    replicas: 2,
    healthPath: "/health",
    startPeriodSeconds: startPeriod.seconds,
    cpuRequest: "2",
    verifyImage: downloaderImage,
  },
  // The Deployment is created (and rolled) only once the Job for this manifest completed.
  { dependsOn: [downloader.job, volume] },
);

export const url = service.url;
export const manifestDigest = manifest.digest;
