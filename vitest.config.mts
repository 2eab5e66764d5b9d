import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Pulumi mocks are process-global: each test file runs in its own fork.
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "default",
          include: ["tests/**/*.test.ts"],
          // End-to-end suites against real engines run with `npm run e2e:*` (their own configs).
          exclude: ["tests/e2e/**", "**/node_modules/**", "tests/policies/rules/**", "tests/policies/lib/**"],
        },
      },
      {
        // The in-process policy tests share no global state (no mocks, no pack process): one fork
        // imports the SDK once for all of them.
        extends: true,
        test: { name: "policy-rules", include: ["tests/policies/rules/**/*.test.ts", "tests/policies/lib/**/*.test.ts"], isolate: false },
      },
    ],
  },
});
