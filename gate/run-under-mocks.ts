/**
 * Runs the real program for a stack file under the SDK's mocks (preview or update mode) and
 * records the resource graph the engine would receive: each registration's URN, type, name,
 * parent, dependencies and inputs. Used by the tests and by `npm run check`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks.js";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc.js";
import * as settings from "@pulumi/pulumi/runtime/settings.js";
import { CONFIG_NAMESPACE, parseStackConfig, type StackConfig } from "../infra/config";
import { requiredSecretKeys, SECRET_KEYS } from "../infra/pulumi-config";
import { readStackFile, SECRET_PLACEHOLDER, type StackFileConfig } from "./stack-file";

export interface RegisteredResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  /** The inputs as the engine receives them (secrets unwrapped: tests assert on them). */
  props: Record<string, unknown>;
  /** Input keys whose value is a secret. */
  secretProps: string[];
  provider: string;
  /** Resource options the engine acts on that tests assert (replacement order, await timeouts). */
  deleteBeforeReplace: boolean;
  customTimeouts: { create: string; update: string; delete: string } | undefined;
  protect?: boolean;
  retainOnDelete?: boolean;
  replaceOnChanges?: string[];
  ignoreChanges?: string[];
}

export interface MockRunOptions {
  /** Preview (dry run) like `pulumi preview`; computed outputs are then unknown. */
  preview?: boolean;
  /** Config set on top of the stack file's (e.g. a secret the file cannot hold here). */
  config?: Record<string, string>;
  /** Keys of `config` that are secrets. */
  secretKeys?: string[];
  /** Stand a placeholder in for secrets the program requires but the stack file lacks (default true). */
  placeholderSecrets?: boolean;
  /** Outputs the mocks report for a resource (e.g. a downloader's exit code), by type then name. */
  outputs?: (args: MockResourceArgs) => Record<string, unknown> | undefined;
}

export interface MockRunResult {
  stack: StackFileConfig;
  resources: RegisteredResource[];
  outputs: Record<string, unknown>;
}

function placeholderSecrets(config: Record<string, string>): string[] {
  let parsed: StackConfig;
  try {
    parsed = parseStackConfig(config, SECRET_KEYS);
  } catch {
    return []; // the program reports the config error itself
  }
  return requiredSecretKeys(parsed)
    .map((name) => `${CONFIG_NAMESPACE}:${name}`)
    .filter((key) => config[key] === undefined);
}

/** Outputs a real provider computes that programs read back. */
function computedOutputs(args: MockResourceArgs, preview: boolean): Record<string, unknown> {
  if (preview) return {};
  switch (args.type) {
    case "docker:index/container:Container":
      return args.inputs.attach ? { exitCode: 0, containerLogs: "" } : {};
    case "docker:index/image:Image":
      return { repoDigest: `${args.inputs.imageName}@sha256:${"0".repeat(64)}` };
    case "aws:efs/fileSystem:FileSystem":
      return { arn: `arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/${args.name}-id` };
    default:
      return {};
  }
}

