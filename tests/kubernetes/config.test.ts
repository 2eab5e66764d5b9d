/**
 * The kubernetes target's config: errors name the key, the bad value and the fix, and are raised
 * before anything is registered; the kubeconfig and hub token are secrets; the other volume
 * provisioning modes; the program under `pulumi preview`.
 */
import { describe, expect, it } from "vitest";
import { parseToleration } from "../../components/kubernetes";
import { type MockRunResult, runStackUnderMocks } from "../../gate/run-under-mocks";
import { ConfigError, parseStackConfig } from "../../infra/config";
import { runProgram } from "../../infra/program";
import { byType, envOf, K8S, KUBECONFIG_KEY, objOf, one, podSpec, prodFile, runProd } from "./support";

const parse = (overrides: Record<string, string>) => () => parseStackConfig({ ...prodFile.config, ...overrides });
const without =
  (...keys: string[]) =>
  () =>
    parseStackConfig(Object.fromEntries(Object.entries(prodFile.config).filter(([k]) => !keys.includes(k))));

describe("kubernetes config errors name the key, the bad value and the fix", () => {
  it("a missing downloader image (images are not built on kubernetes)", () => {
    expect(parse({ "model-cache:downloaderImage": "" })).toThrow(
      /model-cache:downloaderImage: target kubernetes needs a prebuilt downloader image .* downloader\/Dockerfile .*\(got ""\); fix: pulumi config set model-cache:downloaderImage ghcr\.io\/<org>\/model-cache-downloader:<version>/,
    );
  });

  it("the EFS network settings, required together when volumeProvisioning is efs", () => {
    const error = (() => {
      try {
        without("model-cache:vpcId", "model-cache:efsSubnetIds", "model-cache:nodeSecurityGroupId")();
      } catch (err) {
        return err as Error;
      }
      throw new Error("expected a ConfigError");
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(
      /model-cache:vpcId: is required when volumeProvisioning is efs.*; fix: pulumi config set model-cache:vpcId vpc-<id>/,
    );
    expect(error.message).toMatch(
      /model-cache:efsSubnetIds: is required when volumeProvisioning is efs.*; fix: pulumi config set --path "model-cache:efsSubnetIds\[0\]"/,
    );
    expect(error.message).toMatch(/model-cache:nodeSecurityGroupId: is required when volumeProvisioning is efs/);
  });

  it("malformed AWS ids and a subnet listed twice", () => {
    expect(parse({ "model-cache:efsSubnetIds": '["subnet-0a1b2c3d","sn-1"]' })).toThrow(
      /model-cache:efsSubnetIds\.1: must be an AWS id "subnet-" followed by 8 to 17 hex digits \(got .*sn-1.*\); fix:/,
    );
    expect(parse({ "model-cache:nodeSecurityGroupId": "default" })).toThrow(
      /model-cache:nodeSecurityGroupId: must be an AWS id "sg-".*\(got "default"\)/,
    );
    expect(parse({ "model-cache:efsSubnetIds": '["subnet-0a1b2c3d","subnet-0a1b2c3d"]' })).toThrow(
      /model-cache:efsSubnetIds: lists subnet-0a1b2c3d twice; EFS allows one mount target per subnet/,
    );
  });

  it("the other provisioning modes' own requirements", () => {
    expect(parse({ "model-cache:volumeProvisioning": "dynamic", "model-cache:storageClassName": "" })).toThrow(
      /model-cache:storageClassName: is required when volumeProvisioning is dynamic/,
    );
    expect(parse({ "model-cache:volumeProvisioning": "static" })).toThrow(
      /model-cache:persistentVolumeName: is required when volumeProvisioning is static.*; fix: pulumi config set model-cache:persistentVolumeName/,
    );
    expect(parse({ "model-cache:volumeProvisioning": "nfs" })).toThrow(/model-cache:volumeProvisioning: .*"efs".*\(got "nfs"\); fix:/);
  });

  it("GPU node selection written wrong", () => {
    expect(parse({ "model-cache:gpuNodeSelector": '["gpu"]' })).toThrow(
      /model-cache:gpuNodeSelector: "gpu" is not "key=value" \(e\.g\. "nvidia\.com\/gpu\.present=true"\) \(got .*gpu.*\); fix:/,
    );
    expect(parse({ "model-cache:gpuNodeSelector": '["a=1","a=2"]' })).toThrow(/model-cache:gpuNodeSelector: "a" is given twice/);
    expect(parse({ "model-cache:gpuTolerations": '["nvidia.com/gpu:NoScheduel"]' })).toThrow(
      /model-cache:gpuTolerations\.0: effect "NoScheduel" in "nvidia\.com\/gpu:NoScheduel" is not one of NoSchedule, PreferNoSchedule, NoExecute/,
    );
  });

  it("quantities, limits and the disruption budget", () => {
    expect(parse({ "model-cache:cpuRequest": "two" })).toThrow(
      /model-cache:cpuRequest: must be a Kubernetes quantity such as "2".*\(got "two"\); fix: pulumi config set model-cache:cpuRequest 2/,
    );
    expect(parse({ "model-cache:storageSize": "50 GB" })).toThrow(/model-cache:storageSize: must be a Kubernetes quantity/);
    expect(parse({ "model-cache:healthPath": "health" })).toThrow(/model-cache:healthPath: must be an absolute URL path/);
    expect(parse({ "model-cache:pdbMinAvailable": "2" })).toThrow(
      /model-cache:pdbMinAvailable: must be less than replicas \(2\), or a node drain can never evict a service pod; set it to 1 \(got "2"\)/,
    );
    expect(parse({ "model-cache:namespace": "Model_Cache" })).toThrow(/model-cache:namespace: must be a DNS-1123 label/);
  });

  it("has no jobTtlSeconds any more: a stack that still sets it is told to remove the key", () => {
    expect(parse({ "model-cache:jobTtlSeconds": "86400" })).toThrow(
      /model-cache:jobTtlSeconds: unknown key; remove it \(pulumi config rm model-cache:jobTtlSeconds\)/,
    );
  });

  it("none of it concerns the docker target", () => {
    expect(() =>
      parseStackConfig({ ...prodFile.config, "model-cache:target": "docker", "model-cache:downloaderImage": "", "model-cache:vpcId": "" }),
    ).not.toThrow();
  });
});

describe("the cluster's kubeconfig", () => {
  const runWithout = (config: Record<string, string> = {}, secretKeys: string[] = []) =>
    runStackUnderMocks("prod", () => runProgram() as unknown as Record<string, unknown>, { config, secretKeys, placeholderSecrets: false });

  it("is required, with the command that sets it; nothing is registered without it", async () => {
    const failure = (await runWithout().then(
      () => undefined,
      (err: unknown) => err,
    )) as Error & { resources: { type: string }[] };
    expect(failure).toBeInstanceOf(ConfigError);
    expect(failure.message).toMatch(
      /model-cache:kubeconfig: target kubernetes needs the cluster's kubeconfig as a secret; set it with pulumi config set --secret model-cache:kubeconfig "\$\(cat kubeconfig\)".* or set model-cache:useAmbientKubeconfig true/,
    );
    expect(failure.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
  });

  it("is refused in plain text", async () => {
    await expect(runWithout({ [KUBECONFIG_KEY]: "apiVersion: v1" })).rejects.toThrow(
      /model-cache:kubeconfig: the kubeconfig is stored in plain text; store it as a secret: pulumi config set --secret model-cache:kubeconfig/,
    );
  });

  it("can be the ambient one, when the stack opts in: then the default provider is used", async () => {
    const run = await runWithout({ "model-cache:useAmbientKubeconfig": "true" });
    expect(byType(run, K8S.provider)).toEqual([]);
    for (const r of run.resources.filter((r) => r.type.startsWith("kubernetes:"))) expect(r.provider, r.type).toBe("");
  });
});

describe("the hub token on kubernetes", () => {
  const TOKEN = "hf_kubernetesTokenValue0123456789";
  let run: MockRunResult;

  it("is a Kubernetes Secret made from the Pulumi secret, read by the download Job only", async () => {
    run = await runProd({ config: { "model-cache:hfToken": TOKEN }, secretKeys: ["model-cache:hfToken"] });
    const secret = one(run, K8S.secret);
    expect(secret.secretProps).toContain("stringData");
    expect(objOf(secret)["stringData"]).toEqual({ HF_TOKEN: TOKEN });
    const downloader = podSpec(one(run, K8S.job))["containers"][0];
    expect(downloader["env"]).toContainEqual({
      name: "HF_TOKEN",
      valueFrom: { secretKeyRef: { name: objOf(secret)["metadata"]["name"], key: "HF_TOKEN", optional: false } },
    });
    expect(one(run, K8S.job).dependencies).toContain(secret.urn);
    for (const r of run.resources.filter((r) => r !== secret)) {
      expect(JSON.stringify(r.props), `${r.type} ${r.name}`).not.toContain(TOKEN);
    }
    const deployment = one(run, K8S.deployment);
    expect(JSON.stringify(objOf(deployment))).not.toContain(objOf(secret)["metadata"]["name"]);
    for (const c of [...podSpec(deployment)["initContainers"], ...podSpec(deployment)["containers"]]) {
      expect(Object.keys(envOf(c)).filter((k) => /TOKEN/.test(k))).toEqual([]);
    }
  });
});

describe("the other ways to get the models volume", () => {
  it("dynamic: the PVC asks the storage class, no EFS and no PV are created", async () => {
    const run = await runProd({ config: { "model-cache:volumeProvisioning": "dynamic", "model-cache:storageClassName": "efs-sc" } });
    expect(run.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    expect(byType(run, K8S.pv)).toEqual([]);
    const spec = objOf(one(run, K8S.pvc))["spec"];
    expect(spec["storageClassName"]).toBe("efs-sc");
    expect(spec["volumeName"]).toBeUndefined();
    expect(run.outputs["efsFileSystemId"]).toBeUndefined();
  });

  it("static: the PVC binds the given PersistentVolume", async () => {
    const run = await runProd({ config: { "model-cache:volumeProvisioning": "static", "model-cache:persistentVolumeName": "models-pv" } });
    expect(run.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    expect(objOf(one(run, K8S.pvc))["spec"]["volumeName"]).toBe("models-pv");
    expect(run.outputs["persistentVolumeName"]).toBe("models-pv");
  });

  it("an existing namespace is used as is", async () => {
    const run = await runProd({ config: { "model-cache:createNamespace": "false", "model-cache:namespace": "ml" } });
    expect(byType(run, K8S.namespace)).toEqual([]);
    expect(objOf(one(run, K8S.job))["metadata"]["namespace"]).toBe("ml");
  });
});

describe("scheduling values", () => {
  it("tolerations: key=value:Effect is Equal, key:Effect is Exists, the effect is optional", () => {
    expect(parseToleration("nvidia.com/gpu=true:NoSchedule")).toEqual({
      key: "nvidia.com/gpu",
      operator: "Equal",
      value: "true",
      effect: "NoSchedule",
    });
    expect(parseToleration("nvidia.com/gpu:NoSchedule")).toEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
    expect(parseToleration("dedicated=ml")).toEqual({ key: "dedicated", operator: "Equal", value: "ml" });
  });
});

describe("under pulumi preview", () => {
  it("renders the same Job and Deployment while the EFS ids are still unknown", async () => {
    const preview = await runProd({ preview: true });
    const up = await runProd();
    expect(objOf(one(preview, K8S.job))).toEqual(objOf(one(up, K8S.job)));
    expect(objOf(one(preview, K8S.deployment))).toEqual(objOf(one(up, K8S.deployment)));
    expect(objOf(one(preview, K8S.pvc))).toEqual(objOf(one(up, K8S.pvc)));
  });
});
