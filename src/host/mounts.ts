// The host's device side: which device name a new attachment gets, and starting and stopping the
// device daemon of a volume (FUSE block device → loop → ext4) with its data key in memory only.
import { mountVolume, unmountVolume, cleanupStale, volumeStatus, type MountedVolume, type UnmountOptions, type VolumeFormat, type VolumeStatus } from '../device/mount.js';

/** The device names EC2 offers for data volumes, in the order the host hands them out. */
const DATA_DEVICES = 'fghijklmnop'.split('').map((c) => `/dev/sd${c}`);

/** The instance's first free data device name, or null when all are taken. */
export function freeDeviceName(taken: readonly (string | null)[]): string | null {
  return DATA_DEVICES.find((d) => !taken.includes(d)) ?? null;
}

export interface StartMountOptions {
  volumeId: string;
  imagePath: string;
  sizeBytes: number;
  /** The plaintext data key (64 bytes), or null for an unencrypted volume. Zeroed here once the daemon has it. */
  key: Uint8Array | null;
  mountpoint: string;
  stateDir: string;
  format: VolumeFormat;
  foreground?: boolean;
}

/** Starts the volume's device daemon and mounts it; the key is zeroed whether or not it succeeds. */
export async function startMount(opts: StartMountOptions): Promise<MountedVolume> {
  // The daemon takes 64 bytes even in pass-through mode, where it never uses them.
  const key = opts.key ?? new Uint8Array(64);
  try {
    return await mountVolume({
      volumeId: opts.volumeId, imagePath: opts.imagePath, sizeBytes: opts.sizeBytes, key,
      mountpoint: opts.mountpoint, stateDir: opts.stateDir, format: opts.format, foreground: opts.foreground, passThrough: opts.key === null,
      createImage: false, // EC2 made it: a missing image is lost or moved, never replaced by a blank one
    });
  } finally {
    key.fill(0);
  }
}

/** Unmounts, detaches the loop device and stops the daemon (which flushes everything first). */
export function stopMount(volumeId: string, stateDir: string, opts: UnmountOptions = {}): Promise<void> {
  return unmountVolume(volumeId, stateDir, opts);
}

/** What is mounted where, from the kernel's own tables; with cleanup, clears a crash's leftovers first. */
export async function mountStatus(stateDir: string, opts: { cleanup?: boolean } = {}): Promise<{ volumes: VolumeStatus[]; cleanedUp: string[] }> {
  const cleanedUp = opts.cleanup ? await cleanupStale(stateDir) : [];
  return { volumes: await volumeStatus(stateDir), cleanedUp };
}

export { cleanupStale as cleanupMounts };
export type { MountedVolume, UnmountOptions, VolumeFormat, VolumeStatus };
