/**
 * startup-grace: loading models takes time (the seed measured 117 s for Whisper medium); the
 * consumer's health check must not count failures, or kill it, before the configured start period.
 */
import { z } from "zod";
import { containerWhere, startupFix } from "../lib/hints";
import { defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import { UNKNOWN } from "../lib/values";
import { type ContainerView, servingContainers, type WorkloadView } from "../lib/view";

const config = z.object({
  minStartPeriodSeconds: z
    .number()
    .int()
    .min(0)
    .default(90)
    .describe("Seconds a consumer may take to load its models before health checks count (the seed's lesson: 90 s)."),
});

export const startupGrace = defineRule({
  name: "startup-grace",
  description:
    "A model-cache consumer's health check start period (Docker healthcheck.startPeriod, ECS healthCheck.startPeriod) or Kubernetes " +
    "startupProbe window (initialDelaySeconds + periodSeconds × failureThreshold) is at least the configured start period.",
  severity: "medium",
  remediationSteps:
    "Give the serving container a health check with a start period of at least minStartPeriodSeconds (90 s by default): Docker " +
    'healthcheck.startPeriod: "90s", ECS healthCheck.startPeriod: 90, Kubernetes a startupProbe with periodSeconds × failureThreshold ' +
    "(+ initialDelaySeconds) ≥ 90. Without it the container is restarted or marked unhealthy while it is still loading its models.",
  config,
  checkWorkload(view, cfg) {
    return servingContainers(view).flatMap((cv) => check(view, cv, cfg.minStartPeriodSeconds));
  },
});

function check(view: WorkloadView, cv: ContainerView, min: number): Finding[] {
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
  return [mandatory(`${where} gets ${s.windowSeconds} s to start (${s.detail}), less than ${min} s${kill}; ${fix}`)];
}
