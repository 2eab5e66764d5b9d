/**
 * A STAND-IN for `pulumi-language-nodejs`, the Pulumi CLI's Node.js language plugin.
 *
 * Why: the real plugin is its own Go module (github.com/pulumi/pulumi/sdk/nodejs/cmd/
 * pulumi-language-nodejs/v3), and the Go module proxy this project builds from refuses it ("This
 * module version is not available", for the version list and for v3.276.0); the `sdk/v3` module
 * it serves leaves that nested module's directory out. Everything else in the end-to-end suite is
 * the real thing: the CLI and engine, the Kubernetes provider, the SDK's own program runner
 * (`@pulumi/pulumi/cmd/run`) and policy-pack runner (`cmd/run-policy-pack`), the API server.
 *
 * What it does is what the real plugin's Run and RunPlugin do (read from its source, sdk/nodejs/
 * cmd/pulumi-language-nodejs/main.go): Run spawns `node <@pulumi/pulumi/cmd/run> --monitor …
 * --engine … --organization … --project … --stack … --pwd … [--dry-run] --query-mode …
 * --parallel … <entry point>` with PULUMI_CONFIG (keys as `<ns>:config:<key>`),
 * PULUMI_CONFIG_SECRET_KEYS and PULUMI_NODEJS_TYPESCRIPT from the project's runtime options;
 * RunPlugin for a policy pack spawns `node <cmd/run-policy-pack> <args…> <pack directory>` in the
 * pack's directory. Not done (not needed here): the real plugin's policy proxy (which passes
 * stack config to a pack in its environment; this pack reads none), its resource-monitor proxy,
 * dependency installation, codegen.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
// The SDK's generated stubs: the same wire types the engine speaks.
import * as languageGrpc from "@pulumi/pulumi/proto/language_grpc_pb";
import * as languageProto from "@pulumi/pulumi/proto/language_pb";
import * as pluginProto from "@pulumi/pulumi/proto/plugin_pb";
import * as emptyProto from "google-protobuf/google/protobuf/empty_pb";

/** The exit code with which cmd/run says it already printed an actionable message. */
const EXIT_ALREADY_REPORTED = 32;

let engineAddress = process.argv.slice(2).find((a) => !a.startsWith("-")) ?? "";

type ProgramInfo = languageProto.ProgramInfo;

function options(info: ProgramInfo | undefined): { typescript: boolean; tsconfig?: string; nodeargs: string[] } {
  const o = info?.getOptions()?.toJavaScript() ?? {};
  const tsconfig = typeof o["tsconfig"] === "string" ? o["tsconfig"] : undefined;
  return {
    typescript: o["typescript"] !== false,
    ...(tsconfig ? { tsconfig } : {}),
    nodeargs: typeof o["nodeargs"] === "string" && o["nodeargs"] ? o["nodeargs"].split(/\s+/) : [],
  };
}

function runtimeEnv(info: ProgramInfo | undefined, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const o = options(info);
  return {
    ...base,
    ...(o.typescript ? { PULUMI_NODEJS_TYPESCRIPT: "true" } : {}),
    ...(o.tsconfig ? { PULUMI_NODEJS_TSCONFIG_PATH: o.tsconfig } : {}),
  };
}

/** Plugins of the program: node_modules packages whose package.json says `pulumi.resource`. */
function requiredPlugins(programDirectory: string): Array<{ name: string; version: string; server?: string }> {
  const found: Array<{ name: string; version: string; server?: string }> = [];
  const modules = path.join(programDirectory, "node_modules");
  const dirs: string[] = [];
  for (const entry of safeReaddir(modules)) {
    if (entry.startsWith("@")) for (const sub of safeReaddir(path.join(modules, entry))) dirs.push(path.join(modules, entry, sub));
    else dirs.push(path.join(modules, entry));
  }
  for (const dir of dirs) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
        pulumi?: { resource?: boolean; name?: string; version?: string; server?: string };
      };
      if (!pkg.pulumi?.resource) continue;
      const name = pkg.pulumi.name ?? pkg.name?.replace(/^@pulumi\//, "").replace(/^@/, "") ?? "";
      const version = pkg.pulumi.version ?? pkg.version ?? "";
      found.push({
        name,
        version: version.startsWith("v") ? version : `v${version}`,
        ...(pkg.pulumi.server ? { server: pkg.pulumi.server } : {}),
      });
    } catch {
      // not a package
    }
  }
  return found;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function resolveFrom(dir: string, module: string): string {
  return require.resolve(module, { paths: [dir] });
}

const unary =
  <Req, Res>(f: (request: Req) => Res | Promise<Res>) =>
  (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => f(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback({ code: grpc.status.UNKNOWN, details: err instanceof Error ? err.message : String(err) }),
      );
  };

