/** The policy names (users configure policies by these names), in order: the contract's twelve, then opaque-resources. */
export const POLICY_NAMES = [
  "consumer-offline",
  "consumer-read-only-mount",
  "unified-cache-env",
  "consumer-no-hub-credentials",
  "measured-memory-limit",
  "consumer-gpu",
  "startup-grace",
  "pinned-models",
  "downloader-one-shot",
  "consumer-after-downloader",
  "manifest-coverage",
  "one-writer",
  "opaque-resources",
];
