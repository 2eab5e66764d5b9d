export { ModelCacheVolume, type ModelCacheVolumeArgs } from "./model-cache-volume";
export { downloaderFailureMessage, ModelDownloader, type ModelDownloaderArgs } from "./model-downloader";
export { ModelService, type ModelServiceArgs } from "./model-service";
