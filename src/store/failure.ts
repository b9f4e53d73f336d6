// Turns what SQLite and the file system throw about the home into the typed errors of
// src/errors, so a full disk or a damaged database reads as one sentence saying what to do,
// not as `SqliteError: disk I/O error`.
import { statfsSync } from 'node:fs';
import { relative, resolve, isAbsolute } from 'node:path';
import { CorruptDatabaseError, HomeDiskFullError, HomeIOError } from '../errors/index.js';
import { homePaths } from './home.js';

/** Below this much free space, an I/O error on the home is taken to be the disk being full. */
const NEARLY_FULL_BYTES = 1 << 20;

/** The typed error `err` means for the home at `home`, or undefined when it is not about the home. */
export function homeFailure(err: unknown, home: string): Error | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    // A file outside the home (an export's target, say) filling its own disk is not about the home.
    const path = (err as { path?: unknown }).path;
    return typeof path === 'string' && !isWithin(resolve(path), home) ? undefined : new HomeDiskFullError(home, { cause: err });
  }
  if (code === 'SQLITE_FULL') return new HomeDiskFullError(home, { cause: err });
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_') || code === 'SQLITE_NOTADB') {
    const p = homePaths(home);
    return new CorruptDatabaseError(`${p.database} (or ${p.trail})`, (err as Error).message);
  }
  if (code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_')) {
    // SQLite reports a failed write (ENOSPC included) as an I/O error, e.g. SQLITE_IOERR_SHMSIZE
    // when it cannot allocate the WAL index: look at the device to tell which it is.
    return nearlyFull(home) ? new HomeDiskFullError(home, { cause: err }) : new HomeIOError(home, `${(err as Error).message} (${code})`);
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_') || code.startsWith('SQLITE_CANTOPEN_')) {
    if (nearlyFull(home)) return new HomeDiskFullError(home, { cause: err });
    return new HomeIOError(home, `cannot open the database for writing (${code}); check the permissions of the home and its files`);
  }
  return undefined;
}

function nearlyFull(home: string): boolean {
  try {
    const s = statfsSync(home);
    return s.bavail * s.bsize < NEARLY_FULL_BYTES;
  } catch {
    return false;
  }
}

function isWithin(path: string, dir: string): boolean {
  const rel = relative(resolve(dir), path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
