import type * as pulumi from "@pulumi/pulumi";
import { dockerCacheContext, ModelCacheVolume, ModelDownloader, ModelService } from "../../components/docker/index";
import { ConfigError } from "../config";
import type { StackPlan } from "../plan";

export interface DockerStackOutputs {
  volumeName: pulumi.Output<string>;
  serviceUrl: pulumi.Output<string>;
  downloaderImage: pulumi.Output<string>;
}

/** The `dev` target: one Docker host, one volume, one download step, one service. */
export function deployDocker(plan: StackPlan, hubToken?: pulumi.Output<string>): DockerStackOutputs {
  const { config } = plan;
  if (config.replicas !== 1) {
    throw new ConfigError(
      `model-cache:replicas: the docker target runs exactly one service container (got ${config.replicas}); ` +
        "set it to 1, or use target kubernetes for replicas",
    );
  }
  const context = dockerCacheContext({ cacheName: config.cacheName, paths: plan.paths, manifest: plan.manifest });
  const volume = new ModelCacheVolume(config.cacheName, { context });
  const downloader = new ModelDownloader(`${config.cacheName}-downloader`, {
    context,
    volumeName: volume.volumeName,
    ...(config.downloaderImage ? { image: config.downloaderImage } : {}),
    hubEndpoint: config.hubEndpoint,
    concurrency: config.downloadConcurrency,
    ...(hubToken ? { hubToken } : {}),
  });
  const service = new ModelService(
    `${config.cacheName}-service`,
    {
      context,
      volumeName: volume.volumeName,
      image: config.serviceImage,
      args: plan.serviceArgs,
      env: plan.serviceEnv,
      sizing: plan.sizing,
      containerPort: config.servicePort,
      hostPort: config.hostPort,
      startPeriodSeconds: plan.startPeriod.seconds,
      healthPath: config.healthPath,
      ...(config.serviceHealthcheck.length > 0 ? { healthcheck: config.serviceHealthcheck } : {}),
    },
    { dependsOn: [downloader] },
  );
  return { volumeName: volume.volumeName, serviceUrl: service.url, downloaderImage: downloader.image };
}
