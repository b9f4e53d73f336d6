// Typed errors of the block device and its mount machinery. Each I/O error carries the POSIX
// code it means; `errno.ts` is the only place that turns one into a number for FUSE.

export type DeviceErrorCode = 'EIO' | 'ENOSPC' | 'EINVAL' | 'EPERM' | 'ENOENT' | 'EBADF' | 'EROFS';

export abstract class DeviceError extends Error {
  abstract readonly code: DeviceErrorCode;
}

/** A read or write of the backing image failed or came back short. */
export class DeviceIOError extends DeviceError {
  readonly code = 'EIO' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeviceIOError';
  }
}

/** A write reaches past the fixed size of the volume (or the host disk is full). */
export class NoSpaceError extends DeviceError {
  readonly code = 'ENOSPC' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NoSpaceError';
  }
}

/** A request the device cannot express: negative offset, size change, unknown path. */
export class InvalidRequestError extends DeviceError {
  readonly code: 'EINVAL' | 'EPERM' | 'ENOENT';
  constructor(message: string, code: 'EINVAL' | 'EPERM' | 'ENOENT' = 'EINVAL') {
    super(message);
    this.name = 'InvalidRequestError';
    this.code = code;
  }
}

/** The device (or its sector store) was closed while a request was queued or after it. */
export class DeviceClosedError extends DeviceError {
  readonly code = 'EBADF' as const;
  constructor(what = 'the block device') {
    super(`${what} is closed`);
    this.name = 'DeviceClosedError';
  }
}

// ---- mount machinery ----

/** Something the host needs for a real mount is missing; `fix` says how to get it. */
export class MissingPrerequisiteError extends Error {
  constructor(
    readonly missing: string,
    readonly fix: string,
  ) {
    super(`cannot mount: ${missing}. Fix: ${fix}`);
    this.name = 'MissingPrerequisiteError';
  }
}

/** A step of mount/unmount failed (command exit status, daemon refused to start, ...). */
export class MountError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MountError';
  }
}

/** A command we run (losetup, mount, mkfs.ext4, ...) exited non-zero. */
export class CommandError extends MountError {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`${command} ${args.join(' ')} failed (exit ${status}): ${stderr.trim()}`);
    this.name = 'CommandError';
  }
}

// The user's own mistakes with mounts carry `userError`, so the CLI prints their one sentence
// (what is wrong, what to do) and exits 1, with no stack trace.

export class VolumeNotMountedError extends MountError {
  readonly userError = true;
  constructor(readonly volumeId: string) {
    super(`${volumeId} is not mounted (nothing of it is attached on this host); \`ebsim volume status\` lists what is`);
    this.name = 'VolumeNotMountedError';
  }
}

export class VolumeAlreadyMountedError extends MountError {
  readonly userError = true;
  constructor(
    readonly volumeId: string,
    readonly mountpoint: string,
  ) {
    super(`${volumeId} is already mounted at ${mountpoint}; unmount it first (ebsim volume unmount ${volumeId})`);
    this.name = 'VolumeAlreadyMountedError';
  }
}

/** A refusal about one volume, in a sentence the caller writes (the kinds below). */
abstract class VolumeRefusal extends MountError {
  readonly userError = true;
  constructor(
    readonly volumeId: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Another process holds the volume: its device daemon, an in-process read/write, or a mount or unmount under way. */
export class VolumeBusyError extends VolumeRefusal {}

/** The volume's backing image is missing or not the volume's size: served as it is, it would pass for the volume. */
export class VolumeImageError extends VolumeRefusal {}

/** The volume holds data but no file system: mkfs.ext4 over it would destroy the data. */
export class VolumeHoldsDataError extends VolumeRefusal {}

/** The device daemon is stopped or does not answer: waiting on it would block forever. */
export class DeviceHungError extends MountError {
  readonly userError = true;
  constructor(
    readonly volumeId: string,
    readonly daemonPid: number | null,
    why: string,
  ) {
    super(
      `the device daemon${daemonPid ? ` (pid ${daemonPid})` : ''} of ${volumeId} ${why}, so unmounting would wait forever; ` +
        `resume it${daemonPid ? ` (kill -CONT ${daemonPid})` : ''} and retry, or run \`ebsim volume unmount ${volumeId} --force\` (writes it has not made yet are lost)`,
    );
    this.name = 'DeviceHungError';
  }
}
