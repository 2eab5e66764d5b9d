/**
 * `model-cache measure`: measure the model service on a Docker engine (measure.ts) and write the
 * figures into the catalog file as `basis: measured`, with their source (date, image, device,
 * host): the whole container's figures for one model, or a total split as the user says.
 *
 * The container's peak includes the serving runtime itself, which sizing adds on its own
 * (RUNTIME_OVERHEAD), so the model's host peak recorded is the peak minus that overhead: the
 * stack's need (overhead + Σ host peaks) is then at least the measured peak.
 */
import { createRequire } from "node:module";
import { hostname } from "node:os";
import type Dockerode from "dockerode";
import { z } from "zod";
import type { CatalogFileEntry } from "../../../components/core/catalog/file.js";
import type { Measurement } from "../../../components/core/catalog/schema.js";
import {
  CACHE_GID,
  CACHE_UID,
  cachePaths,
  consumerEnv,
  DEVICES,
  type Device,
  httpProbeCommand,
  toDockerEnv,
} from "../../../components/core/contract.js";
import { RUNTIME_OVERHEAD } from "../../../components/core/sizing.js";
import { UsageError } from "../errors.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { readCatalogInput } from "./catalog-input.js";
import { gpuProcesses } from "./gpu.js";
import type { RegistryIo } from "./io.js";
import { type ContainerMeasurement, measureContainer } from "./measure.js";
import { editYaml, type YamlEdit } from "./yaml-edit.js";

const MIB = 1024 * 1024;

/** A command in exec form, given as a JSON array of strings. */
const jsonCommand = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: 'must be a JSON array of strings, e.g. ["curl","-fs","http://127.0.0.1/health"]' });
      return z.NEVER;
    }
  })
  .pipe(z.array(z.string()).min(1, "give the program to run"));

const MeasureOptionsSchema = z
  .object({
    catalog: z.string().min(1).optional(),
    image: z.string().min(1).optional(),
    container: z.string().min(1).optional(),
    volume: z.string().min(1).optional(),
    mountPath: z.string().startsWith("/").default("/app/models"),
    model: z.array(z.string().min(1)).min(1, "name the catalog id(s) the container serves"),
    split: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9._-]*=(0(\.\d+)?|1(\.0+)?)$/, "must be id=fraction, e.g. whisper-medium=0.7"))
      .optional(),
    device: z.enum(DEVICES).optional(),
    arg: z.array(z.string()).default([]),
    env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*=/, 'must be "NAME=value"')).default([]),
    user: z.string().default(`${CACHE_UID}:${CACHE_GID}`),
    network: z.string().default("none"),
    gpus: z.boolean().default(false),
    healthCmd: jsonCommand.optional(),
    healthPath: z.string().startsWith("/").default("/health"),
    port: z.coerce.number().int().min(1).max(65535).default(80),
    warmup: jsonCommand.optional(),
    runtimeOverheadMib: z.coerce.number().int().min(0).optional(),
    timeout: z.coerce.number().positive().max(86_400).default(1800),
    keep: z.boolean().default(false),
    dryRun: z.boolean().default(false),
    json: z.boolean().default(false),
  })
  .superRefine((o, ctx) => {
    if ((o.image === undefined) === (o.container === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["image"],
        message: "give --image (start the service) or --container (attach to a running one)",
      });
    }
    if (o.catalog === undefined && !o.dryRun) {
      ctx.addIssue({ code: "custom", path: ["catalog"], message: "give the catalog file to write into (or --dry-run to only print)" });
    }
  });

export interface ModelFigures {
  id: string;
  hostPeak: Measurement;
  gpu?: Measurement;
  load?: { seconds: number; basis: "measured"; source: string };
}

