/** How violation messages name workloads and containers, and how to write a fix in each family. */

import { GPU_RESOURCE } from "./core";
import { UNKNOWN } from "./values";
import type { ContainerView, WorkloadView } from "./view";
import type { Family, Mount, Workload } from "./workload";

export function setEnv(family: Family, key: string, value: string): string {
  switch (family) {
    case "docker":
      return `add "${key}=${value}" to envs`;
    case "kubernetes":
      return `add {name: "${key}", value: "${value}"} to env`;
    case "ecs":
      return `add {name: "${key}", value: "${value}"} to environment`;
  }
}

export function removeEnv(family: Family, key: string): string {
  switch (family) {
    case "docker":
      return `remove ${key} from envs`;
    case "kubernetes":
      return `remove ${key} from env`;
    case "ecs":
      return `remove ${key} from environment and secrets`;
  }
}

export function readOnlyFix(family: Family): string {
  switch (family) {
    case "docker":
      return "set readOnly: true on it";
    case "kubernetes":
      return "set readOnly: true on the volumeMount (an unset readOnly is read-write)";
    case "ecs":
      return "set readOnly: true on the mountPoint (an unset readOnly is read-write)";
  }
}

export function describeMount(m: Mount): string {
  const path = m.path === UNKNOWN ? "(unknown path)" : m.path;
  return `${m.where} at ${path}${m.subPath ? ` (subPath ${m.subPath})` : ""}`;
}

/** A workload for messages: `container "x"`, `service "x"` (Docker), `Deployment "x"`, `TaskDefinition "x"`. */
export function workloadWhere(w: Workload): string {
  if (w.family === "docker") return `${w.kind === "Service" ? "service" : "container"} "${w.name}"`;
  return `${w.kind} "${w.name}"`;
}

/** A container of a workload for messages: `init container "verify" of Deployment "models-service"`. */
export function containerWhere(v: WorkloadView, cv: ContainerView): string {
  const w = v.workload;
  if (w.family === "docker") return workloadWhere(w);
  return `${cv.container.init ? "init container" : "container"} "${cv.container.name}" of ${workloadWhere(w)}`;
}

export function gpuFix(w: Workload): string {
  switch (w.family) {
    case "docker":
      return w.kind === "Service"
        ? 'reserve taskSpec.resources.reservation.genericResources.discreteResourcesSpecs ["NVIDIA-GPU=1"]'
        : 'set gpus: "all"';
    case "kubernetes":
      return `set resources.limits["${GPU_RESOURCE}"]: "1" on the serving container`;
    case "ecs":
      return 'add resourceRequirements: [{type: "GPU", value: "1"}] to the serving container';
  }
}

export function startupFix(family: Family, minSeconds: number): string {
  switch (family) {
    case "docker":
      return `set healthcheck.startPeriod to "${minSeconds}s" or more`;
    case "ecs":
      return `set healthCheck.startPeriod to ${minSeconds} or more`;
    case "kubernetes":
      return `add a startupProbe with periodSeconds × failureThreshold + initialDelaySeconds ≥ ${minSeconds}`;
  }
}
