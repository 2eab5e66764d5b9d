/**
 * consumer-no-hub-credentials: a consumer holds no Hugging Face credential, neither as a variable
 * (value or secret reference) nor as a token file mounted where huggingface_hub looks for one.
 */
import { HUB_TOKEN_ENV_KEYS, HUB_TOKEN_FILE_NAMES, HUB_TOKEN_PATH_HINTS, isPathUnder } from "../lib/core";
import { containerWhere, describeMount, removeEnv } from "../lib/hints";
import { advisory, defineRule, type Finding, mandatory } from "../lib/rule";
import { UNKNOWN } from "../lib/values";
import { type ContainerView, isConsumer, type WorkloadView } from "../lib/view";
import { cacheRoots } from "../lib/workload";

/** huggingface_hub also reads its token file from wherever HF_TOKEN_PATH points. */
const TOKEN_PATH_ENV = "HF_TOKEN_PATH";

export const consumerNoHubCredentials = defineRule({
  name: "consumer-no-hub-credentials",
  description:
    "A model-cache consumer holds no Hugging Face hub credential: no HF_TOKEN or HUGGING_FACE_HUB_TOKEN (as a value or a secret " +
    "reference) and no token file mount. Only the downloader may hold the token.",
  severity: "critical",
  remediationSteps:
    "Remove HF_TOKEN, HUGGING_FACE_HUB_TOKEN and HF_TOKEN_PATH from every container of the consumer (env, envFrom secrets, ECS secrets) " +
    "and any mount of a token file (<HF_HOME>/token, ~/.cache/huggingface/token). The consumer reads a verified cache offline; give the " +
    "token to the downloader only, as a Pulumi secret.",
  checkWorkload(view) {
    if (!isConsumer(view)) return [];
    return view.containers.filter((cv) => cv.role !== "downloader").flatMap((cv) => checkContainer(view, cv));
  },
});

function checkContainer(view: WorkloadView, cv: ContainerView): Finding[] {
  const where = containerWhere(view, cv);
  const findings: Finding[] = [];
  for (const key of [...HUB_TOKEN_ENV_KEYS, TOKEN_PATH_ENV]) {
    const v = cv.c.env.get(key);
    if (!v) continue;
    const how =
      v.value === undefined ? ` from ${v.ref ?? "a reference"}` : v.value === UNKNOWN ? " (its value is unknown during preview)" : "";
    findings.push(mandatory(`${where} is given ${key}${how}: a consumer must hold no hub credential; ${removeEnv(view.w.family, key)}`));
  }
  for (const source of cv.c.envSources) {
    if (!source.secret) continue;
    findings.push(
      advisory(
        `cannot verify that ${source.description} of ${where} holds no ${HUB_TOKEN_ENV_KEYS.join(" or ")}; list the variables the consumer needs explicitly instead`,
      ),
    );
  }
  const homes = cacheRoots(cv.c);
  for (const m of cv.c.mounts) {
    if (typeof m.path !== "string") continue;
    const path = m.path.replace(/\/+$/, "");
    const hint = HUB_TOKEN_PATH_HINTS.find((h) => path.endsWith(h));
    const inHome = homes.find((home) => HUB_TOKEN_FILE_NAMES.some((f) => isPathUnder(path, `${home}/${f}`)));
    const namedToken = m.subPath !== undefined && (HUB_TOKEN_FILE_NAMES as readonly string[]).includes(m.subPath.split("/").pop() ?? "");
    if (hint || inHome || namedToken) {
      findings.push(
        mandatory(
          `${where} mounts a hub token file (${describeMount(m)}), which huggingface_hub would use; remove the mount from the consumer`,
        ),
      );
    }
  }
  return findings;
}
