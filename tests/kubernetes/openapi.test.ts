/**
 * Every Kubernetes object the prod stack renders, validated against the Kubernetes OpenAPI schema
 * by kubernetes-models (generated from the upstream OpenAPI spec: types, required fields, enums,
 * int32/int64 and quantity formats). The prod stack as written and its variants (hub token, the
 * other volume provisioning modes, CPU) together render every kind the target can create.
 */
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Namespace, PersistentVolume, PersistentVolumeClaim, Secret, Service } from "kubernetes-models/v1";
import { beforeAll, describe, expect, it } from "vitest";
import type { MockRunResult, RegisteredResource } from "../../gate/run-under-mocks";
import { K8S, type Obj, objOf, runProd } from "./support";

interface Validatable {
  validate(): void;
}
const MODELS: Record<string, new (data: Obj) => Validatable> = {
  [K8S.namespace]: Namespace as never,
  [K8S.pv]: PersistentVolume as never,
  [K8S.pvc]: PersistentVolumeClaim as never,
  [K8S.secret]: Secret as never,
  [K8S.service]: Service as never,
  [K8S.job]: Job as never,
  [K8S.deployment]: Deployment as never,
  [K8S.pdb]: PodDisruptionBudget as never,
};

const VARIANTS: Record<string, Parameters<typeof runProd>[0]> = {
  "as written": {},
  "with a hub token": { config: { "model-cache:hfToken": "hf_openapiVariantToken" }, secretKeys: ["model-cache:hfToken"] },
  "on a dynamic storage class": {
    config: { "model-cache:volumeProvisioning": "dynamic", "model-cache:storageClassName": "efs-sc" },
  },
  "bound to an existing PV": {
    config: { "model-cache:volumeProvisioning": "static", "model-cache:persistentVolumeName": "models-pv" },
  },
  "on cpu": {
    config: {
      "model-cache:device": "cpu",
      "model-cache:models": '["bge-m3"]',
      "model-cache:serviceArgs": '["--model-id","{snapshot:bge-m3}","--port","{port}"]',
    },
  },
};

const runs: Record<string, MockRunResult> = {};
beforeAll(async () => {
  for (const [name, options] of Object.entries(VARIANTS)) runs[name] = await runProd(options);
});

const kubernetesObjects = (run: MockRunResult) => run.resources.filter((r) => r.type.startsWith("kubernetes:"));

function validate(r: RegisteredResource): void {
  const Model = MODELS[r.type];
  if (!Model) throw new Error(`no OpenAPI model mapped for ${r.type}: add it to MODELS`);
  new Model(objOf(r)).validate();
}

describe("OpenAPI validation of every rendered Kubernetes object", () => {
  for (const name of Object.keys(VARIANTS)) {
    it(`the prod stack ${name}`, () => {
      const objects = kubernetesObjects(runs[name]!);
      expect(objects.length).toBeGreaterThanOrEqual(6);
      for (const r of objects) {
        expect(objOf(r)["apiVersion"], r.type).toBeTypeOf("string");
        expect(objOf(r)["kind"], r.type).toBeTypeOf("string");
        expect(() => validate(r), `${r.type} ${r.name}`).not.toThrow();
      }
    });
  }

  it("covers every kind the target renders", () => {
    const kinds = new Set(Object.values(runs).flatMap((run) => kubernetesObjects(run).map((r) => r.type)));
    expect([...kinds].sort()).toEqual(Object.keys(MODELS).sort());
  });

  it("really validates: a broken Deployment, Job and PVC are rejected", () => {
    const run = runs["as written"]!;
    const find = (type: string) => structuredClone(objOf(run.resources.find((r) => r.type === type)!));
    const deployment = find(K8S.deployment);
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "10 GiB";
    expect(() => new Deployment(deployment as never).validate()).toThrow(/memory/);
    const job = find(K8S.job);
    job["spec"]["backoffLimit"] = "2";
    delete job["spec"]["template"]["spec"]["containers"][0]["name"];
    expect(() => new Job(job as never).validate()).toThrow(/backoffLimit|name/);
    const pvc = find(K8S.pvc);
    pvc["spec"]["volumeMode"] = "Directory";
    expect(() => new PersistentVolumeClaim(pvc as never).validate()).toThrow(/volumeMode/);
  });
});
