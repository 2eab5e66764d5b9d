/** Any resource → Workload, by type (undefined for types that are not workloads). */
import { DOCKER_CONTAINER, readDockerContainer } from "./docker";
import { ECS_TASK_DEFINITION, readEcsTaskDefinition } from "./ecs";
import { isKubernetesWorkload, readKubernetesWorkload } from "./kubernetes";
import type { Obj } from "./values";
import type { Workload } from "./workload";

export function readWorkload(type: string, urn: string, name: string, props: Obj): Workload | undefined {
  if (type === DOCKER_CONTAINER) return readDockerContainer(urn, name, props);
  if (type === ECS_TASK_DEFINITION) return readEcsTaskDefinition(urn, name, props);
  if (isKubernetesWorkload(type)) return readKubernetesWorkload(type, urn, name, props);
  return undefined;
}
