/**
 * The registry commands — `lock`, `ls`, `measure` — on the `model-cache` CLI. Each loads its
 * module on first use, so `download` and `verify` (the warm path) never pay for them.
 */
import type { Command } from "commander";
import { HUB_ENDPOINT_ENV } from "../../../components/core/contract.js";
import { toCliError } from "../errors.js";
import type { ExitCode } from "../exit-codes.js";
import type { RegistryIo } from "./io.js";

export function registerRegistryCommands(
  program: Command,
  io: RegistryIo,
  setExit: (code: ExitCode) => void,
  userAgent: () => string,
): void {
  const guarded =
    (name: string, run: (...args: never[]) => Promise<ExitCode>) =>
    async (...args: unknown[]) => {
      try {
        setExit(await run(...(args as never[])));
      } catch (error) {
        const failure = toCliError(error);
        io.stderr.write(`model-cache ${name}: FAILED (exit ${failure.exitCode}): ${failure.message}\n`);
        setExit(failure.exitCode);
      }
    };

  program
    .command("lock")
    .description("pin a catalog file's entries to the hub: revision → commit, files with size and sha256/gitSha1")
    .argument("[ids...]", "only these entries (default: all)")
    .option("--catalog <file>", "the catalog file (YAML) to lock in place")
    .option("--builtin", "the built-in catalog instead (--check reports; otherwise prints its locked entries as YAML)")
    .option("--check", "change nothing; exit 3 when an entry is not locked or differs from what the hub says now")
    .option("--json", "print a machine-readable report on stdout")
    .option("--retries <n>", "retries per request on 5xx, 429, resets, timeouts", "5")
    .option("--timeout <seconds>", "abandon a connection idle this long", "60")
    .option("--backoff <ms>", "first retry delay, doubled each retry", "500")
    .addHelpText("after", `\nEnvironment: ${HUB_ENDPOINT_ENV} (the hub or a mirror), HF_TOKEN (gated repos; sent to the hub only).`)
    .action(
      guarded("lock", async (ids: string[], options: Record<string, unknown>) => {
        const { runLock } = await import("./lock-command.js");
        return runLock(ids, options, io, userAgent());
      }),
    );

  program
    .command("ls")
    .description("what a cache holds: per repo, whisper checkpoint and file its revisions, size, verification, use and prunable bytes")
    .option("-c, --cache <dir>", "cache root (default: $HF_HUB_CACHE)")
    .option("-m, --manifest <file>", "a manifest: say what it uses and what prune would free (default: $MODEL_CACHE_MANIFEST)")
    .option("--json", "print a machine-readable report on stdout")
    .action(
      guarded("ls", async (options: Record<string, unknown>) => {
        const { runLs } = await import("./ls.js");
        return runLs(options, io);
      }),
    );

  program
    .command("measure")
    .description("start (or attach to) the model service on a Docker engine; record peak memory, GPU memory and seconds to healthy")
    .option("--catalog <file>", "the catalog file to write the measurements into")
    .option("--image <image>", "the model service image to start")
    .option("--container <id>", "attach to this running container instead of starting one (seconds to healthy from its start)")
    .option("--volume <name>", "the models volume, mounted read-only at --mount-path")
    .option("--mount-path <path>", "where the volume is mounted in the container", "/app/models")
    .option("--model <id...>", "the catalog ids the container serves (several: give --split)")
    .option("--split <id=fraction...>", "how a total splits between the models, e.g. whisper-medium=0.7 siglip-so400m=0.3")
    .option("--device <device>", "cuda or cpu (default: cuda when nvidia-smi answers, else cpu)")
    .argument("[args...]", "arguments for the image, after -- (e.g. -- --port 8080)")
    .option("--env <NAME=value...>", "environment for the container")
    .option("--gpus", "request all GPUs (the container's DeviceRequests)")
    .option("--user <uid:gid>", "the user the service runs as (default: the cache's, 1000:1000)")
    .option("--network <mode>", "the container's network (default none: the service is offline)")
    .option(
      "--health-cmd <json>",
      "the health check, exec form as a JSON array (default: an HTTP GET of --health-path on --port through bash)",
    )
    .option("--health-path <path>", "the health endpoint of the default health check", "/health")
    .option("--port <port>", "the port of the default health check", "80")
    .option("--warmup <json>", 'after healthy, run this command in the container (JSON array, e.g. ["curl","-s","localhost/embed"])')
    .option(
      "--runtime-overhead-mib <mib>",
      "the serving runtime's own host memory, subtracted from the peak (default: sizing's figure for the device)",
    )
    .option("--timeout <seconds>", "give up when the container is not healthy after this long", "1800")
    .option("--keep", "leave the started container running")
    .option("--dry-run", "measure but do not write the catalog file")
    .option("--json", "print a machine-readable report on stdout")
    .addHelpText("after", "\nEnvironment: DOCKER_HOST (the engine; default unix:///var/run/docker.sock).")
    .action(
      guarded("measure", async (args: string[], options: Record<string, unknown>) => {
        const { runMeasure } = await import("./measure-command.js");
        return runMeasure({ ...options, arg: args }, io);
      }),
    );
}
