/**
 * The images the test engine needs and cannot pull: the Dockerfile's base (a local stand-in, see
 * base-rootfs.sh) and the stand-in model server, tagged as the names the program uses, only inside
 * the test engine.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type Dockerode from "dockerode";
import * as tar from "tar";

export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..", "..");
export const DOWNLOADER_DOCKERFILE = path.join(REPO_ROOT, "downloader", "Dockerfile");
const SUPPORT = __dirname;

export function toolsDir(): string {
  return path.join(process.env["MODEL_CACHE_TOOLS"] || path.join(os.homedir(), ".cache", "model-cache"), "e2e", "docker");
}

/** The one base image `downloader/Dockerfile` builds on (every FROM that is not a stage). */
export function dockerfileBase(dockerfile = DOWNLOADER_DOCKERFILE): string {
  const froms = [...fs.readFileSync(dockerfile, "utf8").matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];
  const stages = new Set(froms.map((m) => m[2]?.toLowerCase()).filter(Boolean));
  const bases = [...new Set(froms.map((m) => m[1]!).filter((b) => !stages.has(b.toLowerCase())))];
  if (bases.length !== 1) throw new Error(`${dockerfile}: expected one base image, found ${bases.join(", ") || "none"}`);
  return bases[0]!;
}

/** The Node this machine runs (the project's Node: the base image follows it). */
function nodeBinary(): string {
  return process.execPath;
}

/** npm as the official image ships it: the npm package next to the system's node, or the one on PATH. */
function npmDir(): string {
  const npmCli = execFileSync("bash", ["-c", 'readlink -f "$(command -v npm)"'], { encoding: "utf8" }).trim();
  return path.resolve(path.dirname(npmCli), "..");
}

export interface BaseImage {
  tag: string;
  tarball: string;
  /** Seconds spent building the rootfs (0 when it was cached). */
  builtSeconds: number;
}

/** Builds (or reuses) the rootfs tarball and imports it as the Dockerfile's base. */
export async function ensureBaseImage(docker: Dockerode): Promise<BaseImage> {
  const tag = dockerfileBase();
  const major = /^node:(\d+)/.exec(tag)?.[1];
  const nodeMajor = process.versions.node.split(".")[0];
  if (major !== nodeMajor) {
    throw new Error(
      `downloader/Dockerfile builds on ${tag} but this machine runs Node ${process.versions.node}: the image follows the project's Node`,
    );
  }
  const started = Date.now();
  const before = fs.existsSync(toolsDir()) ? new Set(fs.readdirSync(toolsDir())) : new Set<string>();
  const tarball = execFileSync("bash", [path.join(SUPPORT, "base-rootfs.sh"), nodeBinary(), npmDir(), toolsDir()], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  const builtSeconds = before.has(path.basename(tarball)) ? 0 : (Date.now() - started) / 1000;
  const [repo, version] = tag.split(":");
  const stream = await docker.importImage(tarball, {
    repo,
    tag: version,
    changes: [
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      // See base-rootfs.sh: the machine's CAs, for the build stage's `npm ci` (Node reads this file if it exists).
      "ENV NODE_EXTRA_CA_CERTS=/usr/local/share/model-cache-e2e/ca-certificates.crt",
      'CMD ["node"]',
    ],
  } as unknown as Record<string, unknown>);
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))));
  return { tag, tarball, builtSeconds };
}

/** Builds a directory with BuildKit through the engine API; returns the image id. */
export async function buildDir(docker: Dockerode, dir: string, tag: string): Promise<string> {
  const files = fs.readdirSync(dir);
  const stream = await docker.buildImage(
    tar.c({ cwd: dir, portable: true }, files) as unknown as NodeJS.ReadableStream,
    {
      t: tag,
      version: "2",
      networkmode: "host",
    } as Dockerode.ImageBuildOptions,
  );
  const errors: string[] = [];
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (err) => (err ? reject(err) : resolve(undefined)),
      (e: { error?: string }) => e.error && errors.push(e.error),
    ),
  );
  if (errors.length > 0) throw new Error(`building ${dir}: ${errors.join("\n")}`);
  return (await docker.getImage(tag).inspect()).Id;
}

export const MODEL_SERVER_DIR = path.join(REPO_ROOT, "tests", "e2e", "docker", "model-server");
