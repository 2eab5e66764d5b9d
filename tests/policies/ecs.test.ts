/**
 * AWS ECS family (aws:ecs/taskDefinition:TaskDefinition, containerDefinitions a JSON string; the
 * cache an EFS file system tagged as one): for every policy, a task definition that breaks exactly
 * that rule fails with exactly that policy as mandatory; a compliant look-alike passes.
 */
import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "../../components/core/canonical-json";
import { LABELS, MANIFEST_ENV, manifestLabelValue } from "../../components/core/contract";
import { clone, ECS_TASK, ecsStack, editContainers, GPU_SET, type Json, UNKNOWN, urn } from "./support/fixtures";
import { checkResource, checkStack, messages, stackExpectations, usePack } from "./support/pack";

const h = usePack();
const base = () => clone(ecsStack());

const { expectOnly, expectPass } = stackExpectations(h);

type Env = { name: string; value: string }[];
const setEnv = (c: { environment: Env }, name: string, value: string | undefined) => {
  c.environment = c.environment.filter((e) => e.name !== name);
  if (value !== undefined) c.environment.push({ name, value });
};

/** Edit the server (index 1) or the downloader (index 0) of the task. */
function edit(s: ReturnType<typeof ecsStack>, index: 0 | 1, change: (c: Json, all: Json[]) => void) {
  editContainers(s.task, (cs) => change(cs[index], cs));
}

describe("the compliant ECS task", () => {
  it("passes with no diagnostics at all", async () => {
    expect((await checkStack(h.pack, base().all)).diagnostics).toEqual([]);
  });
});

describe("consumer-offline (ECS)", () => {
  it('HF_HUB_OFFLINE "false" fails', async () => {
    const s = base();
    edit(s, 1, (c) => setEnv(c, "HF_HUB_OFFLINE", "false"));
    const result = await expectOnly(s.all, "consumer-offline");
    expect(messages(result, "consumer-offline").join()).toMatch(
      /container "model-server" of TaskDefinition "models" sets HF_HUB_OFFLINE="false"/,
    );
    expect((await checkResource(h.pack, s.task)).mandatory).toEqual(["consumer-offline"]);
  });

  it("a value from ECS secrets cannot be known at deploy either: mandatory, saying so", async () => {
    const s = base();
    edit(s, 1, (c) => {
      setEnv(c, "TRANSFORMERS_OFFLINE", undefined);
      c.secrets = [{ name: "TRANSFORMERS_OFFLINE", valueFrom: "arn:aws:ssm:eu-west-1:1:parameter/offline" }];
    });
    const result = await expectOnly(s.all, "consumer-offline");
    expect(messages(result, "consumer-offline").join()).toMatch(
      /cannot know TRANSFORMERS_OFFLINE .* secrets valueFrom arn:aws:ssm.*which the pack cannot read/,
    );
  });
});

describe("consumer-read-only-mount (ECS)", () => {
  it("a mountPoint that leaves readOnly unset fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      delete c.mountPoints[0].readOnly;
    });
    await expectOnly(s.all, "consumer-read-only-mount");
  });

  it("volumesFrom the downloader without readOnly fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.volumesFrom = [{ sourceContainer: "download" }];
    });
    const result = await expectOnly(s.all, "consumer-read-only-mount");
    expect(messages(result, "consumer-read-only-mount").join()).toMatch(/volumesFrom\[0\] "download"/);
  });

  it("look-alike: volumesFrom with readOnly passes", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.volumesFrom = [{ sourceContainer: "download", readOnly: true }];
    });
    await expectPass(s.all);
  });
});

describe("unified-cache-env (ECS)", () => {
  it("HF_HOME outside the mount fails", async () => {
    const s = base();
    edit(s, 1, (c) => setEnv(c, "HF_HOME", "/root/.cache/huggingface"));
    await expectOnly(s.all, "unified-cache-env");
  });

  it("look-alike: another mount path, used consistently by both containers, passes", async () => {
    const s = base();
    editContainers(s.task, (cs) => {
      for (const c of cs) {
        c.mountPoints[0].containerPath = "/models";
        for (const key of ["HF_HOME", "HF_HUB_CACHE", "XDG_CACHE_HOME", "TRANSFORMERS_CACHE"]) setEnv(c, key, "/models/.cache");
      }
    });
    await expectPass(s.all);
  });
});

describe("consumer-no-hub-credentials (ECS)", () => {
  it("HF_TOKEN in the server's secrets fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.secrets = [{ name: "HF_TOKEN", valueFrom: "arn:aws:secretsmanager:eu-west-1:1:secret:hf" }];
    });
    await expectOnly(s.all, "consumer-no-hub-credentials");
  });

  it("look-alike: HF_TOKEN in the downloader's secrets passes", async () => {
    const s = base();
    edit(s, 0, (c) => {
      c.secrets = [{ name: "HF_TOKEN", valueFrom: "arn:aws:secretsmanager:eu-west-1:1:secret:hf" }];
    });
    await expectPass(s.all);
  });
});

describe("measured-memory-limit (ECS)", () => {
  it("memory below the need fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.memory = 1000;
    });
    await expectOnly(s.all, "measured-memory-limit");
  });

  it("no memory on the container nor the task fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      delete c.memory;
    });
    await expectOnly(s.all, "measured-memory-limit");
  });

  it("look-alike: the task's memory covers a lone serving container", async () => {
    const s = base();
    edit(s, 1, (c) => {
      delete c.memory;
    });
    s.task.props["memory"] = String(GPU_SET.sizing.limitMiB);
    await expectPass(s.all);
  });
});

