/**
 * `createNamespace: true` where the namespace already exists (a platform team made it, with its
 * own labels): `pulumi up` must still pass and leave the namespace `restricted`, and
 * `pulumi destroy` must not delete a namespace the stack did not create. Real CLI, provider and
 * API server, as in deploy.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "./support/control-plane";
import { PulumiProject } from "./support/pulumi-project";
import { e2eConfig, staticPersistentVolume } from "./support/stack";
import { e2eTools } from "./support/tools";

const NAMESPACE = "team-ml";
const PV_NAME = "team-ml-models";
let cluster: ControlPlane;
let project: PulumiProject;

beforeAll(async () => {
  const tools = e2eTools();
  cluster = await startControlPlane(tools);
  await cluster.kubectl(["create", "namespace", NAMESPACE]);
  await cluster.kubectl(["label", "namespace", NAMESPACE, "team=ml"]);
  // Something of the team's that lives there already.
  await cluster.kubectl(["create", "configmap", "team-settings", "-n", NAMESPACE, "--from-literal=owner=ml"]);
  const config = e2eConfig(PV_NAME, { "model-cache:namespace": NAMESPACE, "model-cache:createNamespace": true });
  await cluster.kubectl(
    ["apply", "-f", "-"],
    JSON.stringify(
      staticPersistentVolume(
        PV_NAME,
        NAMESPACE,
        String(config["model-cache:cacheName"] ?? "models"),
        String(config["model-cache:storageClassName"]),
      ),
    ),
  );
  project = await PulumiProject.create(tools, "e2e-existing-ns", config, { "model-cache:kubeconfig": cluster.kubeconfig });
});

afterAll(async () => {
  await cluster?.stop();
  project?.remove();
});

describe("createNamespace: true with a namespace that already exists", () => {
  it("`pulumi up` passes, and the namespace enforces `restricted` with the team's labels kept", async () => {
    const result = await project.up();
    expect(result.code, result.output).toBe(0);
    expect(result.output).not.toMatch(/AlreadyExists|already exists/);
    const ns = await cluster.getJson(["namespace", NAMESPACE]);
    expect(ns.metadata.labels).toMatchObject({ team: "ml", "pod-security.kubernetes.io/enforce": "restricted" });
  });

  it("`pulumi destroy --exclude-protected` leaves the namespace and what else lives in it", async () => {
    const result = await project.run(["destroy", "--yes", "--stack", project.stack, "--exclude-protected"]);
    expect(result.code, result.output).toBe(0);
    const ns = await cluster.getJson(["namespace", NAMESPACE]);
    expect(ns.status.phase).toBe("Active");
    expect(ns.metadata.deletionTimestamp).toBeUndefined();
    expect((await cluster.getJson(["configmap", "team-settings", "-n", NAMESPACE])).data).toEqual({ owner: "ml" });
  });

  it("even unprotected, `pulumi destroy` deletes neither the namespace nor the claim in it (retainOnDelete)", async () => {
    expect((await project.run(["state", "unprotect", "--all", "--yes", "--stack", project.stack])).code).toBe(0);
    const result = await project.run(["destroy", "--yes", "--stack", project.stack]);
    expect(result.code, result.output).toBe(0);
    expect((await project.resources()).filter((r) => !r.type.startsWith("pulumi:"))).toEqual([]);
    const ns = await cluster.getJson(["namespace", NAMESPACE]);
    expect(ns.metadata.deletionTimestamp).toBeUndefined();
    expect((await cluster.getJson(["configmap", "team-settings", "-n", NAMESPACE])).data).toEqual({ owner: "ml" });
    const claims = (await cluster.getJson(["pvc", "-n", NAMESPACE])).items;
    expect(claims.map((c: { status: { phase: string } }) => c.status.phase)).toEqual(["Bound"]);
  });
});
