/**
 * Kubernetes values as a stack's config writes them, parsed and checked without the Pulumi SDK
 * (the config schema and the components both use these). Pulumi project config has no object
 * type, so a node selector is a list of `key=value` strings and a toleration a `key[=value][:Effect]`
 * string: the same notation as `kubectl taint` and `kubectl label`.
 */
import { parseQuantity } from "../core/quantity";

/** A DNS-1123 label: namespaces, object names that end up in labels. */
export const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A DNS-1123 subdomain: most object names (storage classes, persistent volumes). */
export const DNS_SUBDOMAIN_RE = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const LABEL_NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const;
export type TaintEffect = (typeof TAINT_EFFECTS)[number];

export interface Toleration {
  key: string;
  operator: "Equal" | "Exists";
  value?: string;
  effect?: TaintEffect;
}

/** A positive resource quantity (cpu, memory, storage) in apimachinery's grammar. */
export function isQuantity(value: string): boolean {
  const q = parseQuantity(value);
  return q !== undefined && q.numerator > 0n;
}

/** A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters. */
export function isLabelKey(key: string): boolean {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  return (prefix === undefined || DNS_SUBDOMAIN_RE.test(prefix)) && LABEL_NAME_RE.test(name);
}

export function isLabelValue(value: string): boolean {
  return LABEL_VALUE_RE.test(value);
}

/** `key=value` → [key, value]; throws a message that says what is wrong. */
export function parseNodeSelectorEntry(entry: string): [string, string] {
  const eq = entry.indexOf("=");
  if (eq < 0) throw new Error(`"${entry}" is not "key=value" (e.g. "nvidia.com/gpu.present=true")`);
  const key = entry.slice(0, eq);
  const value = entry.slice(eq + 1);
  if (!isLabelKey(key)) throw new Error(`"${key}" in "${entry}" is not a valid label key`);
  if (!isLabelValue(value)) throw new Error(`"${value}" in "${entry}" is not a valid label value`);
  return [key, value];
}

/** A list of `key=value` strings → a node selector; a key given twice is an error. */
export function parseNodeSelector(entries: readonly string[]): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const entry of entries) {
    const [key, value] = parseNodeSelectorEntry(entry);
    if (key in selector) throw new Error(`"${key}" is given twice`);
    selector[key] = value;
  }
  return selector;
}

/**
 * `key=value:Effect` (operator Equal), `key:Effect` (operator Exists), `key=value` or `key`
 * (any effect) → a toleration; throws a message that says what is wrong.
 */
export function parseToleration(entry: string): Toleration {
  const colon = entry.lastIndexOf(":");
  const effect = colon < 0 ? undefined : entry.slice(colon + 1);
  const keyValue = colon < 0 ? entry : entry.slice(0, colon);
  if (effect !== undefined && !(TAINT_EFFECTS as readonly string[]).includes(effect)) {
    throw new Error(`effect "${effect}" in "${entry}" is not one of ${TAINT_EFFECTS.join(", ")}`);
  }
  const eq = keyValue.indexOf("=");
  const key = eq < 0 ? keyValue : keyValue.slice(0, eq);
  const value = eq < 0 ? undefined : keyValue.slice(eq + 1);
  if (!isLabelKey(key)) {
    throw new Error(
      `"${key}" in "${entry}" is not a valid taint key; write key=value:Effect or key:Effect (e.g. "nvidia.com/gpu:NoSchedule")`,
    );
  }
  if (value !== undefined && !isLabelValue(value)) throw new Error(`"${value}" in "${entry}" is not a valid taint value`);
  return {
    key,
    operator: value === undefined ? "Exists" : "Equal",
    ...(value === undefined ? {} : { value }),
    ...(effect === undefined ? {} : { effect: effect as TaintEffect }),
  };
}
