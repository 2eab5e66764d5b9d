/**
 * How a model upgrade rolls out: a changed manifest (a new pin in the stack file, or a catalog
 * change) is a new Job name and a new Deployment pod template; an unchanged one changes neither,
 * and nothing of the volume (EFS, PV, PVC) ever changes with the manifest.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { builtinCatalog } from "../../components/core/catalog";
import { ANNOTATIONS, LABELS, MANIFEST_ENV, manifestLabelValue } from "../../components/core/contract";
import { downloaderJobName } from "../../components/kubernetes";
import { type MockRunResult, runStackUnderMocks } from "../../gate/run-under-mocks";
import { parseStackConfig } from "../../infra/config";
import { planStack } from "../../infra/plan";
import { deployKubernetes } from "../../infra/targets/kubernetes";
import { AWS, envOf, FAKE_KUBECONFIG, K8S, type Obj, objOf, one, podTemplate, prodFile, prodPlan, runProd } from "./support";

const base = prodPlan();
const bge = builtinCatalog().find((e) => e.id === "bge-m3")!;
if (bge.kind !== "huggingface") throw new Error("bge-m3 is a hub model");
// Another 40-hex commit for BGE-M3: the kind of pin a model upgrade writes into the stack file.
const NEW_COMMIT = "0123456789abcdef0123456789abcdef01234567";
const repinned = JSON.stringify(base.config.models.map((id) => (id === "bge-m3" ? `bge-m3@${NEW_COMMIT}` : id)));

let first: MockRunResult;
let again: MockRunResult;
let upgraded: MockRunResult;
let scaled: MockRunResult;
let catalogChanged: MockRunResult;

beforeAll(async () => {
  first = await runProd();
  again = await runProd();
  upgraded = await runProd({ config: { "model-cache:models": repinned } });
  scaled = await runProd({ config: { "model-cache:replicas": "3", "model-cache:pdbMinAvailable": "2" } });
  // A catalog change (same stack file): BGE-M3's entry moves to another commit.
  const catalog = builtinCatalog().map((e) => (e.id === "bge-m3" && e.kind === "huggingface" ? { ...e, revision: NEW_COMMIT } : e));
  catalogChanged = await runStackUnderMocks(
    "prod",
    () =>
      deployKubernetes(planStack(parseStackConfig(prodFile.config), catalog), {
        kubeconfig: pulumi.secret(FAKE_KUBECONFIG),
      }) as unknown as Record<string, unknown>,
  );
});

const job = (run: MockRunResult): Obj => objOf(one(run, K8S.job));
const deployment = (run: MockRunResult): Obj => objOf(one(run, K8S.deployment));
const template = (run: MockRunResult): Obj => podTemplate(one(run, K8S.deployment));
const verifyManifest = (run: MockRunResult) => envOf(template(run)["spec"]["initContainers"][0])[MANIFEST_ENV];
const volumeSide = (run: MockRunResult) =>
  [K8S.pvc, K8S.pv, AWS.fileSystem, AWS.accessPoint, AWS.securityGroup].map((type) => objOf(one(run, type)));

describe("an unchanged manifest", () => {
  it("keeps the same Job (name and spec) and the same pod template: nothing runs, nothing rolls", () => {
    expect(job(again)).toEqual(job(first));
    expect(template(again)).toEqual(template(first));
    expect(deployment(again)).toEqual(deployment(first));
  });

  it("is kept by changes that do not touch it (replicas): the Job and the pod template stay", () => {
    expect(job(scaled)).toEqual(job(first));
    expect(template(scaled)).toEqual(template(first));
    expect(deployment(scaled)["spec"]["replicas"]).toBe(3);
  });
});

describe("a changed manifest", () => {
  it("from a new pin in the stack file is a new Job name (the digest's) and a new pod template", () => {
    const plan = prodPlan({ "model-cache:models": repinned });
    expect(plan.manifest.digest).not.toBe(base.manifest.digest);
    expect(job(upgraded)["metadata"]["name"]).toBe(downloaderJobName(base.config.cacheName, plan.manifest.digest));
    expect(job(upgraded)["metadata"]["name"]).not.toBe(job(first)["metadata"]["name"]);
    expect(template(upgraded)).not.toEqual(template(first));
    expect(template(upgraded)["metadata"]["labels"][LABELS.manifest]).toBe(manifestLabelValue(plan.manifest.digest));
    expect(template(upgraded)["metadata"]["annotations"][ANNOTATIONS.manifestSha256]).toBe(plan.manifest.digest);
    expect(verifyManifest(upgraded)).toBe(plan.manifest.json);
    expect(verifyManifest(upgraded)).toContain(NEW_COMMIT);
  });

  it("from a catalog change is a new Job name and a new pod template too", () => {
    expect(job(catalogChanged)["metadata"]["name"]).not.toBe(job(first)["metadata"]["name"]);
    expect(template(catalogChanged)).not.toEqual(template(first));
    expect(verifyManifest(catalogChanged)).toContain(NEW_COMMIT);
    // Same manifest either way: a pin in the stack file and the same pin in the catalog agree.
    expect(job(catalogChanged)["metadata"]["name"]).toBe(job(upgraded)["metadata"]["name"]);
  });

  it("updates the Deployment in place (same name, same selector): a rolling update, not a replacement", () => {
    for (const run of [upgraded, catalogChanged]) {
      expect(deployment(run)["metadata"]["name"]).toBe(deployment(first)["metadata"]["name"]);
      expect(deployment(run)["spec"]["selector"]).toEqual(deployment(first)["spec"]["selector"]);
      expect(deployment(run)["spec"]["strategy"]).toEqual(deployment(first)["spec"]["strategy"]);
    }
  });

  it("never touches the volume: EFS, PV and PVC are identical, so no PVC is ever deleted to change models", () => {
    expect(volumeSide(upgraded)).toEqual(volumeSide(first));
    expect(volumeSide(catalogChanged)).toEqual(volumeSide(first));
    expect(objOf(one(upgraded, K8S.service))).toEqual(objOf(one(first, K8S.service)));
    expect(objOf(one(upgraded, K8S.pdb))).toEqual(objOf(one(first, K8S.pdb)));
  });

  it("still rolls the pods only after the new Job: the Deployment depends on it", () => {
    for (const run of [upgraded, catalogChanged]) {
      expect(one(run, K8S.deployment).dependencies).toContain(one(run, K8S.job).urn);
      expect(one(run, K8S.job).deleteBeforeReplace).toBe(true);
    }
  });
});
