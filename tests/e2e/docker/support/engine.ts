/**
 * A real Docker engine for the suite: Debian's dockerd, started as root with its own data root,
 * exec root, socket and pidfile in a temp dir, no iptables and no bridge (it touches nothing outside
 * that dir), stopped (SIGTERM, then its dirs removed) when the suite ends.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Docker from "dockerode";

export interface TestEngine {
  docker: Docker;
  /** `unix://…/docker.sock`, for DOCKER_HOST and `docker:host`. */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startEngine(): Promise<TestEngine> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "model-cache-dockerd-"));
  const socket = path.join(dir, "docker.sock");
  const log = fs.openSync(path.join(dir, "dockerd.log"), "a");
  const child: ChildProcess = spawn(
    "dockerd",
    [
      "--iptables=false",
      "--ip6tables=false",
      "--bridge=none",
      "--data-root",
      path.join(dir, "data"),
      "--exec-root",
      path.join(dir, "exec"),
      "--pidfile",
      path.join(dir, "dockerd.pid"),
      "-H",
      `unix://${socket}`,
    ],
    { stdio: ["ignore", log, log] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const docker = new Docker({ socketPath: socket });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= halt());
  const halt = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    }
    fs.closeSync(log);
    // dockerd leaves its netns mount (exec/netns/default) behind; unmount what is left under dir.
    const mounts = fs
      .readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[1] ?? "")
      .filter((m) => m.startsWith(`${dir}/`))
      .sort()
      .reverse();
    for (const m of mounts) spawnSync("umount", ["-l", m]);
    // containerd (dockerd's child) may still be letting go of its files: retry for a while.
    for (let attempt = 0; ; attempt++) {
      try {
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
        if (!fs.existsSync(dir)) break;
      } catch (err) {
        if (attempt >= 20) throw err;
      }
      if (attempt >= 20) throw new Error(`could not remove ${dir}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    try {
      await docker.ping();
      return { docker, host: `unix://${socket}`, dir, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const tail = fs.readFileSync(path.join(dir, "dockerd.log"), "utf8").split("\n").slice(-20).join("\n");
  await stop();
  throw new Error(`dockerd did not start (is docker.io installed, and are we root?):\n${tail}`);
}
