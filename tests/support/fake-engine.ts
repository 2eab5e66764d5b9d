/**
 * A real gRPC server that plays the Pulumi engine for one program run: the ResourceMonitor
 * (resource registrations answered by the SDK's own MockMonitor) and the Engine service (logs,
 * root resource). With it a test starts the program exactly as pulumi-language-nodejs does —
 * `node @pulumi/pulumi/cmd/run --monitor … --engine … infra/index.ts`, ts-node and all.
 */
import * as grpc from "@grpc/grpc-js";
import * as engineGrpc from "@pulumi/pulumi/proto/engine_grpc_pb.js";
import * as enginePb from "@pulumi/pulumi/proto/engine_pb.js";
import * as resourceGrpc from "@pulumi/pulumi/proto/resource_grpc_pb.js";
import * as resourcePb from "@pulumi/pulumi/proto/resource_pb.js";
import { MockMonitor, type MockResourceArgs } from "@pulumi/pulumi/runtime/mocks.js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb.js";

export interface EngineLog {
  severity: "debug" | "info" | "warning" | "error";
  message: string;
  urn: string;
}

export interface Registration {
  type: string;
  name: string;
  urn: string;
  parent: string;
  dependencies: string[];
  inputs: Record<string, unknown>;
}

export interface FakeEngine {
  address: string;
  logs: EngineLog[];
  registrations: Registration[];
  close(): Promise<void>;
}

const SEVERITY = ["debug", "info", "warning", "error"] as const;

type Handler = (call: { request: unknown }, callback: (err: Error | null, resp?: unknown) => void) => void;

export async function startFakeEngine(outputsFor: (args: MockResourceArgs) => Record<string, unknown> = () => ({})): Promise<FakeEngine> {
  const logs: EngineLog[] = [];
  const registrations: Registration[] = [];
  const mock = new MockMonitor({
    newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs, ...outputsFor(args) } }),
    call: (args) => args.inputs,
  });
  let rootUrn = "";

  const monitor: Record<string, Handler> = {
    supportsFeature(call, cb) {
      const req = call.request as resourcePb.SupportsFeatureRequest;
      const resp = new resourcePb.SupportsFeatureResponse();
      // As the engine does for a plain nodejs program; output values off like the SDK's own mocks.
      resp.setHassupport(req.getId() !== "outputValues");
      cb(null, resp);
    },
    registerResource(call, cb) {
      const req = call.request as resourcePb.RegisterResourceRequest;
      mock.registerResource(req, (err: Error | null, resp?: resourcePb.RegisterResourceResponse) => {
        if (!err && resp) {
          registrations.push({
            type: req.getType(),
            name: req.getName(),
            urn: resp.getUrn(),
            parent: req.getParent(),
            dependencies: req.getDependenciesList(),
            inputs: (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
          });
        }
        cb(err, resp);
      });
    },
    registerResourceOutputs(call, cb) {
      mock.registerResourceOutputs(call.request, (err: Error | null) => cb(err, new Empty()));
    },
    invoke(call, cb) {
      mock.invoke(call.request, cb);
    },
    readResource(call, cb) {
      mock.readResource(call.request, cb);
    },
    registerPackage(_call, cb) {
      const resp = new resourcePb.RegisterPackageResponse();
      resp.setRef("fake-engine-package");
      cb(null, resp);
    },
    signalAndWaitForShutdown(_call, cb) {
      cb(null, new Empty());
    },
  };
  const engine: Record<string, Handler> = {
    log(call, cb) {
      const req = call.request as enginePb.LogRequest;
      logs.push({ severity: SEVERITY[req.getSeverity()] ?? "info", message: req.getMessage(), urn: req.getUrn() });
      cb(null, new Empty());
    },
    getRootResource(_call, cb) {
      const resp = new enginePb.GetRootResourceResponse();
      resp.setUrn(rootUrn);
      cb(null, resp);
    },
    setRootResource(call, cb) {
      rootUrn = (call.request as enginePb.SetRootResourceRequest).getUrn();
      cb(null, new enginePb.SetRootResourceResponse());
    },
    requirePulumiVersion(_call, cb) {
      cb(null, new enginePb.RequirePulumiVersionResponse());
    },
  };

  const server = new grpc.Server();
  server.addService(
    (resourceGrpc as unknown as { ResourceMonitorService: grpc.ServiceDefinition }).ResourceMonitorService,
    monitor as unknown as grpc.UntypedServiceImplementation,
  );
  server.addService(
    (engineGrpc as unknown as { EngineService: grpc.ServiceDefinition }).EngineService,
    engine as unknown as grpc.UntypedServiceImplementation,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    logs,
    registrations,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
