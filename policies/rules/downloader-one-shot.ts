/**
 * downloader-one-shot: the downloader runs to completion and stops: a Docker container that Pulumi
 * waits on, a Kubernetes Job (or an init container), an ECS container that is not essential.
 */
import { containerWhere } from "../lib/hints";
import { defineRule, type Finding, mandatory, previewUnknown } from "../lib/rule";
import { UNKNOWN } from "../lib/values";
import { type ContainerView, downloaderContainers, type WorkloadView } from "../lib/view";

const RUN_TO_COMPLETION = new Set(["Never", "OnFailure"]);
const RESTARTING = new Set(["always", "unless-stopped"]);

export const downloaderOneShot = defineRule({
  name: "downloader-one-shot",
  description:
    "The model downloader runs once to completion: Docker mustRun: false + attach: true, Kubernetes a Job or an init container, ECS a " +
    "non-essential container that the consumers dependsOn with condition SUCCESS.",
  severity: "high",
  remediationSteps:
    'Docker: set mustRun: false and attach: true (Pulumi waits for the exit code) and restart "no". Kubernetes: run the downloader as a ' +
    "batch/v1 Job (or an init container of the service pod), not a Deployment, StatefulSet, DaemonSet or CronJob. ECS: mark the " +
    "downloader container essential: false so the task keeps running after it exits, and make consumers dependsOn it with SUCCESS.",
  checkWorkload(view) {
    return downloaderContainers(view).flatMap((cv) => check(view, cv));
  },
});

function check(view: WorkloadView, cv: ContainerView): Finding[] {
  const w = view.workload;
  const where = containerWhere(view, cv);
  if (w.family === "docker" && w.kind === "Service") {
    return [
      mandatory(
        `${where} runs the downloader as a Swarm service: Swarm keeps its tasks running (restarting them when they exit) and Pulumi ` +
          "does not wait for a task to finish; run it as a docker Container with mustRun: false and attach: true",
      ),
    ];
  }
  if (w.family === "docker") {
    const d = w.docker;
    const findings: Finding[] = [];
    if (d?.mustRun === UNKNOWN) findings.push(previewUnknown(`mustRun of ${where}`));
    else if (d?.mustRun !== false) {
      findings.push(
        mandatory(
          `${where} is a downloader with mustRun ${d?.mustRun === undefined ? "unset (true)" : "true"}: Docker would keep restarting it after it finished; set mustRun: false`,
        ),
      );
    }
    if (d?.attach === UNKNOWN) findings.push(previewUnknown(`attach of ${where}`));
    else if (d?.attach !== true) {
      findings.push(
        mandatory(
          `${where} is a downloader without attach: true: Pulumi would not wait for it to finish nor see its exit code; set attach: true`,
        ),
      );
    }
    if (d?.restart === UNKNOWN) findings.push(previewUnknown(`restart of ${where}`));
    else if (typeof d?.restart === "string" && RESTARTING.has(d.restart)) {
      findings.push(mandatory(`${where} is a downloader with restart "${d.restart}", so it never stays finished; set restart: "no"`));
    }
    return findings;
  }
  if (w.family === "ecs") {
    if (cv.container.essential === UNKNOWN) return [previewUnknown(`essential of ${where}`)];
    if (cv.container.essential !== false) {
      return [
        mandatory(
          `${where} is a downloader marked essential (the ECS default): the task stops when it exits; set essential: false and make the consumers dependsOn it with condition SUCCESS`,
        ),
      ];
    }
    return [];
  }
  if (cv.container.init) return [];
  switch (w.kind) {
    case "Job":
      return [];
    case "Pod":
      if (w.restartPolicy === UNKNOWN) return [previewUnknown(`restartPolicy of Pod "${w.name}"`)];
      if (typeof w.restartPolicy === "string" && RUN_TO_COMPLETION.has(w.restartPolicy)) return [];
      return [
        mandatory(
          `Pod "${w.name}" runs the downloader with restartPolicy ${w.restartPolicy ?? "unset (Always)"}: it would run again after finishing; use a batch/v1 Job (or restartPolicy: OnFailure)`,
        ),
      ];
    case "CronJob":
      return [
        mandatory(
          `CronJob "${w.name}" runs the downloader on a schedule: nothing can wait for it before starting the consumers; run it as a batch/v1 Job`,
        ),
      ];
    default:
      return [
        mandatory(
          `${w.kind} "${w.name}" runs the downloader (${where}) as a long-running container that is restarted when it exits; run it as a batch/v1 Job or an init container of the service pod`,
        ),
      ];
  }
}
