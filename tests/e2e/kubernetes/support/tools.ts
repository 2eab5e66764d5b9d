/**
 * Where scripts/e2e-tools.sh put the real binaries: `npm run e2e:kubernetes` exports these
 * (`eval "$(bash scripts/e2e-tools.sh --env)"`) before vitest starts.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { z } from "zod";

const ToolsEnv = z.object({
  E2E_PULUMI_BIN: z.string().min(1),
  E2E_LANGUAGE_HOST_BIN: z.string().min(1),
  E2E_PROVIDER_BIN: z.string().min(1),
  E2E_PROVIDER_VERSION: z.string().min(1),
  E2E_ETCD_BIN: z.string().min(1),
  E2E_KUBERNETES_BIN: z.string().min(1),
  E2E_KUBERNETES_VERSION: z.string().min(1),
  E2E_KWOK_BIN: z.string().min(1),
});

export interface E2eTools {
  pulumi: string;
  /** The directory holding the real pulumi-language-nodejs (put on PATH for the engine). */
  languageHostDir: string;
  /** The directory holding pulumi-resource-kubernetes (put on PATH for the engine). */
  providerDir: string;
  providerVersion: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kubernetesVersion: string;
  kwok: string;
  /** kwok's own stage files, copied by the build. */
  kwokStagesDir: string;
}

export function e2eTools(env: NodeJS.ProcessEnv = process.env): E2eTools {
  const parsed = ToolsEnv.safeParse(env);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((i) => i.path.join(".")).join(", ");
    throw new Error(
      `${missing}: not set; run the suite with \`npm run e2e:kubernetes\` (it builds the tools with scripts/e2e-tools.sh and exports them)`,
    );
  }
  const e = parsed.data;
  const tools: E2eTools = {
    pulumi: path.join(e.E2E_PULUMI_BIN, "pulumi"),
    languageHostDir: e.E2E_LANGUAGE_HOST_BIN,
    providerDir: e.E2E_PROVIDER_BIN,
    providerVersion: e.E2E_PROVIDER_VERSION,
    etcd: path.join(e.E2E_ETCD_BIN, "etcd"),
    kubeApiserver: path.join(e.E2E_KUBERNETES_BIN, "kube-apiserver"),
    kubeControllerManager: path.join(e.E2E_KUBERNETES_BIN, "kube-controller-manager"),
    kubeScheduler: path.join(e.E2E_KUBERNETES_BIN, "kube-scheduler"),
    kubectl: path.join(e.E2E_KUBERNETES_BIN, "kubectl"),
    kubernetesVersion: e.E2E_KUBERNETES_VERSION,
    kwok: path.join(e.E2E_KWOK_BIN, "kwok"),
    kwokStagesDir: path.join(e.E2E_KWOK_BIN, "..", "stages"),
  };
  for (const file of [
    tools.pulumi,
    path.join(tools.languageHostDir, "pulumi-language-nodejs"),
    path.join(tools.providerDir, "pulumi-resource-kubernetes"),
    tools.etcd,
    tools.kubeApiserver,
    tools.kwok,
  ]) {
    if (!existsSync(file)) throw new Error(`${file}: missing; run bash scripts/e2e-tools.sh`);
  }
  return tools;
}
