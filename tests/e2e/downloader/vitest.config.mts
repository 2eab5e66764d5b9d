import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run e2e:downloader`: the downloader against nginx, a real HTTP server (README, "Testing").
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("../../..", import.meta.url)),
    include: ["tests/e2e/downloader/**/*.test.ts"],
    fileParallelism: false,
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
