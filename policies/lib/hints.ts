/** How to write a fix in each family, for violation messages. */
import { UNKNOWN } from "./values";
import type { ContainerView, WorkloadView } from "./view";
import type { Family, Mount } from "./workload";

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

export function containerWhere(v: WorkloadView, cv: ContainerView): string {
  const w = v.w;
  if (w.family === "docker") return `container "${w.name}"`;
  return `${cv.c.init ? "init container" : "container"} "${cv.c.name}" of ${w.kind} "${w.name}"`;
}
