import { defineConfig } from "vitest/config";

// `npm run e2e:policy-charts`: the real Pulumi CLI, Kubernetes provider, etcd and kube-apiserver.
export default defineConfig({
  test: {
    include: ["tests/e2e/policy-charts/**/*.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 180_000,
    pool: "forks",
    fileParallelism: false,
  },
});
