// The instance's host: data keys decrypted as the instance's role, mounts, in-process access.
export { InstanceHost, type Caller, type ControlPlane, type HostMount, type HostMountOptions } from './instance-host.js';
export { decryptVolumeKey, hostCallContext, volumeEncryptionContext, type DataKeyDecrypter, type DecryptInput } from './data-key.js';
export { freeDeviceName, type MountedVolume, type UnmountOptions, type VolumeFormat, type VolumeStatus } from './mounts.js';
export { withVolumeDevice, type InProcessVolume, type Progress } from './in-process.js';