describe("consumer-gpu (ECS)", () => {
  it("no GPU resourceRequirement fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      delete c.resourceRequirements;
    });
    await expectOnly(s.all, "consumer-gpu");
  });

  it("look-alike: two GPUs pass", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.resourceRequirements = [{ type: "GPU", value: "2" }];
    });
    await expectPass(s.all);
  });
});

describe("startup-grace (ECS)", () => {
  it("a 30 s startPeriod fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.healthCheck.startPeriod = 30;
    });
    await expectOnly(s.all, "startup-grace");
  });

  it("no healthCheck fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      delete c.healthCheck;
    });
    await expectOnly(s.all, "startup-grace");
  });

  it("look-alike: startPeriod 90 passes", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.healthCheck.startPeriod = 90;
    });
    await expectPass(s.all);
  });
});

describe("pinned-models (ECS)", () => {
  function withManifest(s: ReturnType<typeof ecsStack>, change: (m: Json) => void) {
    const manifest = JSON.parse(s.set.manifest.json);
    change(manifest);
    const json = canonicalJson(manifest);
    edit(s, 0, (c, all) => {
      setEnv(c, MANIFEST_ENV, json);
      for (const x of all) x.dockerLabels[LABELS.manifest] = manifestLabelValue(sha256Hex(json));
    });
  }

  it("a malformed checksum fails", async () => {
    const s = base();
    withManifest(s, (m) => {
      m.models[1].sha256 = "not-a-checksum";
    });
    await expectOnly(s.all, "pinned-models");
  });

  it("a downloader without a manifest fails", async () => {
    const s = base();
    edit(s, 0, (c) => setEnv(c, MANIFEST_ENV, undefined));
    const result = await checkStack(h.pack, s.all);
    expect(result.mandatory).toContain("pinned-models");
  });

  it("look-alike: a file model with its sha256 passes", async () => {
    const s = base();
    withManifest(s, () => {});
    await expectPass(s.all);
  });
});

describe("downloader-one-shot (ECS)", () => {
  it("an essential downloader (the ECS default) fails", async () => {
    const s = base();
    edit(s, 0, (c) => {
      delete c.essential;
    });
    await expectOnly(s.all, "downloader-one-shot");
  });

  it("look-alike: essential: false passes", async () => {
    await expectPass(base().all);
  });
});

describe("consumer-after-downloader (ECS, stack)", () => {
  it("dependsOn with COMPLETE fails (it also passes when the download failed)", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.dependsOn[0].condition = "COMPLETE";
    });
    const result = await expectOnly(s.all, "consumer-after-downloader");
    expect(messages(result, "consumer-after-downloader").join()).toMatch(/condition COMPLETE/);
  });

  it("no dependsOn fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      delete c.dependsOn;
    });
    await expectOnly(s.all, "consumer-after-downloader");
  });

  it("look-alike: more dependencies next to SUCCESS pass", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.dependsOn.push({ containerName: "log-router", condition: "START" });
    });
    await expectPass(s.all);
  });
});

describe("manifest-coverage (ECS, stack)", () => {
  it("the server labelled with another digest fails", async () => {
    const s = base();
    edit(s, 1, (c) => {
      c.dockerLabels[LABELS.manifest] = "f".repeat(64);
    });
    await expectOnly(s.all, "manifest-coverage");
  });

  it("look-alike: labels on the task's tags too, agreeing, pass", async () => {
    const s = base();
    s.task.props["tags"] = { team: "search" };
    await expectPass(s.all);
  });
});

describe("one-writer (ECS, stack)", () => {
  it("a second task that writes the same file system fails", async () => {
    const s = base();
    const second = clone(s.task);
    second.urn = urn(ECS_TASK, "models-refresh");
    second.name = "models-refresh";
    second.props["family"] = "models-refresh";
    editContainers(second, (cs) => cs.splice(1, 1));
    await expectOnly([...s.all, second], "one-writer");
  });

  it("look-alike: a second task that writes another cache passes", async () => {
    const s = base();
    const efs = clone(s.efs);
    efs.urn = urn("aws:efs/fileSystem:FileSystem", "other");
    efs.name = "other";
    efs.props["tags"] = { [LABELS.role]: "cache", [LABELS.cache]: "other" };
    const second = clone(s.task);
    second.urn = urn(ECS_TASK, "other");
    second.name = "other";
    second.props["family"] = "other";
    second.props["volumes"][0].efsVolumeConfiguration.fileSystemId = "fs-0fedcba9876543210";
    second.dependencies = [efs.urn];
    second.propertyDependencies = { volumes: [efs.urn] };
    editContainers(second, (cs) => {
      cs.splice(1, 1);
      cs[0].dockerLabels[LABELS.cache] = "other";
    });
    await expectPass([...s.all, efs, second]);
  });
});

describe("odd task definitions", () => {
  it("containerDefinitions that is not JSON is mandatory (nothing in it could be checked), never an internal error", async () => {
    const s = base();
    s.task.props["containerDefinitions"] = "[{not json";
    s.task.props["tags"] = { [LABELS.role]: "service", [LABELS.cache]: "models" };
    const result = await checkStack(h.pack, s.all);
    expect(messages(result, "consumer-offline", "mandatory").join()).toMatch(
      /cannot check TaskDefinition "models": containerDefinitions is not valid JSON/,
    );
    expect(result.diagnostics.map((d) => d.message).join()).not.toMatch(/failed while checking/);
  });

  it("containerDefinitions unknown during preview is advisory", async () => {
    const s = base();
    s.task.props["containerDefinitions"] = UNKNOWN;
    s.task.props["tags"] = { [LABELS.role]: "service", [LABELS.cache]: "models" };
    const result = await checkResource(h.pack, s.task);
    expect(result.mandatory).toEqual([]);
    expect(messages(result, "consumer-gpu", "advisory").join()).toMatch(/can't check during preview: containerDefinitions/);
  });
});