export async function runMeasure(raw: Record<string, unknown>, io: RegistryIo): Promise<ExitCode> {
  const parsed = MeasureOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--${kebab(String(issue?.path[0]))}: ${issue?.message}`);
  }
  const o = parsed.data;
  const split = splitOf(o.model, o.split);
  const catalog = o.catalog ? loadCatalog(o.catalog, o.model) : undefined;

  const docker = connect(io.env["DOCKER_HOST"]);
  const device: Device = o.device ?? ((await gpuProcesses()) !== undefined ? "cuda" : "cpu");
  const paths = cachePaths(o.mountPath);
  const measurement = await measureContainer({
    docker,
    ...(o.image
      ? {
          start: {
            image: o.image,
            args: o.arg,
            // The consumer's environment, as the stack gives it: the cache env and offline mode.
            env: [...toDockerEnv(consumerEnv(paths)), ...o.env],
            user: o.user,
            ...(o.volume ? { volume: o.volume } : {}),
            mountPath: paths.mountPath,
            network: o.network,
            gpus: o.gpus || device === "cuda",
            healthcheck: o.healthCmd ?? httpProbeCommand(o.port, o.healthPath),
          },
        }
      : { containerId: o.container as string }),
    timeoutSeconds: o.timeout,
    ...(o.warmup ? { warmup: o.warmup } : {}),
    keep: o.keep,
    log: (m) => io.stderr.write(`model-cache measure: ${m}\n`),
  });

  const overheadMiB = o.runtimeOverheadMib ?? RUNTIME_OVERHEAD[device].mib;
  const figures = attribute(measurement, { device, split, overheadMiB, date: new Date().toISOString().slice(0, 10) });
  if (catalog && !o.dryRun) {
    const { writeFile } = await import("node:fs/promises");
    await writeFile(catalog.absolutePath, editYaml(catalog.source, editsFor(catalog, figures, device)));
  }
  const peakMiB = Math.ceil(measurement.peak.bytes / MIB);
  if (o.json) {
    io.stdout.write(
      `${JSON.stringify({ command: "measure", ok: true, exitCode: EXIT.ok, device, peakMiB, measurement, figures, written: !!catalog && !o.dryRun })}\n`,
    );
  }
  io.stderr.write(
    `model-cache measure: peak ${peakMiB} MiB (${measurement.peak.how}), GPU ${measurement.gpuMiB === null ? "not measured (nvidia-smi did not answer)" : `${measurement.gpuMiB} MiB`}, ` +
      `healthy after ${measurement.secondsToHealthy === null ? "? (the health log no longer shows the first pass)" : `${measurement.secondsToHealthy} s`}\n`,
  );
  for (const f of figures) {
    io.stderr.write(
      `  ${f.id}: hostPeak ${f.hostPeak.mib} MiB${f.gpu ? `, gpu ${f.gpu.mib} MiB` : ""}${f.load ? `, load ${f.load.seconds} s` : ""}\n`,
    );
  }
  io.stderr.write(
    `model-cache measure: ${catalog && !o.dryRun ? `wrote ${figures.length} entries of ${o.catalog} (${device})` : "dry run: nothing written"}\n`,
  );
  return EXIT.ok;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** One model: all of it; several: the fractions given, which must cover them all and add up to 1. */
export function splitOf(models: string[], split: string[] | undefined): Map<string, number> {
  if (models.length === 1 && split === undefined) return new Map([[models[0] as string, 1]]);
  if (split === undefined) {
    throw new UsageError(
      `--split: ${models.length} models share one container; say how its figures split, e.g. --split ${models
        .map((m, i) => `${m}=${i === 0 ? "0.5" : "0.5"}`)
        .slice(0, 2)
        .join(" ")}`,
    );
  }
  const fractions = new Map(split.map((s) => [s.slice(0, s.indexOf("=")), Number(s.slice(s.indexOf("=") + 1))]));
  const missing = models.filter((m) => !fractions.has(m));
  const extra = [...fractions.keys()].filter((m) => !models.includes(m));
  if (missing.length > 0 || extra.length > 0) {
    throw new UsageError(
      `--split: give one fraction per --model (missing: ${missing.join(", ") || "none"}; not a --model: ${extra.join(", ") || "none"})`,
    );
  }
  const total = [...fractions.values()].reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 0.001) throw new UsageError(`--split: the fractions add up to ${total}, not 1`);
  return fractions;
}

export function attribute(
  m: ContainerMeasurement,
  options: { device: Device; split: Map<string, number>; overheadMiB: number; date: string },
): ModelFigures[] {
  const peakMiB = Math.ceil(m.peak.bytes / MIB);
  const modelsMiB = Math.max(0, peakMiB - options.overheadMiB);
  const where = `image ${m.image}, ${options.device}, host ${m.engine.host} (${hostname()}), Docker ${m.engine.version}`;
  const several = options.split.size > 1;
  return [...options.split.entries()].map(([id, fraction]) => {
    const share = several ? ` × ${fraction} (--split)` : "";
    const figures: ModelFigures = {
      id,
      hostPeak: {
        mib: Math.ceil(modelsMiB * fraction),
        basis: "measured",
        source: `model-cache measure ${options.date}: container peak ${peakMiB} MiB (${m.peak.how}) − runtime overhead ${options.overheadMiB} MiB${share}; ${where}`,
      },
    };
    if (options.device === "cpu") figures.gpu = { mib: 0, basis: "measured", source: `model-cache measure ${options.date}: cpu, no GPU` };
    else if (m.gpuMiB !== null) {
      figures.gpu = {
        mib: Math.ceil(m.gpuMiB * fraction),
        basis: "measured",
        source: `model-cache measure ${options.date}: nvidia-smi ${m.gpuMiB} MiB for the container's processes${share}; ${where}`,
      };
    }
    if (m.secondsToHealthy !== null) {
      figures.load = {
        seconds: Math.round(m.secondsToHealthy * fraction * 100) / 100,
        basis: "measured",
        source: `model-cache measure ${options.date}: ${m.secondsToHealthy} s from container start to its first passing health check${share}; ${where}`,
      };
    }
    return figures;
  });
}

