/**
 * unified-cache-env: HF_HOME, HF_HUB_CACHE and XDG_CACHE_HOME point at one cache root inside the
 * cache's mount, the same on the downloader and every consumer (TRANSFORMERS_CACHE too, advisory).
 */
import { cachePaths, isPathUnder, LEGACY_CACHE_ENV_KEYS, REQUIRED_CACHE_ENV_KEYS } from "../lib/core";
import { readEnv, unknowable } from "../lib/env";
import { containerWhere, setEnv } from "../lib/hints";
import { advisory, defineRule, type Finding, mandatory, previewUnknown, type StackContext } from "../lib/rule";
import { show } from "../lib/values";
import { type ContainerView, consumerContainers, downloaderContainers, type WorkloadView } from "../lib/view";

export const unifiedCacheEnv = defineRule({
  name: "unified-cache-env",
  description:
    "HF_HOME, HF_HUB_CACHE and XDG_CACHE_HOME are set, equal, under the cache's mount path, and identical on a cache's downloader and " +
    "its consumers (TRANSFORMERS_CACHE likewise, as advisory: transformers v5 no longer reads it).",
  severity: "medium",
  remediationSteps:
    "Point HF_HOME, HF_HUB_CACHE, XDG_CACHE_HOME (and TRANSFORMERS_CACHE for transformers < 5) at the cache root, <mount path>/.cache " +
    "(/app/models/.cache for the default mount), in the downloader and in every container that mounts the cache. Different values make the " +
    "consumer look for models where the downloader did not put them.",
  checkWorkload(view, _config, context) {
    const containers = [...downloaderContainers(view), ...consumerContainers(view)];
    return containers.flatMap((cv) => [...checkContainer(view, cv), ...(context ? sameAsDownloader(view, cv, context) : [])]);
  },
});

/** The root a container uses: its HF_HOME (or the first required key it sets), when known. */
function rootOf(cv: ContainerView): string | undefined {
  for (const key of REQUIRED_CACHE_ENV_KEYS) {
    const reading = readEnv(cv.container, key);
    if (reading.state === "set") return reading.value;
  }
  return undefined;
}

function mountPaths(cv: ContainerView): string[] {
  return cv.cacheMounts.flatMap((m) => (typeof m.path === "string" && m.path.startsWith("/") ? [m.path] : []));
}

function checkContainer(view: WorkloadView, cv: ContainerView): Finding[] {
  const where = containerWhere(view, cv);
  const paths = mountPaths(cv);
  const expected = paths[0] ? cachePaths(paths[0]).root : undefined;
  const suggestion = expected ?? "<mount path>/.cache";
  const findings: Finding[] = [];
  const known = new Map<string, string>();
  for (const key of REQUIRED_CACHE_ENV_KEYS) {
    const reading = readEnv(cv.container, key);
    const fix = setEnv(view.workload.family, key, suggestion);
    if (reading.state === "absent") findings.push(mandatory(`${where} does not set ${key}; ${fix}`));
    else if (reading.state === "preview-unknown") findings.push(previewUnknown(`${key} of ${where}`));
    else if (reading.state === "unknowable") findings.push(unknowable(`${key} of ${where}`, reading, `${fix} as a literal value`));
    else if (reading.state === "set") known.set(key, reading.value);
  }
  const values = [...new Set(known.values())];
  if (values.length > 1) {
    const listed = [...known].map(([k, v]) => `${k}=${v}`).join(", ");
    findings.push(mandatory(`${where} sets ${listed}: they must be equal, the cache root (${suggestion})`));
  }
  for (const value of values) {
    if (paths.length === 0) {
      findings.push(
        mandatory(
          `${where} points its cache variables at ${show(value)} but mounts no cache volume there; mount the models volume so that ${value} is inside it`,
        ),
      );
    } else if (!value.startsWith("/") || !paths.some((p) => isPathUnder(value, p))) {
      findings.push(
        mandatory(
          `${where} points its cache variables at ${show(value)}, outside the cache's mount (${paths.join(", ")}); set them to ${suggestion}`,
        ),
      );
    }
  }
  const root = values.length === 1 ? values[0] : undefined;
  for (const key of LEGACY_CACHE_ENV_KEYS) {
    const reading = readEnv(cv.container, key);
    if (root === undefined) continue;
    if (reading.state === "absent") {
      findings.push(
        advisory(`${where} does not set ${key}: transformers < 5 would look elsewhere; ${setEnv(view.workload.family, key, root)}`),
      );
    } else if (reading.state === "set" && reading.value !== root) {
      findings.push(
        advisory(`${where} sets ${key}=${show(reading.value)}, not the cache root ${root}; set it to ${root} (transformers < 5 reads it)`),
      );
    }
  }
  return findings;
}

/** Identical between the cache's downloader and this consumer. */
function sameAsDownloader(view: WorkloadView, cv: ContainerView, context: StackContext): Finding[] {
  if (cv.role !== "consumer") return [];
  const mine = rootOf(cv);
  if (mine === undefined) return [];
  const findings: Finding[] = [];
  const keys = new Set(cv.cacheMounts.flatMap((m) => context.self.cacheOf.get(m.volume) ?? []));
  for (const key of keys) {
    const group = context.stack.groups.get(key);
    for (const d of group?.downloaders ?? []) {
      const theirs = rootOf(d.cv);
      if (theirs === undefined || theirs === mine) continue;
      findings.push(
        mandatory(
          `${containerWhere(view, cv)} uses the cache root ${mine} but the downloader of ${group?.label ?? "its cache"} ` +
            `(${containerWhere(d.view, d.cv)}) writes ${theirs}; use one cache root everywhere`,
        ),
      );
    }
  }
  return findings;
}
