import { httpProbeCommand } from "../core/contract";

/** The default Docker healthcheck: the contract's HTTP probe (`model-cache measure` runs the same one). */
export function httpHealthcheckTest(port: number, path: string): string[] {
  return ["CMD", ...httpProbeCommand(port, path)];
}

/**
 * Whole seconds as Go's `time.Duration.String()` writes them ("1m30s", "1h0m0s", "0s"): the Docker
 * provider reads a healthcheck's durations back that way (`StartPeriod.String()` in
 * terraform-provider-docker's `resourceDockerContainerRead`), so any other spelling ("90s") is a
 * diff after every create and refresh.
 */
export function goDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`goDuration: whole non-negative seconds expected (got ${seconds})`);
  if (seconds === 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
