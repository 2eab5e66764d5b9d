/**
 * Plain values out of the property bags the policy SDK hands us.
 *
 * `@pulumi/policy` wraps every resource's properties in a proxy that throws `UnknownValueError`
 * the moment a rule touches a value that is unknown during preview; left alone, that aborts the
 * whole rule for the resource (the SDK then reports one advisory "can't run policy during
 * preview") and hides every real violation next to the unknown value. `materialize` copies the
 * bag once into plain data, turning each unknown into the `UNKNOWN` marker, so a rule checks
 * everything it can and says precisely what it could not check.
 */
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";

export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;

/** A JSON-like value with unknowns marked. */
export type Value = null | boolean | number | string | Unknown | Value[] | { [key: string]: Value };
export type Obj = { [key: string]: Value };

/** Deeper than this is not a resource anyone writes; it is treated as unknown rather than walked. */
const MAX_DEPTH = 64;
/**
 * At most this many values are copied out of one resource, so one huge property cannot stall the
 * pack. A resource that holds more is reported as not checked (mandatory), never silently cut:
 * Kubernetes and Docker would apply what the pack did not read.
 */
export const MAX_VALUES = 100_000;

export interface Materialized {
  props: Obj;
  /** The resource held more than MAX_VALUES values (or nesting deeper than MAX_DEPTH): what the pack read is incomplete. */
  cut: boolean;
}

/**
 * `@pulumi/policy`'s proxy hands out the data it wraps under this key (proxy.ts
 * getSpecialProxyTarget): walking that instead of the proxy saves a trap per value. Unknowns are
 * the same sentinel strings in it.
 */
const PROXY_TARGET = "__getSpecialProxyTarget";

function unwrap(input: unknown): unknown {
  if (input === null || typeof input !== "object") return input;
  const target = read(() => (input as Record<string, unknown>)[PROXY_TARGET], undefined);
  return target !== null && typeof target === "object" ? target : input;
}

/** Copy a (proxied) property bag into plain data; never throws. */
export function materialize(input: unknown): Materialized {
  const budget = { left: MAX_VALUES, cut: false };
  const value = walk(unwrap(input), 0, budget);
  return { props: isObj(value) ? value : {}, cut: budget.cut };
}

/** Plain JSON (e.g. ECS containerDefinitions, parsed) as a Value; `cut` as for materialize. */
export function toValue(input: unknown): { value: Value; cut: boolean } {
  const budget = { left: MAX_VALUES, cut: false };
  return { value: walk(input, 0, budget), cut: budget.cut };
}

function walk(input: unknown, depth: number, budget: { left: number; cut: boolean }): Value {
  if (budget.left-- <= 0) {
    budget.cut = true;
    return UNKNOWN;
  }
  if (input === null || input === undefined) return null;
  if (typeof input === "string") return input === unknownValue ? UNKNOWN : input;
  if (typeof input === "number") return Number.isFinite(input) ? input : null;
  if (typeof input === "boolean") return input;
  if (typeof input !== "object") return null;
  if (depth >= MAX_DEPTH) {
    budget.cut = true;
    return UNKNOWN;
  }
  if (Array.isArray(input)) {
    const out: Value[] = [];
    const length = read(() => input.length, 0);
    for (let i = 0; i < length && !budget.cut; i++) out.push(read(() => walk(input[i], depth + 1, budget), UNKNOWN));
    return out;
  }
  const out: Obj = {};
  const keys = read(() => Object.keys(input), [] as string[]);
  for (const key of keys) {
    if (budget.cut) break;
    out[key] = read(() => walk((input as Record<string, unknown>)[key], depth + 1, budget), UNKNOWN);
  }
  return out;
}

/** Read through the SDK's proxy: an unknown becomes `fallback` (UNKNOWN); anything else odd too. */
function read<T>(get: () => T, fallback: T): T {
  try {
    return get();
  } catch {
    // The SDK's UnknownValueError is the expected case; any other throwing getter is treated alike.
    return fallback;
  }
}

export function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The value at a path of keys, `UNKNOWN` if any step is unknown, undefined if absent or mistyped. */
export function at(root: Value | undefined, ...path: (string | number)[]): Value | undefined {
  let cur: Value | undefined = root;
  for (const key of path) {
    if (cur === UNKNOWN) return UNKNOWN;
    if (typeof key === "number") {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[key];
    } else {
      if (!isObj(cur)) return undefined;
      cur = Object.hasOwn(cur, key) ? cur[key] : undefined;
    }
  }
  return cur;
}

export function str(value: Value | undefined): string | Unknown | undefined {
  if (value === UNKNOWN) return UNKNOWN;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

export function num(value: Value | undefined): number | Unknown | undefined {
  if (value === UNKNOWN) return UNKNOWN;
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

export function bool(value: Value | undefined): boolean | Unknown | undefined {
  if (value === UNKNOWN) return UNKNOWN;
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  return undefined;
}

/** A readOnly flag: unset is false (read-write). */
export function readOnlyOf(value: Value | undefined): boolean | Unknown {
  const b = bool(value);
  return b === UNKNOWN ? UNKNOWN : b === true;
}

/** An array (an unknown array is UNKNOWN; anything else is empty). */
export function list(value: Value | undefined): Value[] | Unknown {
  if (value === UNKNOWN) return UNKNOWN;
  return Array.isArray(value) ? value : [];
}

export function obj(value: Value | undefined): Obj | Unknown | undefined {
  if (value === UNKNOWN) return UNKNOWN;
  return isObj(value) ? value : undefined;
}

/** A string map (labels, tags): unknown entries are dropped, the map is UNKNOWN if it is. */
export function stringMap(value: Value | undefined): Record<string, string> | Unknown {
  if (value === UNKNOWN) return UNKNOWN;
  const out: Record<string, string> = {};
  if (!isObj(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    const s = str(v);
    if (typeof s === "string") out[k] = s;
  }
  return out;
}

/** Short, safe rendering of a value for messages. */
export function show(value: unknown): string {
  if (value === UNKNOWN) return "(unknown during preview)";
  if (value === undefined) return "(unset)";
  const text = typeof value === "string" ? JSON.stringify(value) : safeJson(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
