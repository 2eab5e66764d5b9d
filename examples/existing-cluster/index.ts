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
const ns = namespace.metadata.name;

const paths = core.cachePaths();
const models = core.selectModels(["bge-m3"], core.builtinCatalog());
const manifest = core.buildManifest(models);
const sizing = core.computeMemorySizing({ models, device: "cuda", headroom: core.DEFAULT_HEADROOM, gpuMemoryMiB: 15360 });
const startPeriod = core.deriveStartPeriod({ models, device: "cuda" });
const claimName = kubernetes.cacheClaimName(cacheName);

const volume = new kubernetes.ModelCacheVolume(cacheName, {
  cacheName,
  namespace: ns,
  claimName,
  storageSize: "50Gi",
  storageClassName: "efs-sc", // any ReadWriteMany class
});

const downloader = new kubernetes.ModelDownloader(`${cacheName}-downloader`, {
  cacheName,
  namespace: ns,
  paths,
  manifest,
  claimName,
  image: "registry.example.com/model-cache-downloader:0.1.0", // built from downloader/Dockerfile
  hubEndpoint: core.DEFAULT_HUB_ENDPOINT,
  concurrency: 4,
  cpu: "1",
  memoryMiB: 1024,
  backoffLimit: 2,
  activeDeadlineSeconds: 3600,
  dependsOn: [volume.claim],
});

const service = new kubernetes.ModelService(`${cacheName}-service`, {
  cacheName,
  namespace: ns,
  manifest,
  paths,
  claimName,
  image: "ghcr.io/huggingface/text-embeddings-inference:1.8",
  args: ["--model-id", core.expandServiceArgs(["{snapshot:bge-m3}"], { models, paths, port: 80, key: "args" })[0] ?? "", "--port", "80"],
  env: core.consumerEnv(paths),
  sizing,
  replicas: 2,
  containerPort: 80,
  healthPath: "/health",
  startPeriodSeconds: startPeriod.seconds,
  cpuRequest: "2",
  gpuCount: 1,
  nodeSelector: {},
  tolerations: [],
  pdbMinAvailable: 1,
  verifyImage: "registry.example.com/model-cache-downloader:0.1.0",
  workloadDependsOn: [downloader.job, volume.claim],
});

export const url = service.url;
export const manifestDigest = manifest.digest;
