/**
 * The one place the e2e suite translates the inputs the program registers (as the Pulumi engine
 * receives them; recorded under mocks) into Docker Engine API calls, the way the upstream providers
 * do. The bridged Docker provider cannot be built here, so this mirrors its source, read at:
 *   TF  = kreuzwerker/terraform-provider-docker @ 83c00e0b, internal/provider/
 *   PD  = pulumi/pulumi-docker @ 237b7899, provider/
 * Each step names the lines it mirrors. Only the inputs the dev stack uses are mapped; anything else
 * fails loudly, so a new input cannot pass unmapped.
 *
 * Our own dynamic resources (`pulumi-nodejs:dynamic/...`) need no mapping: they run their serialized
 * provider (`__provider`) exactly as Pulumi's dynamic-provider host does (`requireFromString(...)
 * .handler()`, @pulumi/pulumi cmd/dynamic-provider/index.js `getProvider`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import dockerignore from "@balena/dockerignore";
import type Dockerode from "dockerode";
import * as tar from "tar";

export type Props = Record<string, unknown>;

/** What the test engine differs in; the only deviation from the registered inputs. */
export interface EngineOverrides {
  /**
   * The test engine runs with `--bridge=none` (no iptables, nothing touched outside its own dirs), so
   * containers and builds use the host's network, where the loopback fake hub is.
   */
  networkMode: "host";
}

export interface Created {
  id: string;
  outputs: Props;
}

const known = (type: string, props: Props, keys: string[]) => {
  const unknown = Object.keys(props).filter((k) => !keys.includes(k) && !k.startsWith("__"));
  if (unknown.length > 0) throw new Error(`provider-mapping: ${type} inputs ${unknown.join(", ")} are not mapped; map them here first`);
};

/** TF resource_docker_volume.go `resourceDockerVolumeCreate` (L166-185): Name, Labels (labelSetToMap), Driver, DriverOpts. */
export async function createVolume(docker: Dockerode, props: Props): Promise<Created> {
  known("Volume", props, ["name", "labels", "driver", "driverOpts"]);
  const volume = await docker.createVolume({
    Name: props["name"] as string,
    Labels: labelMap(props["labels"]),
    ...(props["driver"] ? { Driver: props["driver"] as string } : {}),
    ...(props["driverOpts"] ? { DriverOpts: props["driverOpts"] as Record<string, string> } : {}),
  });
  return { id: (volume as unknown as { Name: string }).Name, outputs: { ...props, driver: "local" } };
}

/** TF resource_docker_container_structures.go `labelSetToMap`: the `{label, value}` set as a map. */
function labelMap(value: unknown): Record<string, string> {
  return Object.fromEntries(((value ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
}

/**
 * The build context exactly as PD `dockerBuild` sends it (image.go L117-166): ignore patterns from
 * `<Dockerfile>.dockerignore`, else `<context>/.dockerignore` (provider.go `getIgnorePatterns`
 * L656-684); the Dockerfile and the ignore file kept (`TrimBuildFilesFromExcludes`); owner 0:0.
 * Returns the relative paths sent and a tar stream of them.
 */
export function buildContext(
  contextDir: string,
  dockerfile: string,
): { files: string[]; relDockerfile: string; stream: NodeJS.ReadableStream } {
  const candidates = [`${dockerfile}.dockerignore`, path.join(contextDir, ".dockerignore")];
  const ignoreFile = candidates.find((p) => fs.existsSync(p));
  const patterns = ignoreFile ? fs.readFileSync(ignoreFile, "utf8") : "";
  const relDockerfile = path.relative(contextDir, dockerfile).split(path.sep).join("/");
  const ig = dockerignore().add(patterns);
  const keep = new Set([relDockerfile, ".dockerignore"]);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(contextDir, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Excluded directories may still hold re-included files (`!dir/`), so walk unless nothing can match.
        if (ig.ignores(`${rel}/`) && !patterns.split("\n").some((p) => p.trim().startsWith("!") && p.includes(entry.name))) continue;
        walk(rel);
      } else if (keep.has(rel) || !ig.ignores(rel)) files.push(rel);
    }
  };
  walk("");
  const stream = tar.c({ cwd: contextDir, portable: true, noDirRecurse: true }, files) as unknown as NodeJS.ReadableStream;
  return { files, relDockerfile, stream };
}

/**
 * PD image.go `dockerBuild` + `runImageBuild` (L201-214, L267, L286-294): ImageBuild with the
 * Dockerfile path, `Tags: [imageName]`, `Version: "2"` (BuildKit, the default builder:
 * `marshalBuilder` L698-716); with skipPush the outputs' `repoDigest` is the built image's id.
 */
export async function buildImage(docker: Dockerode, props: Props, overrides: EngineOverrides): Promise<Created & { log: string }> {
  // buildOnPreview only matters in a preview (PD `dockerBuild` is called with isPreview false on up).
  known("Image", props, ["imageName", "build", "skipPush", "buildOnPreview"]);
  const build = props["build"] as Props;
  known("Image.build", build, ["context", "dockerfile", "contextDigest"]);
  if (props["skipPush"] !== true) throw new Error("provider-mapping: only skipPush images are mapped (nothing can be pushed here)");
  const imageName = props["imageName"] as string;
  const ctx = buildContext(build["context"] as string, build["dockerfile"] as string);
  const stream = await docker.buildImage(ctx.stream, {
    t: imageName,
    dockerfile: ctx.relDockerfile,
    version: "2",
    networkmode: overrides.networkMode,
  } as Dockerode.ImageBuildOptions);
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: { stream?: string; error?: string }) => {
        if (event.stream) lines.push(event.stream);
        if (event.error) lines.push(event.error);
      },
    ),
  );
  const id = (await docker.getImage(imageName).inspect()).Id;
  return { id, outputs: { ...props, repoDigest: id, imageName }, log: lines.join("") };
}

