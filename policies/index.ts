/**
 * The model-cache contract policy pack: `pulumi preview --policy-pack policies`. Every rule lives in
 * its own module under rules/; this file only constructs the pack.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("model-cache-contract", {
  description:
    "Rejects stacks that break the model-cache contract (docs/architecture.md in the model-cache repository): offline, read-only, credential-free consumers with measured memory, " +
    "a GPU and a startup grace; one pinned, one-shot downloader per cache that every consumer waits for.",
  enforcementLevel: "mandatory",
  policies,
});
