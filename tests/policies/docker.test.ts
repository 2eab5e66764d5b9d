/**
 * Docker family (docker:index/container:Container, docker:index/volume:Volume): for every policy,
 * a hand-written stack that breaks exactly that rule fails with exactly that policy as mandatory,
 * and a compliant look-alike passes. The pack runs as the CLI runs it; each case is checked the
 * way `pulumi preview` checks a stack (Analyze per resource, then AnalyzeStack).
 */
import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "../../components/core/canonical-json";
import { LABELS, MANIFEST_ENV, manifestLabelValue } from "../../components/core/contract";
import {
  clone,
  DOCKER_CONTAINER,
  dockerLabelList,
  dockerStack,
  GPU_SET,
  type Json,
  modelSet,
  PATHS,
  type Resource,
  setDockerEnv,
  setDockerLabel,
  UNKNOWN,
  urn,
} from "./support/fixtures";
import { checkResource, checkStack, messages, stackExpectations, usePack } from "./support/pack";

const h = usePack();
const base = () => clone(dockerStack());

const { expectOnly, expectPass } = stackExpectations(h);

/** Give the downloader (and, to keep the digest labels in step, the service) another manifest. */
function withManifest(s: ReturnType<typeof dockerStack>, edit: (manifest: Json) => void): void {
  const manifest = JSON.parse(s.set.manifest.json);
  edit(manifest);
  const json = canonicalJson(manifest);
  const digest = manifestLabelValue(sha256Hex(json));
  setDockerEnv(s.downloader, MANIFEST_ENV, json);
  setDockerLabel(s.downloader, LABELS.manifest, digest);
  setDockerLabel(s.service, LABELS.manifest, digest);
}

describe("the compliant Docker stack", () => {
  it("passes with no diagnostics at all", async () => {
    const result = await checkStack(h.pack, base().all);
    expect(result.diagnostics).toEqual([]);
  });
});

describe("consumer-offline (Docker)", () => {
  it("HF_HUB_OFFLINE=0 fails even with TRANSFORMERS_OFFLINE=1, naming the container and the variable", async () => {
    const s = base();
    setDockerEnv(s.service, "HF_HUB_OFFLINE", "0");
    const result = await expectOnly(s.all, "consumer-offline");
    expect(messages(result, "consumer-offline").join()).toMatch(
      /container "models-service" sets HF_HUB_OFFLINE="0".*reads HF_HUB_OFFLINE first/s,
    );
    // Visible on the resource alone, as soon as it is planned.
    expect((await checkResource(h.pack, s.service)).mandatory).toEqual(["consumer-offline"]);
  });

  it("a missing TRANSFORMERS_OFFLINE fails", async () => {
    const s = base();
    setDockerEnv(s.service, "TRANSFORMERS_OFFLINE", undefined);
    await expectOnly(s.all, "consumer-offline");
  });

  it("look-alike: true values in Json case pass", async () => {
    const s = base();
    setDockerEnv(s.service, "HF_HUB_OFFLINE", "True");
    setDockerEnv(s.service, "TRANSFORMERS_OFFLINE", "YES");
    await expectPass(s.all);
  });

  it("a variable listed without a value is removed by the Engine API: missing, mandatory", async () => {
    const s = base();
    (s.service.props["envs"] as string[]).splice(
      0,
      Number.POSITIVE_INFINITY,
      ...(s.service.props["envs"] as string[]).filter((e) => !e.startsWith("HF_HUB_OFFLINE=")),
      "HF_HUB_OFFLINE",
    );
    const result = await expectOnly(s.all, "consumer-offline");
    expect(messages(result, "consumer-offline").join()).toMatch(/does not set HF_HUB_OFFLINE/);
  });
});

