import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // End-to-end suites against real engines run with `npm run e2e:*` (their own configs).
    exclude: ["tests/e2e/**", "**/node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Pulumi mocks are process-global: each test file runs in its own fork.
    pool: "forks",
  },
});
