/** The Pulumi program entry (Pulumi.yaml `main: infra/`). */
import { runProgram } from "./program";

const outputs = runProgram();

export const target = outputs.target;
export const models = outputs.models;
export const manifestDigest = outputs.manifestDigest;
export const memorySizing = outputs.memorySizing;
export const serviceUrl = outputs["serviceUrl"];
export const volumeName = outputs["volumeName"];
export const downloaderImage = outputs["downloaderImage"];
export const namespace = outputs["namespace"];
export const claimName = outputs["claimName"];
export const persistentVolumeName = outputs["persistentVolumeName"];
export const jobName = outputs["jobName"];
export const deploymentName = outputs["deploymentName"];
export const serviceName = outputs["serviceName"];
export const efsFileSystemId = outputs["efsFileSystemId"];
export const efsAccessPointId = outputs["efsAccessPointId"];