describe("consumer-read-only-mount (Docker)", () => {
  it("a consumer's read-write volume fails (one-writer leaves it to this policy)", async () => {
    const s = base();
    s.service.props["volumes"][0].readOnly = false;
    const result = await expectOnly(s.all, "consumer-read-only-mount");
    expect(messages(result, "consumer-read-only-mount").join()).toMatch(
      /container "models-service" mounts the model cache read-write \(volumes\[0\] at \/app\/models\)/,
    );
  });

  it("a `mounts` entry that leaves readOnly unset is read-write", async () => {
    const s = base();
    s.service.props["volumes"] = [];
    s.service.props["mounts"] = [{ type: "volume", source: "model-cache-models", target: PATHS.mountPath }];
    await expectOnly(s.all, "consumer-read-only-mount");
  });

  it("look-alike: read-only cache plus a read-write scratch volume passes", async () => {
    const s = base();
    s.service.props["mounts"] = [{ type: "tmpfs", target: "/tmp" }];
    s.service.props["volumes"].push({ volumeName: "scratch", containerPath: "/scratch", readOnly: false });
    await expectPass(s.all);
  });

  it("a hand-written consumer without labels is found by its mount of the labelled volume", async () => {
    const s = base();
    const rogue: Resource = {
      urn: urn(DOCKER_CONTAINER, "notebook"),
      type: DOCKER_CONTAINER,
      name: "notebook",
      props: { name: "notebook", image: "jupyter", volumes: [{ volumeName: "model-cache-models", containerPath: "/models" }] },
    };
    expect((await checkResource(h.pack, rogue)).diagnostics).toEqual([]);
    const result = await checkStack(h.pack, [...s.all, rogue]);
    expect(result.mandatory).toEqual(
      expect.arrayContaining(["consumer-read-only-mount", "consumer-offline", "manifest-coverage", "consumer-after-downloader"]),
    );
    expect(messages(result, "consumer-read-only-mount").join()).toMatch(/container "notebook"/);
  });
});

describe("unified-cache-env (Docker)", () => {
  it("a cache variable pointing elsewhere fails", async () => {
    const s = base();
    setDockerEnv(s.service, "HF_HUB_CACHE", "/root/.cache/huggingface/hub");
    const result = await expectOnly(s.all, "unified-cache-env");
    expect(messages(result, "unified-cache-env").join()).toMatch(/HF_HUB_CACHE=\/root\/\.cache\/huggingface\/hub.*must be equal/s);
  });

  it("a consumer whose root differs from its downloader's fails in the stack check only", async () => {
    const s = base();
    for (const key of ["HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME", "TRANSFORMERS_CACHE"])
      setDockerEnv(s.service, key, "/app/models/other");
    expect((await checkResource(h.pack, s.service)).mandatory).toEqual([]);
    const result = await expectOnly(s.all, "unified-cache-env");
    expect(messages(result, "unified-cache-env").join()).toMatch(
      /uses the cache root \/app\/models\/other but the downloader .* writes \/app\/models\/\.cache/,
    );
  });

  it("look-alike: without TRANSFORMERS_CACHE it passes with an advisory (transformers v5 ignores it)", async () => {
    const s = base();
    setDockerEnv(s.service, "TRANSFORMERS_CACHE", undefined);
    const result = await expectPass(s.all);
    expect(result.advisory).toEqual(["unified-cache-env"]);
  });
});

describe("consumer-no-hub-credentials (Docker)", () => {
  it("HF_TOKEN on the service fails", async () => {
    const s = base();
    setDockerEnv(s.service, "HF_TOKEN", "hf_example");
    const result = await expectOnly(s.all, "consumer-no-hub-credentials");
    expect(messages(result, "consumer-no-hub-credentials").join()).toMatch(/container "models-service" is given HF_TOKEN/);
  });

  it("a token file mounted into HF_HOME fails", async () => {
    const s = base();
    s.service.props["volumes"].push({
      hostPath: "/home/me/.cache/huggingface/token",
      containerPath: `${PATHS.root}/token`,
      readOnly: true,
    });
    await expectOnly(s.all, "consumer-no-hub-credentials");
  });

  it("look-alike: the downloader may hold the token", async () => {
    const s = base();
    setDockerEnv(s.downloader, "HF_TOKEN", "hf_example");
    await expectPass(s.all);
  });
});

