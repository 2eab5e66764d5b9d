/**
 * Docker Engine API steps the dynamic providers run (`one-shot-container.ts`, `healthy-container.ts`),
 * through dockerode. These functions are serialized with the providers into the stack's state and run
 * in Pulumi's dynamic-provider process: they capture nothing but each other and `require`
 * (dockerode is required inside, at run time, from the program's node_modules).
 */
import type Dockerode from "dockerode";

/**
 * The engine the Docker provider talks to: `docker:host` when the stack sets it, else what the
 * docker CLI uses (`DOCKER_HOST`, else the local socket), as dockerode's defaults do.
 */
export function connectEngine(dockerHost: string | undefined): Dockerode {
  const Docker = require("dockerode") as typeof Dockerode;
  if (!dockerHost) return new Docker();
  const url = new URL(dockerHost);
  if (url.protocol === "unix:") return new Docker({ socketPath: url.pathname });
  if (url.protocol === "tcp:" || url.protocol === "http:") {
    return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" });
  }
  if (url.protocol === "ssh:") {
    return new Docker({ protocol: "ssh", host: url.hostname, port: Number(url.port || 22), username: url.username || undefined });
  }
  throw new Error(`docker:host "${dockerHost}": use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host`);
}

/** The last `lines` lines a container wrote (stdout and stderr, in order), without blank lines. */
export async function tailLogs(container: Dockerode.Container, lines: number): Promise<string[]> {
  const raw = (await container.logs({ stdout: true, stderr: true, follow: false, tail: lines })) as unknown as Buffer;
  // Without a TTY the engine multiplexes the streams: 8-byte frame headers [stream, 0, 0, 0, size(4, BE)].
  const chunks: Buffer[] = [];
  let offset = 0;
  const framed = raw.length >= 8 && raw[0]! <= 2 && raw[1] === 0 && raw[2] === 0 && raw[3] === 0;
  if (!framed) chunks.push(raw);
  else
    while (offset + 8 <= raw.length) {
      const size = raw.readUInt32BE(offset + 4);
      chunks.push(raw.subarray(offset + 8, offset + 8 + size));
      offset += 8 + size;
    }
  return Buffer.concat(chunks)
    .toString("utf8")
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .slice(-lines);
}

/** True for dockerode's "no such container/image" errors. */
export function isNotFound(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { statusCode?: number }).statusCode === 404;
}

/** Removes a container (and its anonymous volumes, never named ones); gone already is fine. */
export async function removeContainer(docker: Dockerode, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
