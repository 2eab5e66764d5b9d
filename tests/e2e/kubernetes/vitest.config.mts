import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run e2e:kubernetes`: the real Pulumi CLI and Kubernetes provider against a loopback control
// plane (docs/kubernetes.md, "End-to-end: Kubernetes"). One file at a time: each starts its own
// control plane, and two cores do not run two of them well.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../../..", import.meta.url)),
    include: ["tests/e2e/kubernetes/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: "forks",
    fileParallelism: false,
  },
});
