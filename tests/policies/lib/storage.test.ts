/** Which identities a volume source reaches: the cache is the same storage by every route. */
import { describe, expect, it } from "vitest";
import { ALL_DOCKER_VOLUMES, storageKeys } from "../../../policies/lib/storage";

describe("storageKeys", () => {
  it.each([
    [
      { kind: "csi", driver: "efs.csi.aws.com", handle: "fs-0123456789abcdef0::fsap-0123456789abcdef0" },
      ["efs:fs-0123456789abcdef0", "efs-ap:fsap-0123456789abcdef0"],
    ],
    [{ kind: "csi", driver: "efs.csi.aws.com", handle: "fs-0123456789abcdef0:/models" }, ["efs:fs-0123456789abcdef0"]],
    [{ kind: "nfs", server: "eu-west-1a.fs-0123456789abcdef0.efs.eu-west-1.amazonaws.com", path: "/" }, ["efs:fs-0123456789abcdef0"]],
    [{ kind: "efs", fileSystemId: "fs-0123456789abcdef0" }, ["efs:fs-0123456789abcdef0"]],
    [{ kind: "host-path", path: "/var/lib/docker/volumes/models/_data/" }, ["docker-volume:models"]],
    [{ kind: "host-path", path: "/var/lib" }, [ALL_DOCKER_VOLUMES]],
  ] as const)("%j reaches %j", (ref, keys) => {
    expect(storageKeys(ref)).toEqual(expect.arrayContaining([...keys]));
  });

  it.each([
    { kind: "csi", driver: "ebs.csi.aws.com", handle: "vol-fs-0123" },
    { kind: "nfs", server: "nas.example.com", path: "/fs-0123456789abcdef0" },
    { kind: "host-path", path: "/srv/models" },
  ] as const)("look-alike %j reaches no EFS file system nor Docker volume", (ref) => {
    expect(storageKeys(ref).filter((k) => k.startsWith("efs:") || k.startsWith("docker-volume:"))).toEqual([]);
  });
});
