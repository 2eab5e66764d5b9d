import { describe, expect, it } from "vitest";
import { HUB_CREDENTIAL_ENV_KEYS } from "../../../components/core/contract";
import { consumerNoHubCredentials } from "../../../policies/rules/consumer-no-hub-credentials";
import { clone, dockerStack, ecsStack, kubernetesStack, podSpec, setDockerEnv } from "../support/fixtures";
import { runPolicy } from "../support/in-process";

describe("consumer-no-hub-credentials", () => {
  it.each([
    ["Docker", () => dockerStack().all],
    ["Kubernetes", () => kubernetesStack().all],
    ["ECS", () => ecsStack().all],
  ])("the compliant %s stack passes", async (_, stack) => {
    expect((await runPolicy(consumerNoHubCredentials, stack())).reported).toEqual([]);
  });

  it.each(HUB_CREDENTIAL_ENV_KEYS)("%s on the consumer fails", async (key) => {
    const s = clone(dockerStack());
    setDockerEnv(s.service, key, "x");
    expect((await runPolicy(consumerNoHubCredentials, s.all)).mandatory).toEqual([expect.stringMatching(new RegExp(`is given ${key}:`))]);
  });

  it.each([
    ["a Secret volume at ~/.cache/huggingface", { mountPath: "/root/.cache/huggingface" }, { secret: { secretName: "hf" } }],
    ["a file at $HF_HOME/token", { mountPath: "/app/models/.cache/token", subPath: "token" }, { secret: { secretName: "hf" } }],
    ["stored_tokens beside it", { mountPath: "/app/models/.cache/stored_tokens" }, { configMap: { name: "x" } }],
  ])("%s on the server fails", async (_, mount, source) => {
    const s = clone(kubernetesStack());
    podSpec(s.deployment).containers[0].volumeMounts.push({ name: "hf", ...mount });
    podSpec(s.deployment).volumes.push({ name: "hf", ...source });
    expect((await runPolicy(consumerNoHubCredentials, s.all)).mandatory).toEqual([expect.stringMatching(/mounts a hub token file/)]);
  });

  it("a Docker upload of a token file fails", async () => {
    const s = clone(dockerStack());
    s.service.props["uploads"] = [{ file: "/root/.cache/huggingface/token", content: "hf_x" }];
    expect((await runPolicy(consumerNoHubCredentials, s.all)).mandatory).toEqual([
      expect.stringMatching(/mounts a hub token file \(uploads\[0\]/),
    ]);
  });

  it("look-alike: the downloader holds the token, and the server mounts an unrelated Secret", async () => {
    const s = clone(kubernetesStack());
    podSpec(s.job).containers[0].env.push({ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf", key: "token" } } });
    podSpec(s.deployment).containers[0].volumeMounts.push({ name: "tls", mountPath: "/etc/tls", readOnly: true });
    podSpec(s.deployment).volumes.push({ name: "tls", secret: { secretName: "tls" } });
    expect((await runPolicy(consumerNoHubCredentials, s.all)).reported).toEqual([]);
  });
});
