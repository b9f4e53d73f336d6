// The one place where errors become negative errnos for FUSE. Anything that is not a
// DeviceError (a bug, an unexpected throw) becomes EIO: the kernel sees an I/O error and the
// daemon keeps running.
import { constants } from 'node:os';
import { DeviceError } from './errors.js';

export function toErrno(err: unknown): number {
  if (err instanceof DeviceError) return -(constants.errno[err.code] ?? constants.errno.EIO);
  return -constants.errno.EIO;
}
