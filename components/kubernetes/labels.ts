import { type ContractLabelInput, contractLabels, type Role } from "../core/contract";

/**
 * Labels of a Kubernetes object that is part of the cache: the contract labels (role, cache,
 * manifest digest) that policies look for, plus the recommended `app.kubernetes.io/*` labels
 * that tools such as `kubectl get -l` and dashboards group by.
 */
export function objectLabels(input: ContractLabelInput): Record<string, string> {
  return {
    ...contractLabels(input),
    "app.kubernetes.io/name": "model-cache",
    "app.kubernetes.io/instance": input.cacheName,
    "app.kubernetes.io/component": input.role,
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

/**
 * What selects a role's pods: the contract labels without the manifest digest. A Deployment's
 * selector is immutable, and a rollout must see old-digest and new-digest pods as one set.
 */
export function selectorLabels(role: Role, cacheName: string): Record<string, string> {
  return contractLabels({ role, cacheName });
}
