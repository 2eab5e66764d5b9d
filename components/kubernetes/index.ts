export { ComponentArgsError } from "./args-error";
export * from "./config-values";
export {
  cacheClaimName,
  type KubernetesCacheContext,
  type KubernetesCacheContextArgs,
  kubernetesCacheContext,
  MAX_CACHE_NAME_CHARS,
} from "./context";
export { APP_NAME, appLabels, objectLabels, selectorLabels } from "./labels";
export { CACHE_PROTECTION, ModelCacheVolume, type ModelCacheVolumeArgs } from "./model-cache-volume";
export {
  DOWNLOADER_COMMAND,
  DOWNLOADER_DEFAULTS,
  type DownloaderJobArgs,
  downloaderJobName,
  downloaderJobSpec,
  downloaderLabels,
  HUB_TOKEN_SECRET_KEY,
  ModelDownloader,
  type ModelDownloaderArgs,
  REPLACE_UNREADY_ANNOTATION,
  validateDownloaderArgs,
} from "./model-downloader";
export {
  disruptionBudgetSpec,
  GPU_RESOURCE,
  livenessProbe,
  ModelService,
  type ModelServiceArgs,
  rollingUpdate,
  type ServicePodArgs,
  type ServiceSettings,
  serverContainer,
  servicePodTemplate,
  serviceSettings,
  serviceSpec,
  startupFailureThreshold,
  validateServiceArgs,
  verifyInitContainer,
} from "./model-service";
export { CONTAINER_SECURITY_CONTEXT, MODELS_VOLUME, POD_SECURITY_CONTEXT } from "./security";
