/**
 * Runs a policy pack the way the Pulumi CLI does, and speaks its Analyzer gRPC service.
 *
 * What the CLI does (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go,
 * NewPolicyAnalyzer; sdk/nodejs/dist/pulumi-analyzer-policy; pkg/.../analyzer/config.go):
 *
 * 1. In the pack's directory, resolve `@pulumi/pulumi/cmd/run-policy-pack` and run it with node:
 *    `node <run-policy-pack> <engine address> . [-<runtime option>=<value>...]`, with PULUMI_CONFIG,
 *    PULUMI_NODEJS_{ORGANIZATION,PROJECT,STACK,DRY_RUN} (and the PULUMI_* twins) in its environment.
 *    run-policy-pack registers ts-node (type-checking, cached under the OS temp dir) and loads the
 *    pack, whose PolicyPack prints the port of its gRPC server as the first line of stdout.
 * 2. Handshake (optional: `Unimplemented` falls back), ConfigureStack, GetAnalyzerInfo, then
 *    Configure with every policy's config: its enforcement level, the `default` of each property of
 *    its configSchema, the pack's initial config, then the user's config on top (ReconcilePolicyPackConfig).
 * 3. Analyze for each resource (its inputs, unknowns and secrets kept), AnalyzeStack once at the
 *    end with every resource, its parent, dependencies and property dependencies.
 *
 * Used by the policy tests and by `npm run check`. The CLI's handling of the config it sends
 * (ReconcilePolicyPackConfig) lives in policy-config.ts.
 */
import type { ChildProcess } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { type LaunchedPack, launchPolicyPack, type StartOptions } from "./pack-launch";
import { type AnalyzerInfo, type EnforcementLevel, LEVEL_NAMES, type PolicyConfig, type PolicyInfo, type Severity } from "./policy-config";

export type { LaunchedPack, StartOptions } from "./pack-launch";
export { launchPolicyPack } from "./pack-launch";
export type { AnalyzerInfo, EnforcementLevel, PolicyConfig, PolicyInfo, Severity } from "./policy-config";

/**
 * The wire encoding of secrets: the SDK's rpc.ts `specialSigKey` / `specialSecretSig`, restated
 * so the pack can boot before the gate loads the SDK (a test holds them equal).
 */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** The gRPC message limit the CLI uses for plugins (rpcutil.GrpcChannelOptions): 400 MiB. */
const MAX_MESSAGE = 400 * 1024 * 1024;

export interface Diagnostic {
  policyName: string;
  policyPackName: string;
  policyPackVersion: string;
  description: string;
  message: string;
  enforcementLevel: EnforcementLevel;
  urn: string;
  severity: Severity;
}

export interface AnalyzeResult {
  diagnostics: Diagnostic[];
  notApplicable: { policyName: string; reason: string }[];
}

/** A resource as the engine describes it to an analyzer. */
export interface AnalyzerResourceInput {
  urn: string;
  type: string;
  name: string;
  /** Inputs (Analyze) or outputs (AnalyzeStack); unknowns as the SDK's unknown sentinel. */
  props: Record<string, unknown>;
  /** Top-level keys whose value is secret: sent wrapped as secrets, as the CLI does. */
  secretProps?: string[];
  parent?: string;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
  protect?: boolean;
}

