import type * as pulumi from "@pulumi/pulumi";
import type { CachePaths } from "../core/contract";
import type { BuiltManifest } from "../core/selection";
import { ComponentArgsError } from "./args-error";

/**
 * What every Kubernetes component of one cache shares, built once (by `kubernetesCacheContext`)
 * instead of the same values passed to `ModelCacheVolume`, `ModelDownloader` and `ModelService`.
 */
export interface KubernetesCacheContext {
  /** The cache's name: the `model-cache.io/cache` label and the prefix of every object's name. */
  cacheName: string;
  /**
   * The namespace every object of the cache lives in. Pass a Namespace's `metadata.name` output
   * (not the bare string) and every object waits for the namespace through that input.
   */
  namespace: pulumi.Input<string>;
  paths: CachePaths;
  manifest: BuiltManifest;
  /** The models volume's claim: written by the downloader only, mounted read-only by the service. */
  claimName: string;
}

export interface KubernetesCacheContextArgs {
  /** Lower-case letters, digits and '-', at most 42 characters (the Job's name adds 21). */
  cacheName: string;
  namespace: pulumi.Input<string>;
  /** `core.cachePaths()` (or the stack's mount path). */
  paths: CachePaths;
  /** `core.buildManifest(models)`: what the downloader fetches and the service verifies. */
  manifest: BuiltManifest;
  /** Default: `cacheClaimName(cacheName)`, `<cacheName>-cache`. */
  claimName?: string;
}

/** The longest cache name whose Job name (`<cacheName>-download-<10 hex>`) still fits a 63-character label. */
export const MAX_CACHE_NAME_CHARS = 42;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The claim name of a cache: also what a static PersistentVolume's claimRef names. */
export function cacheClaimName(cacheName: string): string {
  return `${cacheName}-cache`;
}

/** Checks the names and fills the claim name's default; the error names the arg. */
export function kubernetesCacheContext(args: KubernetesCacheContextArgs): KubernetesCacheContext {
  const fail = (arg: string, message: string): never => {
    throw new ComponentArgsError(`kubernetesCacheContext args.${arg}: ${message}`);
  };
  if (!DNS_LABEL.test(args.cacheName) || args.cacheName.length > MAX_CACHE_NAME_CHARS)
    fail("cacheName", `"${args.cacheName}" must be lower-case letters, digits and '-', at most ${MAX_CACHE_NAME_CHARS} characters`);
  const claimName = args.claimName ?? cacheClaimName(args.cacheName);
  if (!DNS_SUBDOMAIN.test(claimName) || claimName.length > 253)
    fail("claimName", `"${claimName}" must be a Kubernetes object name (lower-case letters, digits, '-' and '.')`);
  return { cacheName: args.cacheName, namespace: args.namespace, paths: args.paths, manifest: args.manifest, claimName };
}
