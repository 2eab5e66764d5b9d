/** Starts the suite's Docker engine and gives it the images it cannot pull; stops it afterwards. */
import type { TestProject } from "vitest/node";
import { devConfig } from "./dev-stack";
import { startEngine } from "./engine";
import { buildDir, ensureBaseImage, MODEL_SERVER_DIR } from "./images";

declare module "vitest" {
  export interface ProvidedContext {
    dockerHost: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const engine = await startEngine();
  try {
    const started = Date.now();
    const base = await ensureBaseImage(engine.docker);
    console.log(
      `e2e:docker: base image ${base.tag} from ${base.tarball} (${base.builtSeconds > 0 ? `rootfs built in ${base.builtSeconds.toFixed(0)}s` : "rootfs cached"}; ready in ${((Date.now() - started) / 1000).toFixed(1)}s)`,
    );
    await buildDir(engine.docker, MODEL_SERVER_DIR, devConfig.serviceImage);
  } catch (err) {
    await engine.stop();
    throw err;
  }
  project.provide("dockerHost", engine.host);
  // An interrupted run (Ctrl-C, a CI timeout) stops the engine too.
  const onSignal = (signal: NodeJS.Signals) => {
    void engine.stop().finally(() => process.kill(process.pid, signal));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return async () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await engine.stop();
  };
}
