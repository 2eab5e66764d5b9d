/**
 * The Kubernetes stack for real: the Pulumi CLI (v3.276.0, built from the module proxy), its
 * engine and the pulumi-kubernetes provider (built from the module proxy) against a loopback
 * control plane (etcd, kube-apiserver with PodSecurity admission, kube-controller-manager,
 * kube-scheduler), with kwok faking the nodes and pod lifecycles: there is no kubelet, so no
 * container runs; kwok marks scheduled pods Running and Ready, and this suite's kwok stages mark
 * Job pods Succeeded (or Failed for FAILING_IMAGE). The Node.js language plugin is the real one at
 * v3.68.0, the newest the module proxy serves (scripts/e2e-tools.sh); it cannot start policy
 * packs, so the pack is handed to the CLI as an executable analyzer (PulumiProject.policyPack).
 *
 * The stack: the prod stack's settings except the AWS volume (static, bound to a PV created here).
 * Tests run in order on one stack, as an operator's days would.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheClaimName } from "../../../components/kubernetes/model-cache-volume";
import { downloaderJobName } from "../../../components/kubernetes/model-downloader";
import { parseStackConfig } from "../../../infra/config";
import { planStack } from "../../../infra/plan";
import { policies } from "../../../policies/rules";
import { type ControlPlane, startControlPlane } from "./support/control-plane";
import { type EngineEvent, indexOf, opsOn, policyEvents, readEvents } from "./support/events";
import { FAILING_IMAGE, FAILING_MESSAGE } from "./support/kwok-stages";
import { PulumiProject } from "./support/pulumi-project";
import { e2eConfig, NS, staticPersistentVolume } from "./support/stack";
import { e2eTools } from "./support/tools";

const STACK = "e2e";
const PV_NAME = "model-cache-e2e-models";
const JOB = "kubernetes:batch/v1:Job";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

let cluster: ControlPlane;
let project: PulumiProject;
let config: Record<string, unknown>;
let eventLogs = 0;

/** The stack's config as the program parses it (the stack file's values as the engine hands them). */
function planOf(stackConfig: Record<string, unknown>) {
  const raw = Object.fromEntries(Object.entries(stackConfig).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  return planStack(parseStackConfig(raw, ["kubeconfig", "hfToken"]));
}

async function withEvents(run: (eventLog: string) => Promise<{ code: number | null; output: string }>) {
  const file = path.join(project.dir, `..`, `events-${++eventLogs}.jsonl`);
  const result = await run(file);
  let events: EngineEvent[] = [];
  try {
    events = readEvents(file);
  } catch {
    // no log when the CLI failed before the engine started
  }
  return { ...result, events };
}

const up = (...extra: string[]) => withEvents((log) => project.up("--event-log", log, ...extra));
const preview = (...extra: string[]) => withEvents((log) => project.preview("--event-log", log, ...extra));

/** The engine's messages carry its colour markup (`<{%reset%}>`), which a terminal renders. */
const uncolored = (message: string) => message.replace(/<\{%[^%]*%\}>/g, "").trim();

async function job(name: string) {
  return cluster.getJson(["job", name, "-n", NS]);
}

function condition(obj: { status?: { conditions?: { type: string; status: string }[] } }, type: string): string | undefined {
  return obj.status?.conditions?.find((c) => c.type === type)?.status;
}

beforeAll(async () => {
  const tools = e2eTools();
  cluster = await startControlPlane(tools);
  config = e2eConfig(PV_NAME);
  const cacheName = String(config["model-cache:cacheName"] ?? "models");
  await cluster.kubectl(
    ["apply", "-f", "-"],
    JSON.stringify(staticPersistentVolume(PV_NAME, NS, cacheName, String(config["model-cache:storageClassName"]))),
  );
  project = await PulumiProject.create(tools, STACK, config, { "model-cache:kubeconfig": cluster.kubeconfig });
});

afterAll(async () => {
  await cluster?.stop();
  project?.remove();
});

describe("the prod settings on a real API server, with the real CLI and provider", () => {
  it("`pulumi preview --policy-pack policies` passes, with the same diagnostics as `npm run check` for the stack", async () => {
    const result = await preview("--policy-pack", project.policyPack());
    expect(result.code, result.output).toBe(0);
    const fromCli = policyEvents(result.events)
      .map((e) => ({ policy: e.policyName, level: e.enforcementLevel, urn: e.resourceUrn ?? "", message: uncolored(e.message) }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    // The hermetic gate, run in the same project for the same stack file.
    const gate = await runGate();
    // The engine prints a violation as the policy's description, a newline, then its message.
    const description = (policy: string) => policies.find((p) => p.name === policy)?.description ?? "";
    const fromGate = gate.diagnostics
      .map((d) => ({ policy: d.policy, level: d.level, urn: d.urn, message: `${description(d.policy)}\n${d.message}`.trim() }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(fromCli.length).toBeGreaterThan(0); // the stack downloads SigLIP unverified: an advisory
    expect(fromCli).toEqual(fromGate);
    expect(fromGate.filter((d) => d.level === "mandatory")).toEqual([]);
  });

  it("`pulumi up` creates the digest-named Job, awaits it, and only then creates the Deployment; every pod passes `restricted`", async () => {
    const result = await up();
    expect(result.code, result.output).toBe(0);
    const plan = planOf(project.readConfig());
    const jobName = downloaderJobName(plan.config.cacheName, plan.manifest.digest);
    expect(condition(await job(jobName), "Complete")).toBe("True");
    // The engine's own order: the Job's create finished (awaited to Complete) before the
    // Deployment's create started.
    const jobDone = indexOf(result.events, { phase: "outputs", type: JOB, ops: ["create"] });
    const deploymentStart = indexOf(result.events, { phase: "pre", type: DEPLOYMENT, ops: ["create"] });
    expect(jobDone).toBeGreaterThanOrEqual(0);
    expect(deploymentStart).toBeGreaterThan(jobDone);

    const ns = await cluster.getJson(["namespace", NS]);
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const pods = (await cluster.getJson(["pods", "-n", NS])).items as { metadata: { name: string; labels: Record<string, string> } }[];
    // Pods exist only once admitted: the Job's pod and both replicas were.
    expect(pods.filter((p) => p.metadata.labels["job-name"] === jobName)).toHaveLength(1);
    expect(pods.filter((p) => p.metadata.labels["model-cache.io/role"] === "service")).toHaveLength(plan.config.replicas);
    // …and admission does enforce there: a pod that is not `restricted` is refused.
    const refused = await cluster
      .kubectl(["run", "not-restricted", "-n", NS, "--image", "busybox", "--restart", "Never", "--dry-run=server", "-o", "name"])
      .then(
        () => "",
        (err: Error) => err.message,
      );
    expect(refused).toMatch(/violates PodSecurity "restricted/);
    expect((await project.outputs())["jobName"]).toBe(jobName);
  });

  it("a second `pulumi up --expect-no-changes` passes", async () => {
    const result = await up("--expect-no-changes");
    expect(result.code, result.output).toBe(0);
  });

  it("a day later (the finished Job deleted, as a TTL or an operator would) `preview` and `up` still pass", async () => {
    const plan = planOf(project.readConfig());
    const jobName = downloaderJobName(plan.config.cacheName, plan.manifest.digest);
    await cluster.kubectl(["delete", "job", jobName, "-n", NS, "--wait=true"]);
    const p = await preview("--expect-no-changes");
    expect(p.code, p.output).toBe(0);
    const u = await up("--expect-no-changes");
    expect(u.code, u.output).toBe(0);
    // pulumi-kubernetes #3089: an in-place change of a Job that is gone (the provider patches a
    // Job in place for anything but its template, completions, parallelism and selector, e.g. the
    // retry limit) fails "unable to get cluster state". This Job is never patched: a change of it
    // is a fresh run.
    project.writeConfig({ ...project.readConfig(), "model-cache:jobBackoffLimit": 3 });
    const changed = await up();
    expect(changed.code, changed.output).toBe(0);
    expect(changed.output).not.toMatch(/unable to get cluster state/);
    expect(condition(await job(jobName), "Complete")).toBe("True");
    expect(opsOn(changed.events, DEPLOYMENT)).toEqual(["same"]);
  });

  it("a new model list runs a new Job, and rolls the Deployment only after that Job succeeded", async () => {
    const before = planOf(project.readConfig());
    const oldJob = downloaderJobName(before.config.cacheName, before.manifest.digest);
    const rsBefore = (await cluster.getJson(["replicasets", "-n", NS])).items.map((r: { metadata: { name: string } }) => r.metadata.name);
    // yunet out of the set (and its argument out of the server's command line).
    const cfg = project.readConfig();
    const args = cfg["model-cache:serviceArgs"] as string[];
    const i = args.indexOf("--yunet");
    project.writeConfig({
      ...cfg,
      "model-cache:models": (cfg["model-cache:models"] as string[]).filter((m) => m !== "yunet"),
      "model-cache:serviceArgs": [...args.slice(0, i), ...args.slice(i + 2)],
    });
    const after = planOf(project.readConfig());
    const newJob = downloaderJobName(after.config.cacheName, after.manifest.digest);
    expect(newJob).not.toBe(oldJob);

    const result = await up();
    expect(result.code, result.output).toBe(0);
    expect(condition(await job(newJob), "Complete")).toBe("True");
    const jobDone = indexOf(result.events, { phase: "outputs", type: JOB, ops: ["create-replacement", "create"] });
    const rollStart = indexOf(result.events, { phase: "pre", type: DEPLOYMENT, ops: ["update"] });
    expect(jobDone).toBeGreaterThanOrEqual(0);
    expect(rollStart).toBeGreaterThan(jobDone);
    // The old manifest's Job is gone; the Deployment has a new ReplicaSet (its pods carry the new digest).
    await expect(job(oldJob)).rejects.toThrow(/NotFound/);
    const rsAfter = (await cluster.getJson(["replicasets", "-n", NS])).items.map((r: { metadata: { name: string } }) => r.metadata.name);
    expect(rsAfter.filter((n: string) => !rsBefore.includes(n))).toHaveLength(1);
  });

  it("a failing Job fails `pulumi up`, naming the Job and why; after the fix the next `up` replaces it, with no --replace", async () => {
    const good = project.readConfig();
    const plan = planOf(good);
    const jobName = downloaderJobName(plan.config.cacheName, plan.manifest.digest);
    const deploymentBefore = await cluster.getJson(["deployment", "-n", NS, `${plan.config.cacheName}-service`]);

    project.writeConfig({ ...good, "model-cache:downloaderImage": FAILING_IMAGE });
    const failed = await up();
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain(jobName);
    expect(failed.output).toMatch(/BackoffLimitExceeded|backoff limit/i);
    expect(condition(await job(jobName), "Failed")).toBe("True");
    // The pod's termination message (the downloader's last words) is where `kubectl describe` shows it.
    const pods = (await cluster.getJson(["pods", "-n", NS, "-l", `job-name=${jobName}`])).items;
    expect(JSON.stringify(pods)).toContain(FAILING_MESSAGE);
    // The service was not touched: it still runs the last good manifest.
    const deploymentAfter = await cluster.getJson(["deployment", "-n", NS, `${plan.config.cacheName}-service`]);
    expect(deploymentAfter.metadata.generation).toBe(deploymentBefore.metadata.generation);

    project.writeConfig(good);
    const fixed = await up();
    expect(fixed.code, fixed.output).toBe(0);
    expect(opsOn(fixed.events, JOB)).toContain("replace");
    expect(condition(await job(jobName), "Complete")).toBe("True");
  });

  it("raising storageSize on the static PV's claim does not break `up`", async () => {
    project.writeConfig({ ...project.readConfig(), "model-cache:storageSize": "80Gi" });
    const result = await up();
    expect(result.code, result.output).toBe(0);
    const claim = await cluster.getJson(["pvc", cacheClaimName(String(config["model-cache:cacheName"] ?? "models")), "-n", NS]);
    expect(claim.status.phase).toBe("Bound");
  });

  it("`pulumi destroy --exclude-protected` removes the service and the Job, and leaves the models volume (claim, PV, data) in place", async () => {
    const cacheName = String(config["model-cache:cacheName"] ?? "models");
    const pvBefore = await cluster.getJson(["pv", PV_NAME]);
    const plain = await project.run(["destroy", "--yes", "--stack", STACK]);
    // Without --exclude-protected the engine refuses: the volume is protected.
    expect(plain.code).not.toBe(0);
    expect(plain.output).toMatch(/protected/);
    const result = await project.run(["destroy", "--yes", "--stack", STACK, "--exclude-protected"]);
    expect(result.code, result.output).toBe(0);
    expect((await cluster.getJson(["deployments", "-n", NS])).items).toEqual([]);
    expect((await cluster.getJson(["jobs", "-n", NS])).items).toEqual([]);
    const claim = await cluster.getJson(["pvc", cacheClaimName(cacheName), "-n", NS]);
    expect(claim.status.phase).toBe("Bound");
    const pv = await cluster.getJson(["pv", PV_NAME]);
    expect(pv.metadata.uid).toBe(pvBefore.metadata.uid);
    expect(pv.spec.csi.volumeHandle).toBe(pvBefore.spec.csi.volumeHandle);
    expect(pv.spec.persistentVolumeReclaimPolicy).toBe("Retain");
  });
});

interface GateReport {
  diagnostics: { policy: string; level: string; urn: string; message: string }[];
}

async function runGate(): Promise<GateReport> {
  return new Promise((resolve, reject) => {
    // What the README tells a user to run: `npm run -s check -- --stack <stack> --json`.
    const child = spawn("npm", ["run", "-s", "check", "--", "--stack", STACK, "--json"], {
      cwd: project.dir,
      env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: "unused" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => {
      try {
        resolve(JSON.parse(out) as GateReport);
      } catch {
        reject(new Error(`gate/check.ts exited ${code}: ${err}${out}`));
      }
    });
  });
}
