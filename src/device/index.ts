// The block device and its mount machinery (issue 4). Callers: `ebsim volume ...` and the EC2
// control plane, which hands over the 64-byte plaintext data key in memory.
export { BlockDevice, SECTOR_SIZE, createSparseImage, type BlockDeviceOptions, type BlockDeviceStats, type SectorCodec } from './block-device.js';
export { toErrno } from './errno.js';
export {
  CommandError,
  DeviceClosedError,
  DeviceError,
  DeviceIOError,
  InvalidRequestError,
  MissingPrerequisiteError,
  MountError,
  NoSpaceError,
  VolumeAlreadyMountedError,
  VolumeNotMountedError,
} from './errors.js';
export {
  cleanupStale,
  exportVolume,
  mountVolume,
  openVolumeDevice,
  statePaths,
  unmountVolume,
  volumeStatus,
  type MountedVolume,
  type MountVolumeOptions,
  type VolumeFormat,
  type VolumeMountState,
  type VolumeStatus,
} from './mount.js';
export { checkMountPrerequisites, findMissingPrerequisite } from './prerequisites.js';
