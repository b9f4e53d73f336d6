// The block device and its mount machinery. Callers: `ebsim volume ...` and the EC2 control
// plane, which hands over the 64-byte plaintext data key in memory.
export { BlockDevice, SECTOR_SIZE, createSparseImage, type BlockDeviceOptions, type BlockDeviceStats, type SectorCodec } from './block-device.js';
export { toErrno } from './errno.js';
export {
  CommandError,
  DeviceClosedError,
  DeviceHungError,
  DeviceError,
  DeviceIOError,
  InvalidRequestError,
  MissingPrerequisiteError,
  MountError,
  NoSpaceError,
  VolumeAlreadyMountedError,
  VolumeBusyError,
  VolumeHoldsDataError,
  VolumeImageError,
  VolumeNotMountedError,
} from './errors.js';
export { ExclusiveLock, imageLockFile, lockHolder } from './lock.js';
export {
  cleanupStale,
  lockImage,
  mountVolume,
  openVolumeDevice,
  statePaths,
  unmountVolume,
  volumeStatus,
  type MountedVolume,
  type MountVolumeOptions,
  type UnmountOptions,
  type VolumeFormat,
  type VolumeMountState,
  type VolumeStatus,
} from './mount.js';
export { checkMountPrerequisites, findMissingPrerequisite } from './prerequisites.js';
export { exportVolume, type ExportResult } from './export.js';
export { dataExtents, type ExtentMethod } from './data-extents.js';
