/** The pack's policies, in the order docs/architecture.md states the contract, then opaque-resources. */
import type { PackPolicy } from "../lib/rule";
import { consumerAfterDownloader } from "./consumer-after-downloader";
import { consumerGpu } from "./consumer-gpu";
import { consumerNoHubCredentials } from "./consumer-no-hub-credentials";
import { consumerOffline } from "./consumer-offline";
import { consumerReadOnlyMount } from "./consumer-read-only-mount";
import { downloaderOneShot } from "./downloader-one-shot";
import { manifestCoverage } from "./manifest-coverage";
import { measuredMemoryLimit } from "./measured-memory-limit";
import { oneWriter } from "./one-writer";
import { opaqueResources } from "./opaque-resources";
import { pinnedModels } from "./pinned-models";
import { startupGrace } from "./startup-grace";
import { unifiedCacheEnv } from "./unified-cache-env";

export const policies: PackPolicy[] = [
  consumerOffline,
  consumerReadOnlyMount,
  unifiedCacheEnv,
  consumerNoHubCredentials,
  measuredMemoryLimit,
  consumerGpu,
  startupGrace,
  pinnedModels,
  downloaderOneShot,
  consumerAfterDownloader,
  manifestCoverage,
  oneWriter,
  opaqueResources,
];