describe("measured-memory-limit (Docker)", () => {
  const need = GPU_SET.sizing.needMiB;

  it("a limit below the measured need fails, citing the need", async () => {
    const s = base();
    s.service.props["memory"] = need - 1;
    const result = await expectOnly(s.all, "measured-memory-limit");
    expect(messages(result, "measured-memory-limit").join()).toMatch(new RegExp(`below the measured need of ${need} MiB`));
  });

  it("no limit fails", async () => {
    const s = base();
    delete s.service.props["memory"];
    await expectOnly(s.all, "measured-memory-limit");
  });

  it("look-alike: exactly the need passes; far above it is advisory", async () => {
    const s = base();
    s.service.props["memory"] = need;
    await expectPass(s.all);
    s.service.props["memory"] = need * 2;
    const result = await expectPass(s.all);
    expect(result.advisory).toEqual(["measured-memory-limit"]);
  });
});

describe("consumer-gpu (Docker)", () => {
  it("a service without gpus fails", async () => {
    const s = base();
    delete s.service.props["gpus"];
    await expectOnly(s.all, "consumer-gpu");
  });

  it("look-alike: a device list passes", async () => {
    const s = base();
    s.service.props["gpus"] = '"device=0"';
    await expectPass(s.all);
  });
});

describe("startup-grace (Docker)", () => {
  it("a 30 s start period fails", async () => {
    const s = base();
    s.service.props["healthcheck"].startPeriod = "30s";
    const result = await expectOnly(s.all, "startup-grace");
    expect(messages(result, "startup-grace").join()).toMatch(/gets 30 s to start .*less than the 57 s its models need/);
  });

  it("no health check fails", async () => {
    const s = base();
    delete s.service.props["healthcheck"];
    await expectOnly(s.all, "startup-grace");
  });

  it('look-alike: "1m30s" passes', async () => {
    const s = base();
    s.service.props["healthcheck"].startPeriod = "1m30s";
    await expectPass(s.all);
  });
});

describe("pinned-models (Docker)", () => {
  it("a hub model pinned to a branch fails", async () => {
    const s = base();
    withManifest(s, (m) => {
      m.models[0].revision = "main";
    });
    const result = await expectOnly(s.all, "pinned-models");
    expect(messages(result, "pinned-models").join()).toMatch(
      /model "bge-m3" of container "models-downloader" is pinned to "main", not a 40-hex commit/,
    );
  });

  it("a file without a checksum fails unless the manifest allows unverified files", async () => {
    const s = base();
    withManifest(s, (m) => {
      delete m.models[0].files[0].sha256;
    });
    await expectOnly(s.all, "pinned-models");
  });

  it("look-alike: allowUnverified makes a missing checksum advisory (the prod stack's SigLIP)", async () => {
    const s = base();
    withManifest(s, (m) => {
      m.allowUnverified = true;
      delete m.models[0].files[0].sha256;
    });
    const result = await expectPass(s.all);
    expect(messages(result, "pinned-models", "advisory").join()).toMatch(
      /file 1_Pooling\/config.json of model "bge-m3" .* has no checksum; the stack allowed unverified files; record its sha256 in the catalog/,
    );
  });
});

describe("downloader-one-shot (Docker)", () => {
  it("mustRun: true fails", async () => {
    const s = base();
    s.downloader.props["mustRun"] = true;
    await expectOnly(s.all, "downloader-one-shot");
  });

  it("a downloader Pulumi does not wait for (attach unset) fails", async () => {
    const s = base();
    delete s.downloader.props["attach"];
    await expectOnly(s.all, "downloader-one-shot");
  });

  it('look-alike: restart "on-failure" with mustRun false and attach passes', async () => {
    const s = base();
    s.downloader.props["restart"] = "on-failure";
    await expectPass(s.all);
  });
});

