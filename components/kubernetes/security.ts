import type * as k8s from "@pulumi/kubernetes";
import { CACHE_GID, CACHE_UID } from "../core/contract";

/**
 * Every pod of the cache runs as the cache's user (the EFS access point's uid/gid too), with the
 * runtime's default seccomp profile, and without a service account token: nothing here talks to
 * the Kubernetes API. Together with `CONTAINER_SECURITY_CONTEXT` this satisfies the `restricted`
 * Pod Security Standard the namespace enforces.
 */
export const POD_SECURITY_CONTEXT: k8s.types.input.core.v1.PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: CACHE_UID,
  runAsGroup: CACHE_GID,
  seccompProfile: { type: "RuntimeDefault" },
};

export const CONTAINER_SECURITY_CONTEXT: k8s.types.input.core.v1.SecurityContext = {
  runAsNonRoot: true,
  runAsUser: CACHE_UID,
  runAsGroup: CACHE_GID,
  privileged: false,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/** The volume every container's /tmp is (the root filesystem is read-only). */
export const TMP_VOLUME = "tmp";
export const TMP_SIZE_LIMIT = "1Gi";
/** The models volume's name inside a pod spec. */
export const MODELS_VOLUME = "models";

export function tmpVolume(): k8s.types.input.core.v1.Volume {
  return { name: TMP_VOLUME, emptyDir: { sizeLimit: TMP_SIZE_LIMIT } };
}