/**
 * TF resource_docker_container_funcs.go `resourceDockerContainerCreate` (L43-673) for the inputs the
 * dev stack's service sets, then ContainerStart (L584-588). Pulumi names → TF names: envs → env,
 * healthcheck.tests → test, startPeriod → start_period, volumes[].volumeName → volume_name.
 */
export function containerCreateBody(props: Props, overrides: EngineOverrides): Dockerode.ContainerCreateOptions {
  known("Container", props, [
    "name",
    "image",
    "command",
    "envs",
    "user",
    "volumes",
    "labels",
    "memory",
    "memorySwap",
    "gpus",
    "ports",
    "healthcheck",
    "restart",
    "mustRun",
    "networkMode",
  ]);
  if (props["gpus"] !== undefined) throw new Error("provider-mapping: gpus needs a GPU engine; the e2e suite runs the cpu dev stack");
  const command = (props["command"] ?? []) as string[];
  // L83-90: empty command values are rejected.
  if (command.some((c) => c === "")) throw new Error("values for command may not be empty");
  // L100-108 + structures.go `portSetToDockerPorts` (L228-258): protocol defaults to tcp, ip to 0.0.0.0.
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of (props["ports"] ?? []) as { internal: number; external?: number; ip?: string; protocol?: string }[]) {
    const key = `${p.internal}/${p.protocol ?? "tcp"}`;
    exposed[key] = {};
    bindings[key] = [...(bindings[key] ?? []), { HostIp: p.ip ?? "0.0.0.0", HostPort: p.external === undefined ? "" : String(p.external) }];
  }
  // L125-133 + structures.go `volumeSetToDockerVolumes` (L289-329): `<volume>:<path>:ro|rw` binds.
  const binds: string[] = [];
  const volumes: Record<string, object> = {};
  for (const v of (props["volumes"] ?? []) as { volumeName: string; containerPath: string; readOnly?: boolean }[]) {
    volumes[v.containerPath] = {};
    binds.push(`${v.volumeName}:${v.containerPath}:${v.readOnly ? "ro" : "rw"}`);
  }
  // L139-164: durations through Go's time.ParseDuration.
  const hc = props["healthcheck"] as
    | { tests: string[]; interval?: string; timeout?: string; startPeriod?: string; retries?: number }
    | undefined;
  const healthcheck = hc
    ? {
        Test: hc.tests,
        Interval: parseGoDurationNs(hc.interval ?? "0s"),
        Timeout: parseGoDurationNs(hc.timeout ?? "0s"),
        StartPeriod: parseGoDurationNs(hc.startPeriod ?? "0s"),
        Retries: hc.retries ?? 0,
      }
    : undefined;
  const memoryMiB = props["memory"] as number | undefined;
  const swapMiB = props["memorySwap"] as number | undefined;
  return {
    name: props["name"] as string,
    Image: props["image"] as string,
    Cmd: command,
    Env: (props["envs"] ?? []) as string[],
    User: (props["user"] as string | undefined) ?? "",
    Labels: labelMap(props["labels"]),
    ...(Object.keys(exposed).length > 0 ? { ExposedPorts: exposed } : {}),
    ...(Object.keys(volumes).length > 0 ? { Volumes: volumes } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    HostConfig: {
      // L250-264: restart policy (schema default "no"), no auto-remove.
      RestartPolicy: { Name: (props["restart"] as string | undefined) ?? "no", MaximumRetryCount: 0 },
      AutoRemove: false,
      ...(Object.keys(bindings).length > 0 ? { PortBindings: bindings } : {}),
      ...(binds.length > 0 ? { Binds: binds } : {}),
      // L334-348: MiB → bytes; a positive swap too.
      ...(memoryMiB ? { Memory: memoryMiB * 1024 * 1024 } : {}),
      ...(swapMiB ? { MemorySwap: swapMiB > 0 ? swapMiB * 1024 * 1024 : swapMiB } : {}),
      // L391-399: network_mode as given; the test engine's override (see EngineOverrides).
      NetworkMode: overrides.networkMode,
      // L447-448: init is always sent (false unless set).
      Init: false,
    },
  };
}

