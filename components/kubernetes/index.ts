export { ComponentArgsError } from "./args-error";
export * from "./config-values";
export { APP_NAME, appLabels, objectLabels, selectorLabels } from "./labels";
export { cacheClaimName, ModelCacheVolume, type ModelCacheVolumeArgs } from "./model-cache-volume";
export {
  DOWNLOADER_COMMAND,
  downloaderJobName,
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
  serverContainer,
  servicePodTemplate,
  serviceSpec,
  startupFailureThreshold,
  validateServiceArgs,
  verifyInitContainer,
} from "./model-service";
export { CONTAINER_SECURITY_CONTEXT, MODELS_VOLUME, POD_SECURITY_CONTEXT } from "./security";
