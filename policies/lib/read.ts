/** Every family the pack reads; the rest of the pack asks these, never a family by name. */
import { expandVolumesFrom, readDockerStorage, readDockerWorkloads } from "./docker";
import { readEcsWorkloads, readEfsStorage } from "./ecs";
import type { EnvObject, Family, FamilyResource, StorageResource } from "./family";
import { applyKubernetesPatch, readKubernetesEnvObject, readKubernetesStorage, readKubernetesWorkloads } from "./kubernetes";
import type { Workload } from "./workload";

export const FAMILIES: readonly Family[] = [
  { readWorkloads: readDockerWorkloads, readStorage: readDockerStorage, linkWorkloads: expandVolumesFrom },
  {
    readWorkloads: readKubernetesWorkloads,
    readStorage: readKubernetesStorage,
    readEnvObject: readKubernetesEnvObject,
    applyPatch: applyKubernetesPatch,
  },
  { readWorkloads: readEcsWorkloads, readStorage: readEfsStorage },
];

export function readWorkloads(r: FamilyResource): Workload[] {
  return FAMILIES.flatMap((f) => f.readWorkloads(r));
}

export function readStorage(r: FamilyResource): StorageResource | undefined {
  for (const f of FAMILIES) {
    const storage = f.readStorage(r);
    if (storage) return storage;
  }
  return undefined;
}

export function readEnvObject(r: FamilyResource): EnvObject | undefined {
  for (const f of FAMILIES) {
    const object = f.readEnvObject?.(r);
    if (object) return object;
  }
  return undefined;
}
