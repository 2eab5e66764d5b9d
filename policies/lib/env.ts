/**
 * A container's environment as the consumer will really see it: the stack check resolves
 * references to ConfigMaps and Secrets of the stack (`resolveEnv`), and every rule reads a
 * variable through `readEnv`, which says what the pack knows of it and, where it knows nothing,
 * why, so each rule reports the same cases the same way (`unknowable`).
 */
import type { EnvObject } from "./family";
import { type Finding, mandatory, previewUnknown } from "./finding";
import { UNKNOWN } from "./values";
import type { Container, EnvRef, EnvSource, EnvVar, ObjectRef, RefState } from "./workload";

export type EnvReading =
  | { state: "set"; value: string; via?: string }
  | { state: "absent" }
  | { state: "preview-unknown" }
  /** Behind a ConfigMap or Secret reference that only the stack check resolves. */
  | { state: "pending" }
  /** Nothing at deploy tells either: a ConfigMap or Secret outside the stack, an ECS env file or secret, a fieldRef. */
  | { state: "unknowable"; via: string; outside: boolean };

/** What the pack knows of `key` in this container. Explicit variables win over envFrom and env files (Kubernetes, ECS). */
export function readEnv(c: Container, key: string): EnvReading {
  const v = c.env.get(key);
  if (v) return readVar(v);
  if (c.envUnknown) return { state: "preview-unknown" };
  return fromSources(c.envSources);
}

function readVar(v: EnvVar): EnvReading {
  if (v.value === UNKNOWN) return { state: "preview-unknown" };
  if (typeof v.value === "string") return { state: "set", value: v.value, ...(v.ref ? { via: v.ref.description } : {}) };
  return fromRef(v.ref ?? { description: "a reference", secret: false, state: "unreadable" });
}

function fromRef(ref: EnvRef): EnvReading {
  switch (ref.state) {
    case "pending":
      return { state: "pending" };
    case "preview-unknown":
    case "resolved":
      return { state: "preview-unknown" };
    case "outside":
      return { state: "unknowable", via: ref.description, outside: true };
    case "unreadable":
      return { state: "unknowable", via: ref.description, outside: false };
  }
}

/** A variable not set explicitly may still come from any source the pack could not read. */
function fromSources(sources: EnvSource[]): EnvReading {
  const unknowable = sources.filter((s) => s.state === "outside" || s.state === "unreadable");
  if (unknowable.length > 0) {
    return {
      state: "unknowable",
      via: unknowable.map((s) => s.description).join(", "),
      outside: unknowable.some((s) => s.state === "outside"),
    };
  }
  if (sources.some((s) => s.state === "preview-unknown")) return { state: "preview-unknown" };
  if (sources.some((s) => s.state === "pending")) return { state: "pending" };
  return { state: "absent" };
}

/** The one message for a value the pack cannot know, now or at deploy: mandatory, with the fix. */
export function unknowable(what: string, reading: { via: string; outside: boolean }, fix: string): Finding {
  const why = reading.outside
    ? "which is not part of this stack, so the pack cannot read it now or at deploy"
    : "which the pack cannot read (nor can anything before the container starts)";
  return mandatory(`cannot know ${what}: it may come from ${reading.via}, ${why}; ${fix}`);
}

/** For `preview-unknown` readings. */
export function unknownInPreview(what: string): Finding {
  return previewUnknown(what);
}

/** How sources describe themselves in messages that list them. */
export function describeSources(sources: EnvSource[], states: RefState[]): string[] {
  return sources.filter((s) => states.includes(s.state)).map((s) => s.description);
}

// ---------------------------------------------------------------------------------------------
// Resolution against the stack's ConfigMaps and Secrets.

export type EnvObjects = Map<string, EnvObject & { cut?: boolean }>;

export const envObjectKey = (kind: EnvObject["kind"], namespace: string, name: string) => `${kind}:${namespace}/${name}`;

type Lookup = { state: "found"; data: Record<string, string> } | { state: Exclude<RefState, "pending" | "resolved"> };

function lookup(objects: EnvObjects, target: ObjectRef): Lookup {
  if (target.namespace === UNKNOWN || target.name === UNKNOWN || target.key === UNKNOWN) return { state: "preview-unknown" };
  const object = objects.get(envObjectKey(target.kind, target.namespace, target.name));
  if (!object) return { state: "outside" };
  if (object.cut) return { state: "unreadable" };
  if (object.data === UNKNOWN) return { state: "preview-unknown" };
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(object.data)) {
    if (v === UNKNOWN) return { state: "preview-unknown" };
    data[k] = v;
  }
  return { state: "found", data };
}

/**
 * Resolve the container's references to ConfigMaps and Secrets of the stack, in place: key
 * references get their value (or disappear: an optional key that is absent sets nothing), envFrom
 * sources add their keys below the explicit variables (a later source wins over an earlier one),
 * and every reference to an object outside the stack is marked so.
 */
export function resolveEnv(c: Container, objects: EnvObjects): void {
  for (const v of [...c.env.values()]) {
    const ref = v.ref;
    if (!ref?.target || ref.state !== "pending") continue;
    const found = lookup(objects, ref.target);
    if (found.state !== "found") {
      ref.state = found.state;
      continue;
    }
    const value = found.data[String(ref.target.key)];
    if (value === undefined) c.env.delete(v.name);
    else {
      v.value = value;
      ref.state = "resolved";
    }
  }
  const fromSources = new Map<string, { v: EnvVar; index: number }>();
  const unresolved: { source: EnvSource; index: number }[] = [];
  c.envSources.forEach((source, index) => {
    if (source.state !== "pending" || !source.target) {
      unresolved.push({ source, index });
      return;
    }
    const found = lookup(objects, source.target);
    if (found.state !== "found") {
      unresolved.push({ source: { ...source, state: found.state }, index });
      return;
    }
    for (const [key, value] of Object.entries(found.data)) {
      const name = `${source.target.prefix ?? ""}${key}`;
      const ref: EnvRef = { ...source, description: `${source.description} key ${key}`, state: "resolved" };
      fromSources.set(name, { v: { name, value, ref }, index });
    }
  });
  for (const [name, { v, index }] of fromSources) {
    if (c.env.has(name)) continue;
    // A later source the pack could not read may override this one.
    const later = unresolved.find((u) => u.index > index);
    c.env.set(name, later ? { name, value: undefined, ref: { ...later.source } } : v);
  }
  c.envSources = unresolved.map((u) => u.source);
}
