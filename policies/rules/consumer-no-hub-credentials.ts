/**
 * consumer-no-hub-credentials: a consumer holds no Hugging Face credential in any form
 * huggingface_hub reads (utils/_auth.py get_token): no credential variable — as a value, a
 * reference, from an envFrom source or an env file — and no token file where huggingface_hub
 * looks for one (`$HF_HOME/token`, `stored_tokens` beside it, `~/.cache/huggingface/token`).
 */
import { HUB_CREDENTIAL_ENV_KEYS, HUB_HOME_DIR_NAME, HUB_TOKEN_FILE_NAMES, HUB_TOKEN_PATH_HINTS, isPathUnder } from "../lib/core";
import { readEnv, unknowable } from "../lib/env";
import { containerWhere, describeMount, removeEnv } from "../lib/hints";
import { defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import { type ContainerView, isConsumer, type WorkloadView } from "../lib/view";
import type { Container, Mount, Workload } from "../lib/workload";

export const consumerNoHubCredentials = defineRule({
  name: "consumer-no-hub-credentials",
  description:
    `A model-cache consumer holds no Hugging Face hub credential: none of ${HUB_CREDENTIAL_ENV_KEYS.join(", ")} (as a value, a ` +
    "reference, an envFrom source or an env file) and no token file where huggingface_hub looks. Only the downloader may hold the token.",
  severity: "critical",
  remediationSteps:
    `Remove ${HUB_CREDENTIAL_ENV_KEYS.join(", ")} from every container of the consumer (env, envFrom, ECS secrets and environmentFiles) ` +
    "and any mount of a token file (<HF_HOME>/token, <HF_HOME>/stored_tokens, ~/.cache/huggingface/token). A source the pack cannot " +
    "read (a ConfigMap or Secret outside the stack, an ECS env file) could hold one: list the consumer's variables explicitly. Give the " +
    "token to the downloader only, as a Pulumi secret.",
  checkWorkload(view) {
    if (!isConsumer(view)) return [];
    return view.containers.filter((cv) => cv.role !== "downloader").flatMap((cv) => checkContainer(view, cv));
  },
});

function checkContainer(view: WorkloadView, cv: ContainerView): Finding[] {
  const where = containerWhere(view, cv);
  const findings: Finding[] = [];
  for (const key of HUB_CREDENTIAL_ENV_KEYS) {
    const v = cv.container.env.get(key);
    if (!v) continue;
    const how = v.ref ? ` from ${v.ref.description}` : "";
    findings.push(
      mandatory(`${where} is given ${key}${how}: a consumer must hold no hub credential; ${removeEnv(view.workload.family, key)}`),
    );
  }
  // Sources the pack could not resolve may hold any of them.
  for (const source of cv.container.envSources) {
    const what = `whether ${source.description} of ${where} holds ${HUB_CREDENTIAL_ENV_KEYS.join(", ")}`;
    if (source.state === "preview-unknown") findings.push(previewUnknown(what));
    else if (source.state === "outside" || source.state === "unreadable") {
      findings.push(
        unknowable(
          what,
          { via: source.description, outside: source.state === "outside" },
          "list the variables the consumer needs explicitly",
        ),
      );
    }
  }
  for (const m of cv.container.mounts) {
    if (typeof m.path !== "string" || !isTokenMount(view.workload, cv.container, m)) continue;
    findings.push(
      mandatory(
        `${where} mounts a hub token file (${describeMount(m)}), which huggingface_hub would use; remove the mount from the consumer`,
      ),
    );
  }
  return findings;
}

/** The directories huggingface_hub takes as HF_HOME for this container: HF_HOME, else $XDG_CACHE_HOME/huggingface. */
function hubHomes(c: Container): string[] {
  const homes: string[] = [];
  const home = readEnv(c, "HF_HOME");
  if (home.state === "set" && home.value.startsWith("/")) homes.push(home.value);
  const xdg = readEnv(c, "XDG_CACHE_HOME");
  if (xdg.state === "set" && xdg.value.startsWith("/")) homes.push(`${xdg.value.replace(/\/+$/, "")}/${HUB_HOME_DIR_NAME}`);
  return homes;
}

function isTokenMount(w: Workload, c: Container, m: Mount): boolean {
  const path = (m.path as string).replace(/\/+$/, "");
  if (HUB_TOKEN_PATH_HINTS.some((hint) => path.endsWith(hint))) return true;
  const homes = hubHomes(c);
  if (homes.some((home) => HUB_TOKEN_FILE_NAMES.some((file) => isPathUnder(path, `${home}/${file}`)))) return true;
  if (m.subPath !== undefined && (HUB_TOKEN_FILE_NAMES as readonly string[]).includes(m.subPath.split("/").pop() ?? "")) return true;
  // A Secret (or projected) volume mounted as the hub's home puts its keys, a `token` among them, there.
  const volume = w.volumes.get(m.volume);
  const hubDirs = [...homes, ...HUB_TOKEN_PATH_HINTS.map((hint) => hint.replace(/\/token$/, ""))];
  return volume?.kind === "secret" && hubDirs.some((dir) => path === dir.replace(/\/+$/, "") || path.endsWith(dir));
}
