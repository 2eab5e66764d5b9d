export { ModelCacheVolume, type ModelCacheVolumeArgs } from "./model-cache-volume.js";
export { downloaderFailureMessage, ModelDownloader, type ModelDownloaderArgs } from "./model-downloader.js";
export { ModelService, type ModelServiceArgs } from "./model-service.js";
