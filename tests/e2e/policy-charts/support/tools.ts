/**
 * The real binaries this suite needs, where the Kubernetes end-to-end issue's tool script puts
 * them (`eval "$(bash scripts/e2e-tools.sh --env)"` exports these): the Pulumi CLI, the
 * Kubernetes provider, etcd and kube-apiserver.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { z } from "zod";

const ToolsEnv = z.object({
  E2E_PULUMI_BIN: z.string().min(1),
  E2E_PROVIDER_BIN: z.string().min(1),
  E2E_ETCD_BIN: z.string().min(1),
  E2E_KUBERNETES_BIN: z.string().min(1),
});

export interface Tools {
  /** Directory with `pulumi`. */
  pulumiDir: string;
  /** Directory with `pulumi-resource-kubernetes` (put on PATH: the engine takes it as an ambient plugin). */
  providerDir: string;
  etcd: string;
  kubeApiserver: string;
}

export function tools(env: NodeJS.ProcessEnv = process.env): Tools {
  const parsed = ToolsEnv.safeParse(env);
  if (!parsed.success) {
    const missing = parsed.error.issues.map((i) => i.path.join(".")).join(", ");
    throw new Error(
      `${missing}: not set; run \`eval "$(bash scripts/e2e-tools.sh --env)"\` first (it builds the real CLI, provider, etcd and kube-apiserver)`,
    );
  }
  const e = parsed.data;
  const found: Tools = {
    pulumiDir: e.E2E_PULUMI_BIN,
    providerDir: e.E2E_PROVIDER_BIN,
    etcd: path.join(e.E2E_ETCD_BIN, "etcd"),
    kubeApiserver: path.join(e.E2E_KUBERNETES_BIN, "kube-apiserver"),
  };
  for (const file of [
    path.join(found.pulumiDir, "pulumi"),
    path.join(found.providerDir, "pulumi-resource-kubernetes"),
    found.etcd,
    found.kubeApiserver,
  ]) {
    if (!existsSync(file)) throw new Error(`${file} is missing; run scripts/e2e-tools.sh to build it`);
  }
  return found;
}
