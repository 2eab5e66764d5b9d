/**
 * What the engine really shows a policy pack for the Kubernetes provider's rendering components,
 * with the real Pulumi CLI and provider (and a real API server, which yaml/v2 and helm v4 need for
 * the cluster's schema): each renders a Deployment that mounts the cache's claim read-write, online,
 * with a token. Where the engine registers the rendered objects as resources, the model-cache pack
 * sees the Deployment and fails it; a Helm Release renders inside the provider, so the pack never
 * sees its Deployment and says so (opaque-resources).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INTRUSION, intruderPodSpec } from "../../policies/support/fixtures";
import { type ApiServer, startApiServer } from "./support/api-server";
import { preview } from "./support/preview";
import { type Tools, tools } from "./support/tools";

const CHART = path.join(__dirname, "fixtures/chart");
/** The pack's hand-written intruder (tests/policies/support) as a Deployment on the cache's claim. */
const intruder = (name: string) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: "ml" },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: intruderPodSpec({ persistentVolumeClaim: { claimName: "models-cache" } }),
    },
  },
});

let t: Tools;
let work: string;
let api: ApiServer;

beforeAll(async () => {
  t = tools();
  work = mkdtempSync(path.join(tmpdir(), "policy-charts-"));
  api = await startApiServer(t, path.join(work, "cluster"));
});

afterAll(async () => {
  await api?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The cache (a labelled claim) and one rendering component. */
function program(render: (opts: { provider: k8s.Provider }) => void) {
  return async () => {
    const provider = new k8s.Provider("k8s", { kubeconfig: api.kubeconfig });
    new k8s.core.v1.PersistentVolumeClaim(
      "cache",
      {
        metadata: { name: "models-cache", namespace: "ml", labels: { "model-cache.io/role": "cache", "model-cache.io/cache": "models" } },
        spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } },
      },
      { provider },
    );
    render({ provider });
  };
}

describe.each([
  ["kubernetes:helm.sh/v3:Chart", (o: { provider: k8s.Provider }) => new k8s.helm.v3.Chart("chart", { path: CHART }, o), "chart-intruder"],
  ["kubernetes:helm.sh/v4:Chart", (o: { provider: k8s.Provider }) => new k8s.helm.v4.Chart("chart", { chart: CHART }, o), "chart-intruder"],
  [
    "kubernetes:yaml:ConfigGroup",
    (o: { provider: k8s.Provider }) => new k8s.yaml.ConfigGroup("group", { objs: [intruder("group-intruder")] }, o),
    "group-intruder",
  ],
  [
    "kubernetes:yaml/v2:ConfigGroup",
    (o: { provider: k8s.Provider }) => new k8s.yaml.v2.ConfigGroup("group", { objs: [intruder("group-intruder")] }, o),
    "group-intruder",
  ],
  [
    "kubernetes:yaml/v2:ConfigFile",
    (o: { provider: k8s.Provider }) => new k8s.yaml.v2.ConfigFile("file", { file: path.join(CHART, "templates/deployment.yaml") }, o),
    "chart-intruder",
  ],
] as const)("%s", (component, render, deployment) => {
  it("registers each rendered object as a resource of its own type, child of the component; the pack fails the intruder", async () => {
    const name = component.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
    const result = await preview(t, work, name, program(render));
    const rendered = result.seen.filter((s) => s.at === "AnalyzeStack" && s.type === "kubernetes:apps/v1:Deployment");
    expect(
      rendered.map((s) => s.urn),
      result.output,
    ).toEqual([expect.stringContaining(deployment)]);
    expect(rendered[0]?.parent).toMatch(new RegExp(`::${component.replace(/[/.]/g, "\\$&")}::`));
    expect(result.seen.filter((s) => s.at === "Analyze").map((s) => s.type)).toContain("kubernetes:apps/v1:Deployment");
    const onIntruder = result.diagnostics.filter((d) => d.level === "mandatory" && d.urn === rendered[0]?.urn).map((d) => d.policy);
    for (const policy of INTRUSION) expect(onIntruder, result.output).toContain(policy);
  });
});

describe("kubernetes:helm.sh/v3:Release", () => {
  it("shows the pack only the Release: its Deployment never reaches it, and the pack says the contract was not checked inside", async () => {
    const result = await preview(
      t,
      work,
      "release",
      program((o) => new k8s.helm.v3.Release("release", { chart: CHART }, o)),
    );
    expect(
      result.seen.map((s) => s.type),
      result.output,
    ).toContain("kubernetes:helm.sh/v3:Release");
    expect(result.seen.filter((s) => s.type === "kubernetes:apps/v1:Deployment")).toEqual([]);
    const advisories = result.diagnostics.filter((d) => d.policy === "opaque-resources");
    // The engine reports an advisory policy event as "advisory" (the Automation API's type says "warning").
    expect(
      advisories.map((d) => d.level),
      result.output,
    ).toEqual(["advisory"]);
    expect(advisories[0]?.message).toMatch(/not checked inside Release "release"/);
  });
});