export async function runStackUnderMocks(
  stackName: string,
  program: () => Record<string, unknown> | Promise<Record<string, unknown>>,
  options: MockRunOptions = {},
): Promise<MockRunResult> {
  const stack = readStackFile(stackName);
  const preview = options.preview ?? false;
  const config = { ...stack.config, ...options.config };
  const secretKeys = [...stack.secretKeys, ...(options.secretKeys ?? [])];
  // No secret is ever decrypted here; the ones the program requires get a placeholder, like
  // the secure values of the stack file itself.
  for (const key of options.placeholderSecrets === false ? [] : placeholderSecrets(config)) {
    config[key] = SECRET_PLACEHOLDER;
    secretKeys.push(key);
  }
  pulumi.runtime.setAllConfig(config, secretKeys);

  const mocks: pulumi.runtime.Mocks = {
    newResource(args: MockResourceArgs): MockResourceResult {
      const state = { ...args.inputs, ...computedOutputs(args, preview), ...(options.outputs?.(args) ?? {}) };
      return { id: preview ? undefined : `${args.name}-id`, state };
    },
    call(args) {
      return args.inputs;
    },
  };
  await pulumi.runtime.setMocks(mocks, stack.project, stack.stack, preview);

  const resources: RegisteredResource[] = [];
  // The mock monitor hands newResource only type, name and inputs; the graph (parent,
  // dependencies) is in the registration request itself, so read it there.
  const monitor = settings.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: (err: Error | null, resp?: { getUrn(): string }) => void): void;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    register(req, (err, resp) => {
      if (!err && resp) resources.push(describe(req, resp.getUrn()));
      cb(err, resp);
    });
  };

  // As under the real language host, an error in any registration (an apply that throws, say)
  // surfaces as an unhandled rejection and fails the run.
  const failures: unknown[] = [];
  const onRejection = (reason: unknown) => failures.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    const outputs = (await pulumi.runtime.runInPulumiStack(async () => program())) ?? {};
    await waitForRPCs();
    const resolved = await resolveOutputs(outputs);
    await waitForRPCs();
    await new Promise((resolve) => setImmediate(resolve));
    if (failures.length > 0) throw failures[0];
    return { stack, resources, outputs: resolved };
  } catch (err) {
    // What was registered before the failure (tests assert a bad config creates nothing).
    if (err !== null && typeof err === "object") Object.assign(err, { resources });
    throw err;
  } finally {
    // The SDK rejects its own stack promises too when the program throws: let them land here.
    await new Promise((resolve) => setTimeout(resolve, 20));
    process.off("unhandledRejection", onRejection);
  }
}

/** The SDK's own wait for outstanding registrations (exported at run time, not in its typings). */
function waitForRPCs(): Promise<void> {
  return (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void };
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getDeletebeforereplace(): boolean;
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
}

function describe(req: RegisterRequest, urn: string): RegisteredResource {
  const propertyDependencies: Record<string, string[]> = {};
  req.getPropertydependenciesMap().forEach((value, key) => {
    propertyDependencies[key] = value.getUrnsList();
  });
  const raw = req.getObject()?.toJavaScript() ?? {};
  const timeouts = req.getCustomtimeouts();
  const secretProps: string[] = [];
  const props: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const { value: plain, secret } = unwrap(value);
    props[key] = plain;
    if (secret) secretProps.push(key);
  }
  return {
    urn,
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    parent: req.getParent(),
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    props,
    secretProps,
    provider: req.getProvider(),
    deleteBeforeReplace: req.getDeletebeforereplace(),
    customTimeouts:
      timeouts && (timeouts.getCreate() || timeouts.getUpdate() || timeouts.getDelete())
        ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() }
        : undefined,
    protect: req.getProtect() ?? false,
    retainOnDelete: req.getRetainondelete() ?? false,
    replaceOnChanges: req.getReplaceonchangesList(),
    ignoreChanges: req.getIgnorechangesList(),
  };
}

/** Strip the wire encoding of secrets and outputs, remembering whether anything was secret. */
function unwrap(value: unknown): { value: unknown; secret: boolean } {
  if (Array.isArray(value)) {
    let secret = false;
    const out = value.map((v) => {
      const u = unwrap(v);
      secret ||= u.secret;
      return u.value;
    });
    return { value: out, secret };
  }
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[specialSigKey] === specialSecretSig) return { value: unwrap(obj["value"]).value, secret: true };
    let secret = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      const u = unwrap(v);
      secret ||= u.secret;
      out[k] = u.value;
    }
    return { value: out, secret };
  }
  return { value, secret: false };
}

async function resolveOutputs(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const resolved: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(outputs)) {
    resolved[key] = pulumi.Output.isInstance(value) ? await outputValue(value) : value;
  }
  return resolved;
}

function outputValue<T>(output: pulumi.Output<T>): Promise<T | undefined> {
  return new Promise((resolve) => {
    output.apply((v) => {
      resolve(v);
      return v;
    });
    // An unknown output (preview) never runs its apply.
    setTimeout(() => resolve(undefined), 50);
  });
}