export async function createContainer(docker: Dockerode, props: Props, overrides: EngineOverrides): Promise<Created> {
  const container = await docker.createContainer(containerCreateBody(props, overrides));
  // L584-588: start (schema default start = true).
  await container.start();
  return { id: container.id, outputs: { ...props } };
}

/**
 * The healthcheck as the provider's Read puts it back in state (`resourceDockerContainerRead`
 * L960-971: each duration through Go's `Duration.String()`); an input spelled otherwise is a diff
 * after every create and refresh.
 */
export async function readHealthcheck(docker: Dockerode, id: string): Promise<Props | undefined> {
  const info = await docker.getContainer(id).inspect();
  const hc = info.Config.Healthcheck as
    | { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number }
    | undefined;
  if (!hc) return undefined;
  return {
    tests: hc.Test,
    interval: goDurationString(hc.Interval ?? 0),
    timeout: goDurationString(hc.Timeout ?? 0),
    startPeriod: goDurationString(hc.StartPeriod ?? 0),
    retries: hc.Retries ?? 0,
  };
}

const NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDurationNs(text: string): number {
  if (text === "0") return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) throw new Error(`time: invalid duration "${text}"`);
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * (NS[unit as string] as number);
  return Math.round(total);
}

/** Go's time.Duration.String() for whole-second (and sub-second) durations. */
export function goDurationString(ns: number): string {
  if (ns === 0) return "0s";
  if (ns < 1e9) return ns % 1e6 === 0 ? `${ns / 1e6}ms` : ns % 1e3 === 0 ? `${ns / 1e3}µs` : `${ns}ns`;
  const totalSeconds = ns / 1e9;
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = +(totalSeconds % 60).toFixed(9);
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** A dynamic resource's provider, loaded from its serialized text as Pulumi's dynamic-provider host loads it. */
export function loadDynamicProvider(props: Props): {
  create(inputs: Props): Promise<{ id: string; outs?: Props }>;
  diff?(id: string, olds: Props, news: Props): Promise<{ changes?: boolean; replaces?: string[] }>;
  delete?(id: string, props: Props): Promise<void>;
} {
  const requireFromString = require("require-from-string") as (code: string, filename?: string) => { handler(): never };
  // The host evaluates it with the program's node_modules on the module path.
  return requireFromString(props["__provider"] as string, path.join(process.cwd(), "__provider.js")).handler();
}

/** The inputs a dynamic provider receives: the registered ones without the serialized provider. */
export function dynamicInputs(props: Props): Props {
  const { __provider: _p, ...rest } = props;
  return rest;
}
