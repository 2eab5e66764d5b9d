export {
  ACCESS_POINT_PERMISSIONS,
  EFS_CSI_DRIVER,
  EfsModelsVolume,
  type EfsModelsVolumeArgs,
  efsVolumeHandle,
  NFS_PORT,
} from "./efs-models-volume";
