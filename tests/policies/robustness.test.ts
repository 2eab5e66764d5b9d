/**
 * The pack never fails a preview on odd input: property-based tests (fast-check) send generated
 * resources and stacks, the way the CLI would send them (unknowns as the unknown sentinel,
 * secrets wrapped), and assert that every request is answered, every diagnostic names one of the
 * pack's policies, and no rule ever threw (a rule that throws fails closed with a mandatory
 * "failed while checking" diagnostic, which these properties would catch).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AnalyzeResult } from "../../gate/analyzer-client";
import {
  CLAIM,
  clone,
  dockerStack,
  ecsStack,
  efsKubernetesStack,
  intruderPodSpec,
  type Json,
  K8S,
  type Resource,
  UNKNOWN,
  urn,
} from "./support/fixtures";
import { usePack } from "./support/pack";
import { POLICY_NAMES } from "./support/policy-names";
import { AWS, DOCKER } from "./support/types";

const h = usePack();

const POLICIES = new Set(POLICY_NAMES);

const TYPES = [...Object.values(DOCKER), ...Object.values(AWS), ...Object.values(K8S), "random:index/thing:Thing"];
const FIXTURES = (): Resource[] => [...dockerStack().all, ...efsKubernetesStack().all, ...ecsStack().all, ...EXTRA()];

/** Resources of the other routes (patch, list, Swarm service, ConfigMap, Secret, Release), to mutate too. */
const EXTRA = (): Resource[] => [
  {
    urn: urn(K8S.deploymentPatch, "patch"),
    type: K8S.deploymentPatch,
    name: "patch",
    props: {
      metadata: { name: "models-service", namespace: "ml" },
      spec: { template: { spec: { containers: [{ name: "model-server", env: [{ name: "HF_HUB_OFFLINE", value: "0" }] }] } } },
    },
  },
  {
    urn: urn(K8S.podList, "pods"),
    type: K8S.podList,
    name: "pods",
    props: {
      items: [{ metadata: { name: "p", namespace: "ml" }, spec: intruderPodSpec({ persistentVolumeClaim: { claimName: CLAIM } }) }],
    },
  },
  {
    urn: urn(DOCKER.service, "svc"),
    type: DOCKER.service,
    name: "svc",
    props: {
      name: "svc",
      taskSpec: {
        containerSpec: { image: "x", env: { HF_TOKEN: "t" }, mounts: [{ type: "volume", source: "model-cache-models", target: "/d" }] },
      },
      mode: { replicated: { replicas: 2 } },
    },
  },
  {
    urn: urn(K8S.configMap, "cm"),
    type: K8S.configMap,
    name: "cm",
    props: { metadata: { name: "app", namespace: "ml" }, data: { HF_HUB_OFFLINE: "0" } },
  },
  {
    urn: urn(K8S.secret, "s"),
    type: K8S.secret,
    name: "s",
    props: { metadata: { name: "app", namespace: "ml" }, data: { HF_TOKEN: "eA==" } },
  },
  { urn: urn(K8S.helmRelease, "r"), type: K8S.helmRelease, name: "r", props: { chart: "x" } },
];

/** A pack that hangs (a loop on a cyclic graph, say) fails the property instead of the test's timeout. */
function answered<T>(request: Promise<T>, ms = 10_000): Promise<T> {
  return Promise.race([
    request,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);
}

function expectSound(result: AnalyzeResult) {
  for (const d of result.diagnostics) {
    expect(POLICIES.has(d.policyName), d.policyName).toBe(true);
    expect(d.message, d.message).not.toMatch(/failed while checking/);
    expect(["advisory", "mandatory"]).toContain(d.enforcementLevel);
  }
}

/** Every path to a value inside a JSON tree. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) paths(v, [...prefix, i], out);
  } else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

function setAt(root: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value;
  let cur = root;
  for (const key of path.slice(0, -1)) cur = cur[key];
  const last = path[path.length - 1] as string | number;
  if (value === undefined) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = value;
  return root;
}

/** What may stand anywhere in a resource: any JSON, an unknown, a secret-looking object, odd numbers and strings. */
const replacement = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant(UNKNOWN),
  fc.constant(undefined),
  fc.constant(null),
  fc.constantFrom("", "0", "1", "true", "-1", "1e999", "6.5Gi", "NaN", "/", "../..", "HF_TOKEN=x", "{", "[]"),
  fc.integer(),
  fc.double(),
  fc.array(fc.string(), { maxLength: 5 }),
);

