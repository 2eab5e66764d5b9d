export { type DockerCacheContext, dockerCacheContext } from "./context";
export { goDuration, httpHealthcheckTest } from "./healthcheck";
export { HealthyContainer, type HealthyContainerInputs } from "./healthy-container";
export { ModelCacheVolume, type ModelCacheVolumeArgs } from "./model-cache-volume";
export { downloadTimeoutSeconds, ModelDownloader, type ModelDownloaderArgs, manifestBytes } from "./model-downloader";
export { ModelService, type ModelServiceArgs } from "./model-service";
export { OneShotContainer, type OneShotContainerInputs } from "./one-shot-container";
