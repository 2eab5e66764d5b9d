/**
 * The start period (Docker healthcheck `start_period`, the Kubernetes startupProbe window), derived
 * like the memory limit: Σ load seconds of the enabled models on the device × headroom, plus a
 * margin for what happens before the first model loads. The seed set 90 s by hand while Whisper
 * medium alone took 117 s to load, so its health check counted failures before the model was up.
 */
import type { CatalogEntry } from "./catalog/schema";
import type { Device } from "./contract";

/** Multiplier over the measured (or estimated) load seconds: a slower disk, a busy node, EFS. */
export const STARTUP_HEADROOM = 1.25;
/**
 * Seconds before and after the models load that no catalog entry accounts for: interpreter and
 * library imports, CUDA context creation, the server binding its port, and one health-check
 * interval (Docker checks every 10 s, the startupProbe every 10 s) for the first passing probe.
 */
export const STARTUP_MARGIN_SECONDS = 30;

export class StartupError extends Error {
  override name = "StartupError";
}

export interface ModelLoad {
  id: string;
  seconds: number;
  basis: "measured" | "estimate";
  source: string;
}

export interface StartPeriod {
  device: Device;
  models: ModelLoad[];
  /** Σ load seconds. */
  loadSeconds: number;
  headroom: number;
  marginSeconds: number;
  /** ceil(loadSeconds × headroom + marginSeconds). */
  derivedSeconds: number;
  /** What the stack uses: its own `startPeriodSeconds` when set, else the derived one. */
  seconds: number;
  source: "derived" | "stack config startPeriodSeconds";
}

export function deriveStartPeriod(request: {
  models: readonly Pick<CatalogEntry, "id" | "load">[];
  device: Device;
  /** The stack's own start period; 0 or undefined derives it. */
  overrideSeconds?: number;
}): StartPeriod {
  const { device } = request;
  const models = request.models.map((model): ModelLoad => {
    const load = model.load[device];
    if (!load) {
      throw new StartupError(
        `model "${model.id}" has no load time for device "${device}"; measure it (model-cache measure) and add it to the catalog's load.${device}`,
      );
    }
    return { id: model.id, seconds: load.seconds, basis: load.basis, source: load.source };
  });
  const loadSeconds = models.reduce((sum, m) => sum + m.seconds, 0);
  // Rounded to the millisecond first so that 117.08 × 1.25 does not become 146.35000000000002.
  const derivedSeconds = Math.ceil(Math.round((loadSeconds * STARTUP_HEADROOM + STARTUP_MARGIN_SECONDS) * 1000) / 1000);
  const override = request.overrideSeconds !== undefined && request.overrideSeconds > 0 ? request.overrideSeconds : undefined;
  return {
    device,
    models,
    loadSeconds: Math.round(loadSeconds * 1000) / 1000,
    headroom: STARTUP_HEADROOM,
    marginSeconds: STARTUP_MARGIN_SECONDS,
    derivedSeconds,
    seconds: override ?? derivedSeconds,
    source: override === undefined ? "derived" : "stack config startPeriodSeconds",
  };
}

/**
 * The start period a consumer serving `ids` (its manifest's model ids) on `device` needs, from a
 * catalog (built-ins, or merged with a catalog file): what the `startup-grace` policy holds a
 * consumer's health-check grace to. A string says why it cannot be derived.
 */
export function startPeriodFor(ids: readonly string[], device: Device, catalog: readonly CatalogEntry[]): StartPeriod | string {
  const byId = new Map(catalog.map((e) => [e.id, e]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    return `${missing.map((id) => `"${id}"`).join(", ")} not in the catalog, so no load time is known; add ${missing.length === 1 ? "it" : "them"} to the catalog file with load.${device}`;
  }
  try {
    return deriveStartPeriod({ models: ids.map((id) => byId.get(id) as CatalogEntry), device });
  } catch (err) {
    if (err instanceof StartupError) return err.message;
    throw err;
  }
}