/** A fixture resource with one value replaced (inside containerDefinitions' JSON too). */
const mutated = fc
  .record({
    index: fc.nat(),
    pathSeed: fc.nat(),
    value: replacement,
    inside: fc.boolean(),
    secret: fc.boolean(),
    type: fc.option(fc.constantFrom(...TYPES)),
  })
  .map(({ index, pathSeed, value, inside, secret, type }) => {
    const all = FIXTURES();
    const r = clone(all[index % all.length] as Resource);
    if (inside && typeof r.props["containerDefinitions"] === "string") {
      const defs = JSON.parse(r.props["containerDefinitions"]);
      const ps = paths(defs);
      r.props["containerDefinitions"] = JSON.stringify(setAt(defs, ps[pathSeed % ps.length] ?? [], value) ?? null);
    } else {
      const ps = paths(r.props).filter((p) => p.length > 0);
      const p = ps[pathSeed % ps.length];
      if (p) setAt(r.props, p, value);
    }
    if (type !== null) r.type = type;
    if (secret) r.secretProps = Object.keys(r.props).slice(0, 2);
    return r;
  });

/** An arbitrary resource of a covered type with arbitrary properties. */
const arbitrary = fc
  .record({
    type: fc.constantFrom(...TYPES),
    name: fc.string({ minLength: 1, maxLength: 12 }),
    props: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 4 })),
  })
  .map(({ type, name, props }): Resource => ({ urn: urn(type, name), type, name, props: props as Record<string, Json> }));

describe("Analyze never fails", () => {
  it("on fixtures with one value replaced by anything", async () => {
    await fc.assert(
      fc.asyncProperty(mutated, async (r) => {
        expectSound(await answered(h.pack.analyze(r)));
      }),
      { numRuns: 150 },
    );
  });

  it("on resources of covered types with arbitrary properties", async () => {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (r) => {
        expectSound(await answered(h.pack.analyze(r)));
      }),
      { numRuns: 80 },
    );
  });

  it("on huge resources", async () => {
    const s = clone(dockerStack());
    s.service.props["envs"] = [...s.service.props["envs"], ...Array.from({ length: 20_000 }, (_, i) => `VAR_${i}=${"x".repeat(50)}`)];
    s.service.props["labels"] = [...s.service.props["labels"], { label: "blob", value: "y".repeat(2_000_000) }];
    const started = Date.now();
    expectSound(await h.pack.analyze(s.service));
    const e = clone(ecsStack());
    e.task.props["containerDefinitions"] = JSON.stringify(
      Array.from({ length: 500 }, (_, i) => ({ name: `c${i}`, environment: [{ name: "X", value: "z".repeat(1000) }] })),
    );
    expectSound(await h.pack.analyze(e.task));
    const deep: Json = {};
    let cur = deep;
    for (let i = 0; i < 90; i++) cur = cur.spec = {};
    expectSound(await h.pack.analyze({ urn: urn(K8S.deployment, "deep"), type: K8S.deployment, name: "deep", props: deep }));
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe("AnalyzeStack never fails", () => {
  const stack = fc
    .record({
      resources: fc.array(fc.oneof(mutated, arbitrary), { minLength: 0, maxLength: 8 }),
      links: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom("dep", "parent", "prop")), { maxLength: 12 }),
      keepFixtures: fc.boolean(),
    })
    .map(({ resources, links, keepFixtures }) => {
      const all = [...(keepFixtures ? FIXTURES() : []), ...resources].map((r, i) => ({ ...r, urn: `${r.urn}-${i}` }));
      for (const [a, b, kind] of links) {
        const from = all[a % Math.max(all.length, 1)];
        const to = all[b % Math.max(all.length, 1)];
        if (!from || !to) continue;
        // Cycles, self-dependencies and dangling URNs included.
        if (kind === "parent") from.parent = to.urn;
        else if (kind === "dep") from.dependencies = [...(from.dependencies ?? []), to.urn, "urn:pulumi:test::x::y::dangling"];
        else from.propertyDependencies = { ...(from.propertyDependencies ?? {}), volumes: [to.urn] };
      }
      return all;
    });

  it("on generated stacks with arbitrary graphs", async () => {
    await fc.assert(
      fc.asyncProperty(stack, async (resources) => {
        expectSound(await answered(h.pack.analyzeStack(resources)));
      }),
      { numRuns: 60 },
    );
  });
});
