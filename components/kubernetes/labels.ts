import { type ContractLabelInput, contractLabels, type Role } from "../core/contract";

/** The app's name in the recommended `app.kubernetes.io/name` label. */
export const APP_NAME = "model-cache";

/**
 * The recommended `app.kubernetes.io/*` labels that tools such as `kubectl get -l` and dashboards
 * group by, on every object of the cache: the app, the cache (instance) and, for a workload or
 * volume, its component. The one place they are spelled.
 */
export function appLabels(input: { cacheName?: string; component?: string } = {}): Record<string, string> {
  return {
    "app.kubernetes.io/name": APP_NAME,
    ...(input.cacheName === undefined ? {} : { "app.kubernetes.io/instance": input.cacheName }),
    ...(input.component === undefined ? {} : { "app.kubernetes.io/component": input.component }),
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

/**
 * Labels of a Kubernetes object that is part of the cache: the contract labels (role, cache,
 * manifest digest) that policies look for, plus the app labels.
 */
export function objectLabels(input: ContractLabelInput): Record<string, string> {
  return { ...contractLabels(input), ...appLabels({ cacheName: input.cacheName, component: input.role }) };
}

/**
 * What selects a role's pods: the contract labels without the manifest digest. A Deployment's
 * selector is immutable, and a rollout must see old-digest and new-digest pods as one set.
 */
export function selectorLabels(role: Role, cacheName: string): Record<string, string> {
  return contractLabels({ role, cacheName });
}
