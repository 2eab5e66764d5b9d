/**
 * A container run once to completion, as one Pulumi resource whose create fails unless the container
 * exited 0. A dynamic provider rather than `docker.Container`: the Docker provider's create waits for
 * an attached container and succeeds whatever its exit code (terraform-provider-docker
 * `resourceDockerContainerCreate`: `ContainerWait`, then Read records `exit_code`), so a failed run
 * would stay in state and never run again. Here a failed create leaves nothing in state, so the next
 * `pulumi up` runs it again with nothing manual.
 *
 * Its inputs keep `docker.Container`'s names (image, command, user, envs, volumes, labels, mustRun,
 * attach, restart) so the policy pack reads it with the same reader.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DOCKER_ONE_SHOT_TYPE } from "../core/contract";
import { connectEngine, isNotFound, removeContainer, tailLogs } from "./engine";

/** The Pulumi type token, `pulumi-nodejs:dynamic/<module>:<type>`, is the contract's (the pack reads it). */
const [, ONE_SHOT_MODULE, ONE_SHOT_TYPE] = /^pulumi-nodejs:dynamic\/([^:]+):(.+)$/.exec(DOCKER_ONE_SHOT_TYPE) as unknown as [
  string,
  string,
  string,
];

export interface OneShotContainerInputs {
  /** The container's name, as `docker ps -a` and `docker logs` show it. */
  name: string;
  /** An image reference; an image id (`sha256:…`) pins exactly the image that was built. */
  image: string;
  command: string[];
  user: string;
  /** `KEY=value` entries. */
  envs: string[];
  volumes: { volumeName: string; containerPath: string; readOnly: boolean }[];
  labels: { label: string; value: string }[];
  /** Always false: the container is not kept running once it exited. */
  mustRun: false;
  /** Always true: create waits for the exit code. */
  attach: true;
  /** Always "no": the engine never restarts it. */
  restart: "no";
  /** The Docker network mode; unset is the engine's default network. */
  networkMode?: string;
  /** Create fails (and stops the container) when it has not exited by then. */
  timeoutSeconds: number;
  /** How many of its last log lines a failure shows. */
  logLines: number;
  /** Names the step in messages: "the model downloader". */
  description: string;
  /** Appended to a failure: what was not done, and what to do. */
  failureHint: string;
  /** Appended to a timeout: where the timeout came from. */
  timeoutHint: string;
  /** `docker:host` of the stack, if set. */
  dockerHost?: string;
}

/** Changing any of these runs the container again (delete, then create). */
export const RUN_KEYS = ["name", "image", "command", "user", "envs", "volumes", "labels", "networkMode"] as const;

export interface OneShotOutputs extends OneShotContainerInputs {
  exitCode: number;
}

export function failureMessage(inputs: OneShotContainerInputs, exitCode: number, lines: string[]): string {
  return [
    `${inputs.description} (container ${inputs.name}) exited with code ${exitCode}.`,
    lines.length > 0 ? `Its last ${lines.length} log lines:` : "It printed nothing.",
    ...lines.map((line) => `  | ${line}`),
    inputs.failureHint,
  ].join("\n");
}

export function timeoutMessage(inputs: OneShotContainerInputs, lines: string[]): string {
  return [
    `${inputs.description} (container ${inputs.name}) did not finish within ${inputs.timeoutSeconds}s and was stopped. ${inputs.timeoutHint}`,
    lines.length > 0 ? `Its last ${lines.length} log lines:` : "It printed nothing.",
    ...lines.map((line) => `  | ${line}`),
    inputs.failureHint,
  ].join("\n");
}

/** Runs the container to completion; resolves with its id iff it exited 0. */
export async function runToCompletion(inputs: OneShotContainerInputs): Promise<{ id: string; outs: OneShotOutputs }> {
  const docker = connectEngine(inputs.dockerHost);
  // A failed earlier attempt is kept (so `docker logs <name>` shows it) until the next attempt.
  try {
    const previous = await docker.getContainer(inputs.name).inspect();
    if (previous.State.Running) {
      throw new Error(
        `${inputs.description}: container ${inputs.name} is still running (another \`pulumi up\`?); wait for it, or remove it with \`docker rm -f ${inputs.name}\``,
      );
    }
    await removeContainer(docker, previous.Id);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const container = await docker.createContainer({
    name: inputs.name,
    Image: inputs.image,
    Cmd: inputs.command,
    User: inputs.user,
    Env: inputs.envs,
    Labels: Object.fromEntries(inputs.labels.map((l) => [l.label, l.value])),
    HostConfig: {
      Binds: inputs.volumes.map((v) => `${v.volumeName}:${v.containerPath}:${v.readOnly ? "ro" : "rw"}`),
      RestartPolicy: { Name: "no" },
      ...(inputs.networkMode ? { NetworkMode: inputs.networkMode } : {}),
    },
  });
  await container.start();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), inputs.timeoutSeconds * 1000);
  });
  const exit = (await Promise.race([container.wait(), timedOut])) as { StatusCode: number } | undefined;
  clearTimeout(timer);
  if (exit === undefined) {
    await container.kill().catch(() => undefined);
    throw new Error(timeoutMessage(inputs, await tailLogs(container, inputs.logLines)));
  }
  if (exit.StatusCode !== 0) {
    throw new Error(failureMessage(inputs, exit.StatusCode, await tailLogs(container, inputs.logLines)));
  }
  return { id: container.id, outs: { ...inputs, exitCode: 0 } };
}

export const oneShotProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: OneShotOutputs, news: OneShotContainerInputs) {
    const replaces = RUN_KEYS.filter((key) => JSON.stringify(olds[key] ?? null) !== JSON.stringify(news[key] ?? null));
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
  },
  async create(inputs: OneShotContainerInputs) {
    return runToCompletion(inputs);
  },
  async delete(id: string, props: OneShotOutputs) {
    await removeContainer(connectEngine(props.dockerHost), id);
  },
};

/** The inputs as a program passes them: any value may be another resource's output. */
export type OneShotContainerArgs = {
  [K in Exclude<keyof OneShotContainerInputs, "volumes" | "networkMode" | "dockerHost">]: pulumi.Input<OneShotContainerInputs[K]>;
} & {
  networkMode?: pulumi.Input<string>;
  dockerHost?: pulumi.Input<string>;
} & {
  volumes: pulumi.Input<{ volumeName: pulumi.Input<string>; containerPath: pulumi.Input<string>; readOnly: boolean }[]>;
};

const positiveInt = z.number().int().positive();

/** A container run once to completion; see the module comment. */
export class OneShotContainer extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly image: pulumi.Output<string>;
  declare readonly exitCode: pulumi.Output<number>;

  constructor(name: string, args: OneShotContainerArgs, opts?: pulumi.CustomResourceOptions) {
    for (const [key, schema] of [
      ["timeoutSeconds", positiveInt],
      ["logLines", positiveInt],
    ] as const) {
      const value = args[key];
      if (typeof value === "number" && !schema.safeParse(value).success) {
        throw new Error(`OneShotContainer ${name}: ${key} must be a positive integer (got ${value})`);
      }
    }
    super(oneShotProvider, name, { ...args, exitCode: undefined }, opts, ONE_SHOT_MODULE, ONE_SHOT_TYPE);
  }
}
