export {
  ACCESS_POINT_PERMISSIONS,
  accessPointSettings,
  EFS_CSI_DRIVER,
  EfsModelsVolume,
  type EfsModelsVolumeArgs,
  efsPersistentVolumeSpec,
  efsVolumeHandle,
  NFS_PORT,
  tlsOnlyPolicy,
} from "./efs-models-volume";
