// What a real mount needs, checked up front so the error names the missing piece and its fix.
import * as fs from 'node:fs';
import { MissingPrerequisiteError } from './errors.js';
import { loadFuse } from './fuse-native.js';
import { which } from './host.js';

/** The first missing prerequisite for a real mount, or null when everything is there. */
export function findMissingPrerequisite(): MissingPrerequisiteError | null {
  if (process.platform !== 'linux') return new MissingPrerequisiteError(`FUSE block devices need Linux (this is ${process.platform})`, 'use `ebsim volume read|write|export` instead');
  if (process.getuid?.() !== 0)
    return new MissingPrerequisiteError('not running as root (losetup and mount need it)', 'run the command as root, e.g. with sudo; or use `ebsim volume read|write|export`, which need no root');
  if (!fs.existsSync('/dev/fuse'))
    return new MissingPrerequisiteError('/dev/fuse does not exist', 'run `modprobe fuse` (in a container: start it with --device /dev/fuse --cap-add SYS_ADMIN)');
  if (!which('fusermount')) return new MissingPrerequisiteError('fusermount is not installed', 'apt-get install fuse libfuse2');
  try {
    loadFuse();
  } catch (err) {
    return new MissingPrerequisiteError(`fuse-native cannot load (${(err as Error).message.split('\n')[0]})`, 'apt-get install fuse libfuse2');
  }
  if (!which('losetup')) return new MissingPrerequisiteError('losetup is not installed', 'apt-get install mount (util-linux)');
  if (!fs.existsSync('/dev/loop-control') && !fs.existsSync('/dev/loop0'))
    return new MissingPrerequisiteError('no loop devices (/dev/loop-control missing)', 'run `modprobe loop` (in a container: run it --privileged or pass the loop devices)');
  for (const tool of ['mkfs.ext4', 'e2fsck'])
    if (!which(tool)) return new MissingPrerequisiteError(`${tool} is not installed`, 'apt-get install e2fsprogs');
  if (!which('blkid')) return new MissingPrerequisiteError('blkid is not installed', 'apt-get install util-linux');
  if (!which('mount') || !which('umount')) return new MissingPrerequisiteError('mount/umount are not installed', 'apt-get install mount');
  return null;
}

export function checkMountPrerequisites(): void {
  const missing = findMissingPrerequisite();
  if (missing) throw missing;
}