interface LoadedCatalog {
  absolutePath: string;
  source: string;
  entries: CatalogFileEntry[];
  indexOf: Map<string, number>;
}

function loadCatalog(file: string, models: string[]): LoadedCatalog {
  const catalog = readCatalogInput(file);
  const indexOf = new Map(catalog.entries.map((e, i) => [e.id, i]));
  const missing = models.filter((m) => !indexOf.has(m));
  if (missing.length > 0) {
    throw new UsageError(
      `--model: ${missing.map((m) => `"${m}"`).join(", ")} not in ${file}; measure writes into the catalog file: add the entry there ` +
        "first (for a built-in, copy its entry from components/core/catalog/models.ts: the file's entry then replaces it)",
    );
  }
  return { absolutePath: catalog.absolutePath, source: catalog.source, entries: catalog.entries, indexOf };
}

/** memory.<device> and load.<device> of each entry, set in place: every other byte of the file stays. */
function editsFor(catalog: LoadedCatalog, figures: ModelFigures[], device: Device): YamlEdit[] {
  return figures.flatMap((f): YamlEdit[] => {
    const index = catalog.indexOf.get(f.id) as number;
    const at = (...path: string[]) => ["models", index, ...path];
    const hasGpu = catalog.entries[index]?.memory[device]?.gpu !== undefined;
    if (!f.gpu && !hasGpu) {
      throw new UsageError(
        `${f.id}: no GPU figure for ${device} (nvidia-smi did not answer) and the catalog has none; measure on the GPU host`,
      );
    }
    return [
      { path: at("memory", device, "hostPeak"), value: f.hostPeak },
      ...(f.gpu ? [{ path: at("memory", device, "gpu"), value: f.gpu }] : []),
      ...(f.load ? [{ path: at("load", device), value: f.load }] : []),
    ];
  });
}

function connect(dockerHost: string | undefined): Dockerode {
  // Not bundled (its ssh2 dependency carries native addons, and the downloader image needs Node's
  // built-ins only): a plain require, which esbuild does not follow, from the checkout's node_modules.
  let Docker: typeof Dockerode;
  try {
    Docker = createRequire(__filename)("dockerode") as typeof Dockerode;
  } catch (err) {
    throw new UsageError(
      `measure needs the dockerode package: run it from the repository checkout after npm ci (npx model-cache measure); ${String(err)}`,
    );
  }
  if (!dockerHost) return new Docker();
  const url = new URL(dockerHost);
  if (url.protocol === "unix:") return new Docker({ socketPath: url.pathname });
  if (url.protocol === "tcp:" || url.protocol === "http:")
    return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" });
  throw new UsageError(`DOCKER_HOST "${dockerHost}": use unix:///path/to/docker.sock or tcp://host:port`);
}
