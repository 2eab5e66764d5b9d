/**
 * Shared by the kubernetes suites: the prod stack as written, run under the SDK's mocks with the
 * one value its file cannot hold (the kubeconfig secret), and accessors for what it registers.
 */
import { expect } from "vitest";
import { LABELS } from "../../components/core/contract";
import { type MockRunOptions, type MockRunResult, type RegisteredResource, runStackUnderMocks } from "../../gate/run-under-mocks";
import { readStackFile } from "../../gate/stack-file";
import { parseStackConfig } from "../../infra/config";
import { planStack } from "../../infra/plan";
import { runProgram } from "../../infra/program";

export const KUBECONFIG_KEY = "model-cache:kubeconfig";
/** What `pulumi config set --secret model-cache:kubeconfig "$(cat kubeconfig)"` would hold. */
export const FAKE_KUBECONFIG = [
  "apiVersion: v1",
  "kind: Config",
  "clusters: [{name: prod, cluster: {server: 'https://example.eks.amazonaws.com'}}]",
  "contexts: [{name: prod, context: {cluster: prod, user: prod}}]",
  "current-context: prod",
  "users: [{name: prod, user: {token: kubeconfig-secret-token}}]",
].join("\n");

export const prodFile = readStackFile("prod");

/** The prod plan, derived from the stack file (plus overrides) exactly as the program derives it. */
export function prodPlan(overrides: Record<string, string> = {}) {
  return planStack(parseStackConfig({ ...prodFile.config, ...overrides }));
}

/** The prod stack under mocks: the stack file as written, the kubeconfig as a secret, plus `config`. */
export function runProd(options: MockRunOptions = {}): Promise<MockRunResult> {
  return runStackUnderMocks("prod", () => runProgram() as unknown as Record<string, unknown>, {
    ...options,
    config: { [KUBECONFIG_KEY]: FAKE_KUBECONFIG, ...options.config },
    secretKeys: [KUBECONFIG_KEY, ...(options.secretKeys ?? [])],
  });
}

export const K8S = {
  namespace: "kubernetes:core/v1:NamespacePatch",
  pv: "kubernetes:core/v1:PersistentVolume",
  pvc: "kubernetes:core/v1:PersistentVolumeClaim",
  secret: "kubernetes:core/v1:Secret",
  service: "kubernetes:core/v1:Service",
  job: "kubernetes:batch/v1:Job",
  deployment: "kubernetes:apps/v1:Deployment",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  provider: "pulumi:providers:kubernetes",
} as const;

export const AWS = {
  fileSystem: "aws:efs/fileSystem:FileSystem",
  policy: "aws:efs/fileSystemPolicy:FileSystemPolicy",
  mountTarget: "aws:efs/mountTarget:MountTarget",
  accessPoint: "aws:efs/accessPoint:AccessPoint",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
} as const;

export const byType = (run: MockRunResult, type: string) => run.resources.filter((r) => r.type === type);

export function one(run: MockRunResult, type: string): RegisteredResource {
  const found = byType(run, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
}

/** Kubernetes objects as the API server would receive them. */
// biome-ignore lint/suspicious/noExplicitAny: the tests walk arbitrary manifests and assert on their shape
export type Obj = Record<string, any>;

export const objOf = (r: RegisteredResource): Obj => r.props as Obj;
export const labelsOf = (r: RegisteredResource): Record<string, string> => objOf(r)["metadata"]?.["labels"] ?? {};
export const podTemplate = (r: RegisteredResource): Obj => objOf(r)["spec"]["template"];
export const podSpec = (r: RegisteredResource): Obj => podTemplate(r)["spec"];
export const envOf = (container: Obj): Record<string, string> =>
  Object.fromEntries(((container["env"] ?? []) as { name: string; value?: string }[]).map((e) => [e.name, e.value ?? "<valueFrom>"]));
export const role = (r: RegisteredResource) => labelsOf(r)[LABELS.role];
