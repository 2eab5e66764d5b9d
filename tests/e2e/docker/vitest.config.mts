import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run e2e:docker`: the dev stack on a real Docker engine (README, "End-to-end: Docker").
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../../..", import.meta.url)),
    include: ["tests/e2e/docker/**/*.test.ts"],
    globalSetup: ["tests/e2e/docker/support/global-setup.ts"],
    // One engine, one stack at a time.
    fileParallelism: false,
    pool: "forks",
    testTimeout: 300_000,
    hookTimeout: 1_800_000,
  },
});
