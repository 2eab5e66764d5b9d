/**
 * The program: validated config → plan → the target's components. Everything is validated
 * before the first resource is registered, so a bad stack file creates nothing.
 */
import { manifestLabelValue } from "../components/core/contract";
import { planStack, type StackPlan } from "./plan";
import { type LoadedConfig, loadStackConfig } from "./pulumi-config";
import { deployDocker } from "./targets/docker";
import { deployKubernetes } from "./targets/kubernetes";

export interface StackOutputs {
  target: string;
  models: string[];
  manifestDigest: string;
  /** The `model-cache.io/manifest` label value every workload of the stack carries. */
  manifestLabel: string;
  memorySizing: StackPlan["sizing"];
  [key: string]: unknown;
}

export function runProgram(loaded: LoadedConfig = loadStackConfig()): StackOutputs {
  const plan = planStack(loaded.config);
  const common = {
    target: plan.config.target,
    models: plan.models.map((m) => m.id),
    manifestDigest: plan.manifest.digest,
    manifestLabel: manifestLabelValue(plan.manifest.digest),
    memorySizing: plan.sizing,
  };
  switch (plan.config.target) {
    case "docker":
      return { ...common, ...deployDocker(plan, loaded.hubToken) };
    case "kubernetes":
      return { ...common, ...deployKubernetes(plan, loaded) };
  }
}
