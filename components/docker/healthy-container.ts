/**
 * Waits for a running container's healthcheck to pass, as one Pulumi resource whose create fails as
 * soon as the container is unhealthy, exited or restarting, with the healthcheck's last outputs and
 * the container's last log lines. It replaces the Docker provider's `wait`, which polls only for
 * `healthy`, fails at `waitTimeout` with "container failed to be in healthy state" and no logs, and
 * leaves a partially created container that the next `up` then passes without waiting (the
 * provider's Update does not wait; pulumi/pulumi#1836). A failed create here leaves nothing in state,
 * so the next `pulumi up` checks the container again.
 */
import * as pulumi from "@pulumi/pulumi";
import { connectEngine, sleep, tailLogs } from "./engine";

export const HEALTHY_MODULE = "docker";
export const HEALTHY_TYPE = "HealthyContainer";

export interface HealthyContainerInputs {
  /** The container to wait for (its id: a replaced container is waited for again). */
  containerId: string;
  /** Its name, for messages. */
  containerName: string;
  /** Fail when it is not healthy by then (its start period plus the retries' worth of intervals). */
  timeoutSeconds: number;
  logLines: number;
  dockerHost?: string;
}

interface HealthState {
  Status?: string;
  Log?: { ExitCode: number; Output: string }[];
}

function failure(inputs: HealthyContainerInputs, what: string, health: HealthState | undefined, lines: string[]): Error {
  const checks = (health?.Log ?? [])
    .slice(-3)
    .map((check) => `  | exit ${check.ExitCode}: ${check.Output.trim().split("\n").slice(-3).join(" / ")}`);
  return new Error(
    [
      `container ${inputs.containerName} ${what}.`,
      ...(checks.length > 0 ? ["Its last healthchecks:", ...checks] : []),
      lines.length > 0 ? `Its last ${lines.length} log lines:` : "It printed nothing.",
      ...lines.map((line) => `  | ${line}`),
      `Fix the cause above (\`docker logs ${inputs.containerName}\` shows all of it), then run \`pulumi up\` again.`,
    ].join("\n"),
  );
}

export async function waitHealthy(inputs: HealthyContainerInputs): Promise<{ id: string; outs: HealthyContainerInputs }> {
  const docker = connectEngine(inputs.dockerHost);
  const container = docker.getContainer(inputs.containerId);
  const deadline = Date.now() + inputs.timeoutSeconds * 1000;
  for (;;) {
    const info = await container.inspect();
    const state = info.State as typeof info.State & { Health?: HealthState };
    if (!state.Health) {
      throw new Error(`container ${inputs.containerName} has no healthcheck: nothing tells when it is ready; give it one`);
    }
    if (state.Running && !state.Restarting && state.Health.Status === "healthy") return { id: inputs.containerId, outs: inputs };
    // Exited (or restarted after an exit) before unhealthy: the engine marks such a container unhealthy too.
    if (!state.Running || state.Restarting || info.RestartCount > 0) {
      const what =
        !state.Running || state.Restarting
          ? `exited with code ${state.ExitCode}${info.RestartCount > 0 ? ` (restarted ${info.RestartCount} times)` : ""} before it was healthy`
          : `exited and was restarted ${info.RestartCount} times before it was healthy`;
      throw failure(inputs, what, state.Health, await tailLogs(container, inputs.logLines));
    }
    if (state.Health.Status === "unhealthy") {
      throw failure(inputs, "is unhealthy", state.Health, await tailLogs(container, inputs.logLines));
    }
    if (Date.now() > deadline) {
      throw failure(inputs, `was not healthy within ${inputs.timeoutSeconds}s`, state.Health, await tailLogs(container, inputs.logLines));
    }
    await sleep(1000);
  }
}

export const healthyProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: HealthyContainerInputs, news: HealthyContainerInputs) {
    const replace = olds.containerId !== news.containerId;
    return { changes: replace, replaces: replace ? ["containerId"] : [] };
  },
  async create(inputs: HealthyContainerInputs) {
    return waitHealthy(inputs);
  },
};

/** The service's "it is up" step; see the module comment. */
export class HealthyContainer extends pulumi.dynamic.Resource {
  constructor(
    name: string,
    args: { [K in keyof HealthyContainerInputs]: pulumi.Input<HealthyContainerInputs[K]> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    if (typeof args.timeoutSeconds === "number" && !(Number.isInteger(args.timeoutSeconds) && args.timeoutSeconds > 0)) {
      throw new Error(`HealthyContainer ${name}: timeoutSeconds must be a positive integer (got ${args.timeoutSeconds})`);
    }
    super(healthyProvider, name, args, opts, HEALTHY_MODULE, HEALTHY_TYPE);
  }
}
