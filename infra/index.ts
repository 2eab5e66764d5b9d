/** The Pulumi program entry (Pulumi.yaml `main: infra/index.ts`). */
import { runProgram } from "./program";

const outputs = runProgram();

// The stack outputs are the target's own: common ones (target, models, manifestDigest,
// memorySizing) plus the docker target's (serviceUrl, volumeName, downloaderImage) or the
// kubernetes target's (namespace, claimName, jobName, serviceName, efsFileSystemId, ...).
// Exporting the object itself, minus unset values, keeps other targets' keys from printing an
// "Undefined value will not show as a stack output" warning on every run.
export = Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
