import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { editYaml } from "../../downloader/src/registry/yaml-edit";

const SOURCE = `# top
models:
  - id: x # the id
    revision: main # follow main
    description: >-
      folded
      text
    memory: {cpu: {hostPeak: {mib: 1, basis: estimate, source: s}}}
    load:
      cpu: { seconds: 1, basis: estimate, source: s } # est

  # second
  - id: y
    url: "http://x"
    load: {cpu: {seconds: 2, basis: estimate, source: s}}`;

describe("YAML edits in place", () => {
  it("changes only the edited nodes: comments, folded scalars, quoting, flow style and the missing final newline stay", () => {
    const out = editYaml(SOURCE, [
      { path: ["models", 0, "revision"], value: "a".repeat(40) },
      { path: ["models", 0, "files"], value: [{ path: "a", size: 2 }] },
      { path: ["models", 0, "memory", "cpu", "hostPeak"], value: { mib: 5, basis: "measured", source: "m" } },
      { path: ["models", 0, "load", "cpu"], value: { seconds: 7, basis: "measured", source: "m" } },
      { path: ["models", 0, "load", "cuda"], value: { seconds: 8, basis: "measured", source: "m" } },
      { path: ["models", 1, "load", "cpu"], value: { seconds: 9, basis: "measured", source: "m" } },
      { path: ["models", 1, "sha256"], value: "d".repeat(64) },
    ]);
    expect(out).toBe(`# top
models:
  - id: x # the id
    revision: ${"a".repeat(40)} # follow main
    description: >-
      folded
      text
    memory: {cpu: {hostPeak: {mib: 5, basis: measured, source: m}}}
    load:
      cpu: {seconds: 7, basis: measured, source: m} # est
      cuda:
        seconds: 8
        basis: measured
        source: m
    files:
      - path: a
        size: 2

  # second
  - id: y
    url: "http://x"
    load: {cpu: {seconds: 9, basis: measured, source: m}}
    sha256: ${"d".repeat(64)}`);
    expect(parse(out).models[1].load.cpu.seconds).toBe(9);
  });
});
