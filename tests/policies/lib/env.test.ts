/** The environment a consumer really gets once the stack's ConfigMaps and Secrets are resolved. */
import { describe, expect, it } from "vitest";
import { type EnvObjects, envObjectKey, readEnv, resolveEnv } from "../../../policies/lib/env";
import { readKubernetesWorkloads } from "../../../policies/lib/kubernetes";
import type { Container } from "../../../policies/lib/workload";
import { K8S } from "../support/types";

function container(spec: Record<string, unknown>): Container {
  const [w] = readKubernetesWorkloads({
    urn: "urn:x",
    type: K8S.pod,
    name: "p",
    deps: [],
    props: { metadata: { name: "p", namespace: "ml" }, spec: { containers: [{ name: "c", ...spec }] } } as never,
  });
  return w?.containers[0] as Container;
}

const objects = (entries: [string, Record<string, string>][]): EnvObjects =>
  new Map(entries.map(([name, data]) => [envObjectKey("configMap", "ml", name), { kind: "configMap", namespace: "ml", name, data }]));

describe("resolveEnv and readEnv", () => {
  it("an explicit variable wins over every envFrom source; a later source wins over an earlier one", () => {
    const c = container({
      env: [{ name: "A", value: "explicit" }],
      envFrom: [{ configMapRef: { name: "one" } }, { configMapRef: { name: "two" } }],
    });
    resolveEnv(
      c,
      objects([
        ["one", { A: "1", B: "1" }],
        ["two", { B: "2" }],
      ]),
    );
    expect(readEnv(c, "A")).toMatchObject({ state: "set", value: "explicit" });
    expect(readEnv(c, "B")).toMatchObject({ state: "set", value: "2" });
  });

  it("a later source outside the stack may override a resolved one: unknowable", () => {
    const c = container({ envFrom: [{ configMapRef: { name: "one" } }, { configMapRef: { name: "elsewhere" } }] });
    resolveEnv(c, objects([["one", { HF_HUB_OFFLINE: "1" }]]));
    expect(readEnv(c, "HF_HUB_OFFLINE")).toMatchObject({ state: "unknowable", outside: true });
  });

  it("before the stack check a reference is pending; an optional key absent from its ConfigMap sets nothing", () => {
    const c = container({ env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "one", key: "x", optional: true } } }] });
    expect(readEnv(c, "X")).toEqual({ state: "pending" });
    resolveEnv(c, objects([["one", {}]]));
    expect(readEnv(c, "X")).toEqual({ state: "absent" });
  });
});
