/**
 * consumer-offline: every container of a consumer that mounts the cache runs with the hub
 * switched off: HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE both true.
 */
import { HUB_OFFLINE_KEY, isTruthyEnvValue, OFFLINE_ENV, OFFLINE_ENV_KEYS } from "../lib/core";
import { readEnv, unknowable } from "../lib/env";
import { containerWhere, setEnv } from "../lib/hints";
import { defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import { show } from "../lib/values";
import { type ContainerView, consumerContainers, type WorkloadView } from "../lib/view";

export const consumerOffline = defineRule({
  name: "consumer-offline",
  description:
    "Every container of a model-cache consumer that mounts the cache sets HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE to a true value, " +
    "so a missing model fails fast instead of downloading at run time.",
  severity: "high",
  remediationSteps:
    "Set HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1 in the environment of every container that mounts the cache (init containers " +
    "too). huggingface_hub reads HF_HUB_OFFLINE first: HF_HUB_OFFLINE=0 switches the hub on even when TRANSFORMERS_OFFLINE=1. Set them " +
    "as literal values: the pack reads ConfigMaps and Secrets of the stack, but not those outside it, ECS env files or secrets.",
  checkWorkload(view) {
    return consumerContainers(view).flatMap((cv) => OFFLINE_ENV_KEYS.map((key) => checkVar(view, cv, key)).filter((f) => f !== undefined));
  },
});

function checkVar(view: WorkloadView, cv: ContainerView, key: keyof typeof OFFLINE_ENV): Finding | undefined {
  const where = containerWhere(view, cv);
  const fix = setEnv(view.workload.family, key, OFFLINE_ENV[key]);
  const reading = readEnv(cv.container, key);
  switch (reading.state) {
    case "pending":
      return undefined;
    case "preview-unknown":
      return previewUnknown(`${key} of ${where}`);
    case "unknowable":
      return unknowable(`${key} of ${where}`, reading, `${fix} as a literal value`);
    case "absent":
      return mandatory(`${where} mounts the model cache but does not set ${key}, so it may download models at run time; ${fix}`);
    case "set": {
      if (isTruthyEnvValue(reading.value)) return undefined;
      const first =
        key === HUB_OFFLINE_KEY
          ? " (huggingface_hub reads HF_HUB_OFFLINE first: TRANSFORMERS_OFFLINE does not switch the hub off while HF_HUB_OFFLINE is false)"
          : "";
      const via = reading.via ? ` (from ${reading.via})` : "";
      return mandatory(
        `${where} sets ${key}=${show(reading.value)}${via}, which is not a true value (1, true, yes, on)${first}; set it to "${OFFLINE_ENV[key]}"`,
      );
    }
  }
}
