import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { CachePaths } from "../core/contract";
import type { BuiltManifest } from "../core/selection";

/**
 * What every Docker component of one cache shares, built once (by `dockerCacheContext`) instead of
 * the same values passed to each: the cache's name, its paths, the manifest, and the names a user
 * sees in `docker volume ls` and `docker ps -a`.
 */
export interface DockerCacheContext {
  /** The cache's name (the `model-cache.io/cache` label). */
  cacheName: string;
  paths: CachePaths;
  manifest: BuiltManifest;
  /** `<project>-<stack>-<cacheName>`: the volume's name and the containers' prefix. */
  prefix: string;
  /** `docker:host` when the stack sets it (the dynamic steps talk to the same engine as the provider). */
  dockerHost: string | undefined;
}

const cacheNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, "lower-case letters, digits, '_', '.' or '-', starting with a letter or digit");

export function dockerCacheContext(args: { cacheName: string; paths: CachePaths; manifest: BuiltManifest }): DockerCacheContext {
  const name = cacheNameSchema.safeParse(args.cacheName);
  if (!name.success) {
    throw new Error(`cacheName "${args.cacheName}": ${name.error.issues[0]?.message}; it names the Docker volume and containers`);
  }
  return {
    ...args,
    prefix: `${pulumi.getProject()}-${pulumi.getStack()}-${args.cacheName}`,
    dockerHost: new pulumi.Config("docker").get("host"),
  };
}
