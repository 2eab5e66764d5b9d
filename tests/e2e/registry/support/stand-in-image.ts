/**
 * The stand-in model server's image, built on the test engine (nothing can be pulled here):
 * FROM scratch with this machine's Node binary and the shared libraries `ldd` says it needs,
 * plus stand-in/server.js. Built through the Engine API (dockerode buildImage).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type Docker from "dockerode";

export const STAND_IN_IMAGE = "model-cache-measure-stand-in:test";
const SERVER = path.join(__dirname, "..", "stand-in", "server.js");

export async function buildStandIn(docker: Docker): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "model-cache-stand-in-"));
  try {
    const node = fs.realpathSync(process.execPath);
    const libs = execFileSync("ldd", [node], { encoding: "utf8" })
      .split("\n")
      .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
      .filter((p): p is string => p !== undefined);
    for (const file of [...libs, node]) {
      const target = path.join(dir, "rootfs", file === node ? "/usr/local/bin/node" : file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(fs.realpathSync(file), target);
      fs.chmodSync(target, 0o755);
    }
    fs.mkdirSync(path.join(dir, "rootfs", "opt", "stand-in"), { recursive: true });
    fs.copyFileSync(SERVER, path.join(dir, "rootfs", "opt", "stand-in", "server.js"));
    fs.mkdirSync(path.join(dir, "rootfs", "tmp"), { mode: 0o1777 });
    fs.writeFileSync(
      path.join(dir, "Dockerfile"),
      'FROM scratch\nCOPY rootfs/ /\nENTRYPOINT ["/usr/local/bin/node", "/opt/stand-in/server.js"]\n',
    );
    const context = path.join(os.tmpdir(), `${path.basename(dir)}.tar`);
    execFileSync("tar", ["-cf", context, "-C", dir, "."]);
    try {
      const stream = await docker.buildImage(context, { t: STAND_IN_IMAGE });
      await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (err, output) => {
          const failed = (output as { error?: string }[] | undefined)?.find((o) => o.error);
          if (err || failed) reject(err ?? new Error(failed?.error));
          else resolve();
        }),
      );
    } finally {
      fs.rmSync(context, { force: true });
    }
    return STAND_IN_IMAGE;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
