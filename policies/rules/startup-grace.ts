/**
 * startup-grace: loading models takes time (the seed measured 117 s for Whisper medium, behind a
 * 90 s start period); the consumer's health check must not count failures, or kill it, before the
 * start period its models need: Σ catalog load seconds × headroom + margin, as the program derives
 * it (`fallbackStartPeriodSeconds` where that cannot be derived), and never less than
 * `minStartPeriodSeconds`.
 */
import { z } from "zod";
import { deviceOf, type ManifestSource, manifestOf, policyCatalog } from "../lib/consumer-models";
import { STARTUP_HEADROOM, STARTUP_MARGIN_SECONDS, startPeriodFor } from "../lib/core";
import { containerWhere, startupFix, workloadWhere } from "../lib/hints";
import { advisory, defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import { UNKNOWN } from "../lib/values";
import { type ContainerView, servingContainers, type WorkloadView } from "../lib/view";

const config = z.object({
  minStartPeriodSeconds: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe("A floor: no consumer gets less grace than this, whatever its models' load times say (0: the derived period alone)."),
  fallbackStartPeriodSeconds: z
    .number()
    .int()
    .min(0)
    .default(90)
    .describe(
      "The grace a consumer needs where its models' load times cannot be derived (no manifest found, or a model without a load " +
        "time for its device); the seed's 90 s.",
    ),
  catalogFile: z
    .string()
    .default("")
    .describe("The team's catalog file (absolute, or relative to the project); empty reads catalog.yaml there when it exists."),
});

export const startupGrace = defineRule({
  name: "startup-grace",
  description:
    "A model-cache consumer's health check start period (Docker healthcheck.startPeriod, ECS healthCheck.startPeriod) or Kubernetes " +
    "startupProbe window (initialDelaySeconds + periodSeconds × failureThreshold) is at least the start period its models need: " +
    `Σ the catalog's load seconds × ${STARTUP_HEADROOM} + ${STARTUP_MARGIN_SECONDS} s (fallbackStartPeriodSeconds where that is ` +
    "unknown), and at least minStartPeriodSeconds.",
  severity: "medium",
  remediationSteps:
    "Give the serving container a health check whose start period covers its models' load time: leave the stack's startPeriodSeconds " +
    "unset (0) and the program derives it from the catalog (the startPeriod stack output shows the breakdown), or set it at least that " +
    "high. Docker healthcheck.startPeriod, ECS healthCheck.startPeriod, Kubernetes a startupProbe with periodSeconds × failureThreshold " +
    "(+ initialDelaySeconds). Without it the container is restarted or marked unhealthy while it is still loading its models.",
  config,
  checkWorkload(view, cfg, context) {
    const serving = servingContainers(view);
    if (serving.length === 0) return [];
    // A consumer that does not carry its manifest is judged by the stack check, which finds its
    // downloader's; judging it here against the fallback would report a second, different figure.
    const source = manifestOf(view, context);
    if (!context && source.state === "none") return [];
    const need = withFloor(required(view, source, cfg), cfg.minStartPeriodSeconds);
    return [...need.findings, ...serving.flatMap((cv) => check(view, cv, need.seconds, need.basis))];
  },
});

interface Required {
  seconds: number;
  basis: string;
  findings: Finding[];
}

function withFloor(need: Required, floor: number): Required {
  return need.seconds >= floor ? need : { ...need, seconds: floor, basis: `minStartPeriodSeconds, above ${need.seconds} s: ${need.basis}` };
}

/** The start period the consumer's models need, and why that figure. */
function required(view: WorkloadView, source: ManifestSource, cfg: z.infer<typeof config>): Required {
  const fallback = (why: string, findings: Finding[] = []): Required => ({
    seconds: cfg.fallbackStartPeriodSeconds,
    basis: `fallbackStartPeriodSeconds; ${why}`,
    findings,
  });
  if (source.state === "unknown") return fallback("its manifest is unknown during preview");
  if (source.state === "none") return fallback("no manifest found on it or its cache's downloader");
  const device = deviceOf(view, "auto");
  if (device === UNKNOWN) return fallback("its GPU request is unknown during preview");
  const catalog = policyCatalog(cfg.catalogFile);
  if (typeof catalog === "string")
    return fallback(catalog, [mandatory(`cannot derive the start period of ${workloadWhere(view.workload)}: ${catalog}`)]);
  const period = startPeriodFor(source.ids, device, catalog);
  if (typeof period === "string") {
    return fallback(period, [advisory(`cannot derive the start period of ${workloadWhere(view.workload)} from load times: ${period}`)]);
  }
  const loads = period.models.map((m) => `${m.id} ${m.seconds} s`).join(" + ");
  return { seconds: period.derivedSeconds, basis: `${loads} on ${device}, × ${period.headroom} + ${period.marginSeconds} s`, findings: [] };
}

function check(view: WorkloadView, cv: ContainerView, min: number, basis: string): Finding[] {
  const where = containerWhere(view, cv);
  const s = cv.container.startup;
  const fix = startupFix(view.workload.family, min);
  if (s.kind === "none") return [mandatory(`${where} has no health check (${s.detail}); ${fix}`)];
  if (s.kind === "disabled") return [mandatory(`${where} disables its health check (${s.detail}); ${fix}`)];
  if (s.windowSeconds === UNKNOWN) return [previewUnknown(`${s.detail} of ${where}`)];
  if (s.windowSeconds === undefined)
    return [mandatory(`${where} has a health check start period that is not a duration (${s.detail}); ${fix}`)];
  if (s.windowSeconds >= min) return [];
  const kill = s.kind === "livenessProbe" ? " (its livenessProbe would restart it while it loads; add a startupProbe)" : "";
  return [
    mandatory(
      `${where} gets ${s.windowSeconds} s to start (${s.detail}), less than the ${min} s its models need (${basis})${kill}; ${fix}`,
    ),
  ];
}