export class PolicyPackProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    private readonly client: AnalyzerClient,
    private readonly stderr: string[],
  ) {}

  /** Start the pack as the CLI does, wait for its port, and connect (Handshake, ConfigureStack). */
  static async start(options: StartOptions): Promise<PolicyPackProcess> {
    return PolicyPackProcess.connect(launchPolicyPack(options), options);
  }

  /** Connect to a pack launched with `launchPolicyPack` (which needs none of the gRPC modules). */
  static async connect(launched: LaunchedPack, options: StartOptions): Promise<PolicyPackProcess> {
    const port = await launched.port;
    const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": MAX_MESSAGE,
      "grpc.max_send_message_length": MAX_MESSAGE,
    });
    const pack = new PolicyPackProcess(launched.child, port, client, launched.stderr);
    await pack.handshake(launched.packDir);
    if (options.stack !== undefined) await pack.configureStack(options);
    return pack;
  }

  /** The pack's recent stderr (for error messages). */
  get stderrTail(): string {
    return this.stderr.slice(-40).join("\n");
  }

  /** Handshake; a pack that does not implement it (policy SDK ≤ 1.21) answers Unimplemented, as the CLI tolerates. */
  async handshake(packDir: string): Promise<boolean> {
    const req = new pb.AnalyzerHandshakeRequest();
    req.setEngineAddress("127.0.0.1:0");
    req.setRootDirectory(packDir);
    req.setProgramDirectory(packDir);
    try {
      await this.call<pb.AnalyzerHandshakeResponse>((cb) => this.client.handshake(req, cb));
      return true;
    } catch (err) {
      if ((err as grpc.ServiceError).code === grpc.status.UNIMPLEMENTED) return false;
      throw err;
    }
  }

  async configureStack(
    options: Pick<StartOptions, "stack" | "project" | "organization" | "dryRun" | "stackConfig" | "stackConfigSecretKeys" | "stackTags">,
  ) {
    const req = new pb.AnalyzerStackConfigureRequest();
    req.setStack(options.stack ?? "");
    req.setProject(options.project ?? "");
    req.setOrganization(options.organization ?? "");
    req.setDryRun(options.dryRun ?? true);
    for (const [k, v] of Object.entries(options.stackConfig ?? {})) req.getConfigMap().set(k, v);
    req.setConfigSecretKeysList(options.stackConfigSecretKeys ?? []);
    for (const [k, v] of Object.entries(options.stackTags ?? {})) req.getTagsMap().set(k, v);
    try {
      await this.call((cb) => this.client.configureStack(req, cb));
    } catch (err) {
      if ((err as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED) throw err;
    }
  }

  async getAnalyzerInfo(): Promise<AnalyzerInfo> {
    const info = await this.call<pb.AnalyzerInfo>((cb) => this.client.getAnalyzerInfo(new Empty(), cb));
    const initialConfig: Record<string, PolicyConfig> = {};
    info.getInitialconfigMap().forEach((v, k) => {
      initialConfig[k] = {
        enforcementLevel: level(v.getEnforcementlevel()),
        properties: (v.getProperties()?.toJavaScript() ?? {}) as Record<string, unknown>,
      };
    });
    return {
      name: info.getName(),
      version: info.getVersion(),
      description: info.getDescription(),
      supportsConfig: info.getSupportsconfig(),
      initialConfig,
      policies: info.getPoliciesList().map((p): PolicyInfo => {
        const schema = p.getConfigschema();
        return {
          name: p.getName(),
          displayName: p.getDisplayname(),
          description: p.getDescription(),
          enforcementLevel: level(p.getEnforcementlevel()),
          severity: SEVERITIES[p.getSeverity()] ?? "",
          remediationSteps: p.getRemediationSteps(),
          type:
            p.getPolicyType() === pb.PolicyType.POLICY_TYPE_RESOURCE
              ? "resource"
              : p.getPolicyType() === pb.PolicyType.POLICY_TYPE_STACK
                ? "stack"
                : "unknown",
          ...(schema
            ? {
                configSchema: {
                  properties: (schema.getProperties()?.toJavaScript() ?? {}) as Record<string, Record<string, unknown>>,
                  required: schema.getRequiredList(),
                },
              }
            : {}),
        };
      }),
    };
  }

  /** Configure with a config map as the CLI sends it (see `reconcileConfig`). */
  async configure(config: Record<string, PolicyConfig>): Promise<void> {
    const req = new pb.ConfigureAnalyzerRequest();
    for (const [name, c] of Object.entries(config)) {
      const pc = new pb.PolicyConfig();
      pc.setEnforcementlevel(LEVELS[c.enforcementLevel ?? "advisory"]);
      pc.setProperties(Struct.fromJavaScript(toJson(c.properties ?? {}) as Record<string, never>));
      req.getPolicyconfigMap().set(name, pc);
    }
    await this.call((cb) => this.client.configure(req, cb));
  }

  async analyze(resource: AnalyzerResourceInput): Promise<AnalyzeResult> {
    const req = new pb.AnalyzeRequest();
    req.setUrn(resource.urn);
    req.setType(resource.type);
    req.setName(resource.name);
    req.setProperties(marshalProperties(resource));
    req.setOptions(resourceOptions(resource));
    return response(await this.call<pb.AnalyzeResponse>((cb) => this.client.analyze(req, cb)));
  }

  async analyzeStack(resources: AnalyzerResourceInput[]): Promise<AnalyzeResult> {
    const req = new pb.AnalyzeStackRequest();
    req.setResourcesList(
      resources.map((r) => {
        const ar = new pb.AnalyzerResource();
        ar.setUrn(r.urn);
        ar.setType(r.type);
        ar.setName(r.name);
        ar.setProperties(marshalProperties(r));
        ar.setOptions(resourceOptions(r));
        ar.setParent(r.parent ?? "");
        ar.setDependenciesList(r.dependencies ?? []);
        for (const [key, urns] of Object.entries(r.propertyDependencies ?? {})) {
          if (urns.length === 0) continue;
          const deps = new pb.AnalyzerPropertyDependencies();
          deps.setUrnsList(urns);
          ar.getPropertydependenciesMap().set(key, deps);
        }
        return ar;
      }),
    );
    return response(await this.call<pb.AnalyzeResponse>((cb) => this.client.analyzeStack(req, cb)));
  }

  /** Stop the pack (the CLI kills the plugin when the operation ends). */
  async stop(): Promise<void> {
    this.client.close();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 2_000);
      this.child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill("SIGTERM");
    });
  }

  private call<T>(invoke: (cb: (err: grpc.ServiceError | null, res: T) => void) => unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      invoke((err, res) => (err ? reject(err) : resolve(res)));
    });
  }
}