function run(request: languageProto.RunRequest): Promise<languageProto.RunResponse> {
  const info: ProgramInfo | undefined = request.getInfo();
  const programDirectory = info?.getProgramDirectory() || request.getProgram() || request.getPwd();
  const entry = info?.getEntryPoint() || ".";
  const config: Record<string, string> = {};
  request.getConfigMap().forEach((value: string, key: string) => {
    const i = key.indexOf(":");
    config[i < 0 ? key : `${key.slice(0, i)}:config:${key.slice(i + 1)}`] = value;
  });
  const args = [
    ...options(info).nodeargs,
    resolveFrom(programDirectory, "@pulumi/pulumi/cmd/run"),
    ...["--monitor", request.getMonitorAddress(), "--engine", engineAddress],
    ...(request.getOrganization() ? ["--organization", request.getOrganization()] : []),
    ...["--project", request.getProject(), "--stack", request.getStack(), "--pwd", request.getPwd()],
    ...(request.getDryrun() ? ["--dry-run"] : []),
    ...["--query-mode", String(request.getQuerymode()), "--parallel", String(request.getParallel())],
    entry === "." ? programDirectory : path.join(programDirectory, entry),
    ...request.getArgsList(),
  ];
  const env = runtimeEnv(info, {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(request.getConfigsecretkeysList()),
  });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: request.getPwd() || programDirectory, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d: Buffer) => process.stdout.write(d));
    child.stderr.on("data", (d: Buffer) => process.stderr.write(d));
    const response = new languageProto.RunResponse();
    child.on("error", (err) => {
      response.setError(`Problem executing program (could not run language executor): ${err.message}`);
      resolve(response);
    });
    child.on("close", (code) => {
      if (code === EXIT_ALREADY_REPORTED) response.setBail(true);
      else if (code !== 0) response.setError(`Program exited with non-zero exit code: ${code}`);
      resolve(response);
    });
  });
}

function runPlugin(call: grpc.ServerWritableStream<languageProto.RunPluginRequest, languageProto.RunPluginResponse>): void {
  const request = call.request;
  const info: ProgramInfo | undefined = request.getInfo();
  const programDirectory = info?.getProgramDirectory() ?? request.getPwd();
  const analyzer = request.getKind() === "analyzer";
  const runPath = resolveFrom(programDirectory, analyzer ? "@pulumi/pulumi/cmd/run-policy-pack" : "@pulumi/pulumi/cmd/run-plugin");
  const args = [
    runPath,
    ...options(info).nodeargs,
    // Policy packs take their directory last, other plugins first (as the real plugin does).
    ...(analyzer ? [...request.getArgsList(), programDirectory] : [programDirectory, ...request.getArgsList()]),
  ];
  const baseEnv: NodeJS.ProcessEnv = {};
  for (const kv of request.getEnvList() as string[]) {
    const i = kv.indexOf("=");
    if (i > 0) baseEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: analyzer ? programDirectory : request.getPwd(),
    env: runtimeEnv(info, Object.keys(baseEnv).length > 0 ? baseEnv : process.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const send = (set: (r: languageProto.RunPluginResponse) => void) => {
    const r = new languageProto.RunPluginResponse();
    set(r);
    call.write(r);
  };
  child.stdout?.on("data", (d: Buffer) => send((r) => r.setStdout(d)));
  child.stderr?.on("data", (d: Buffer) => send((r) => r.setStderr(d)));
  child.on("close", (code) => {
    send((r) => r.setExitcode(code ?? 1));
    call.end();
  });
  call.on("cancelled", () => child.kill());
}

const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
server.addService(languageGrpc.LanguageRuntimeService, {
  handshake: unary((request: languageProto.LanguageHandshakeRequest) => {
    engineAddress = request.getEngineAddress() || engineAddress;
    return new languageProto.LanguageHandshakeResponse();
  }),
  getPluginInfo: unary(() => new pluginProto.PluginInfo().setVersion(process.env["E2E_PULUMI_VERSION"] ?? "3.0.0")),
  getRequiredPlugins: unary((request: languageProto.GetRequiredPluginsRequest) => {
    const dir = request.getInfo()?.getProgramDirectory() || request.getProgram();
    const res = new languageProto.GetRequiredPluginsResponse();
    res.setPluginsList(
      requiredPlugins(dir).map((p) => {
        const d = new pluginProto.PluginDependency().setName(p.name).setKind("resource").setVersion(p.version);
        return p.server ? d.setServer(p.server) : d;
      }),
    );
    return res;
  }),
  getRequiredPackages: unary((request: languageProto.GetRequiredPackagesRequest) => {
    const dir = request.getInfo()?.getProgramDirectory() ?? "";
    const res = new languageProto.GetRequiredPackagesResponse();
    res.setPackagesList(
      requiredPlugins(dir).map((p) => {
        const d = new pluginProto.PackageDependency().setName(p.name).setKind("resource").setVersion(p.version);
        return p.server ? d.setServer(p.server) : d;
      }),
    );
    return res;
  }),
  run: unary(run),
  runPlugin,
  installDependencies: (
    call: grpc.ServerWritableStream<languageProto.InstallDependenciesRequest, languageProto.InstallDependenciesResponse>,
  ) => call.end(),
  getProgramDependencies: unary(() => new languageProto.GetProgramDependenciesResponse()),
  about: unary(() => new languageProto.AboutResponse().setExecutable(process.execPath).setVersion(process.version)),
  runtimeOptionsPrompts: unary(() => new languageProto.RuntimeOptionsResponse()),
  cancel: unary(() => new emptyProto.Empty()),
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(String(port));
});