describe("consumer-after-downloader (Docker, stack)", () => {
  it("a service that does not depend on the downloader fails", async () => {
    const s = base();
    s.service.dependencies = [s.volume.urn];
    expect((await checkResource(h.pack, s.service)).mandatory).toEqual([]);
    await expectOnly(s.all, "consumer-after-downloader");
  });

  it("look-alike: depending on the component that holds the downloader passes", async () => {
    const s = base();
    const component: Resource = {
      urn: urn("model-cache:docker:ModelDownloader", "dl"),
      type: "model-cache:docker:ModelDownloader",
      name: "dl",
      props: {},
    };
    s.downloader.parent = component.urn;
    s.service.dependencies = [component.urn, s.volume.urn];
    await expectPass([component, ...s.all]);
  });
});

describe("manifest-coverage (Docker, stack)", () => {
  it("a service labelled with another manifest digest fails", async () => {
    const s = base();
    setDockerLabel(s.service, LABELS.manifest, modelSet(["all-minilm-l6-v2"], "cuda").manifest.digest);
    await expectOnly(s.all, "manifest-coverage");
  });

  it("look-alike: the same manifest written with other key order and whitespace has the same digest (canonical JSON)", async () => {
    const s = base();
    const reordered = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reordered)
        : value !== null && typeof value === "object"
          ? Object.fromEntries(
              Object.entries(value)
                .reverse()
                .map(([k, v]) => [k, reordered(v)]),
            )
          : value;
    setDockerEnv(s.downloader, MANIFEST_ENV, JSON.stringify(reordered(JSON.parse(s.set.manifest.json)), null, 2));
    await expectPass(s.all);
  });
});

describe("one-writer (Docker, stack)", () => {
  it("two downloaders writing one cache fail", async () => {
    const s = base();
    const second = clone(s.downloader);
    second.urn = urn(DOCKER_CONTAINER, "models-downloader-2");
    second.name = "models-downloader-2";
    second.props["name"] = "models-downloader-2";
    const result = await expectOnly([...s.all, second], "one-writer");
    expect(messages(result, "one-writer").join()).toMatch(/cache "models" has 2 downloaders writing it/);
  });

  it("a cache no downloader writes fails", async () => {
    const s = base();
    s.downloader.props["volumes"][0].readOnly = true;
    await expectOnly(s.all, "one-writer");
  });

  it("look-alike: a second downloader for another cache passes", async () => {
    const s = base();
    const other = clone(s.downloader);
    other.urn = urn(DOCKER_CONTAINER, "other-downloader");
    other.name = "other-downloader";
    other.props["volumes"] = [{ volumeName: "other-cache", containerPath: PATHS.mountPath, readOnly: false }];
    other.props["labels"] = dockerLabelList({
      ...Object.fromEntries(other.props["labels"].map((l: { label: string; value: string }) => [l.label, l.value])),
      [LABELS.cache]: "other",
    });
    await expectPass([...s.all, other]);
  });
});

describe("preview: unknown values", () => {
  it("unknown values are advisory 'can't check during preview', never an error", async () => {
    const s = base();
    s.service.props["volumes"][0].volumeName = UNKNOWN;
    s.service.props["memory"] = UNKNOWN;
    s.service.props["envs"] = UNKNOWN;
    const result = await checkStack(h.pack, s.all);
    expect(result.mandatory).toEqual([]);
    expect(result.advisory).toEqual(expect.arrayContaining(["consumer-offline", "measured-memory-limit", "unified-cache-env"]));
    expect(result.diagnostics.every((d) => d.enforcementLevel === "advisory" && /can't check during preview/.test(d.message))).toBe(true);
  });
});
