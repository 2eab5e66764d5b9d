import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run e2e:registry`: `model-cache measure` on a real Docker engine (README, "Model registry").
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../../..", import.meta.url)),
    include: ["tests/e2e/registry/**/*.test.ts"],
    fileParallelism: false,
    pool: "forks",
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
