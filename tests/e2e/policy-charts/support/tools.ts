/**
 * The real binaries this suite needs (the Pulumi CLI, the Kubernetes provider, etcd and
 * kube-apiserver), where scripts/e2e-tools.sh put them: the Kubernetes suite's reader of its
 * environment, narrowed to what this suite uses.
 */
import * as path from "node:path";
import { e2eTools } from "../../kubernetes/support/tools";

export interface Tools {
  /** Directory with `pulumi`. */
  pulumiDir: string;
  /** Directory with `pulumi-resource-kubernetes` (put on PATH: the engine takes it as an ambient plugin). */
  providerDir: string;
  etcd: string;
  kubeApiserver: string;
}

export function tools(env: NodeJS.ProcessEnv = process.env): Tools {
  const all = e2eTools(env);
  return { pulumiDir: path.dirname(all.pulumi), providerDir: all.providerDir, etcd: all.etcd, kubeApiserver: all.kubeApiserver };
}