const LEVELS: Record<EnforcementLevel, pb.EnforcementLevel> = {
  advisory: pb.EnforcementLevel.ADVISORY,
  mandatory: pb.EnforcementLevel.MANDATORY,
  disabled: pb.EnforcementLevel.DISABLED,
  remediate: pb.EnforcementLevel.REMEDIATE,
};
const SEVERITIES: Severity[] = ["", "low", "medium", "high", "critical"];

function level(value: pb.EnforcementLevel): EnforcementLevel {
  return LEVEL_NAMES[value] ?? "advisory";
}

function response(res: pb.AnalyzeResponse): AnalyzeResult {
  return {
    diagnostics: res.getDiagnosticsList().map((d) => ({
      policyName: d.getPolicyname(),
      policyPackName: d.getPolicypackname(),
      policyPackVersion: d.getPolicypackversion(),
      description: d.getDescription(),
      message: d.getMessage(),
      enforcementLevel: level(d.getEnforcementlevel()),
      urn: d.getUrn(),
      severity: SEVERITIES[d.getSeverity()] ?? "",
    })),
    notApplicable: res.getNotApplicableList().map((n) => ({ policyName: n.getPolicyName(), reason: n.getReason() })),
  };
}

function resourceOptions(r: AnalyzerResourceInput): pb.AnalyzerResourceOptions {
  const opts = new pb.AnalyzerResourceOptions();
  opts.setProtect(r.protect ?? false);
  opts.setParent(r.parent ?? "");
  opts.setCustomtimeouts(new pb.AnalyzerResourceOptions.CustomTimeouts());
  return opts;
}

/** MarshalProperties(KeepUnknowns, KeepSecrets, SkipInternalKeys): unknowns stay sentinels, secrets are wrapped. */
function marshalProperties(r: AnalyzerResourceInput): Struct {
  const secret = new Set(r.secretProps ?? []);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(r.props)) {
    if (key.startsWith("__") || value === undefined) continue;
    const json = toJson(value);
    out[key] = secret.has(key) ? { [SIG_KEY]: SECRET_SIG, value: json } : json;
  }
  return Struct.fromJavaScript(out as Record<string, never>);
}

/** Plain JSON for a protobuf Struct: undefined keys dropped, non-finite numbers null. */
function toJson(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toJson(v)));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return String(value);
}
