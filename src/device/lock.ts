// Exclusive locks that die with their holder: one writer per image, one mount operation per volume.
//
// Why SQLite: Node has no flock(2), and the native addon is optional (a lock must not depend on a
// build that may fail). A better-sqlite3 connection with `locking_mode=EXCLUSIVE` inside a
// `BEGIN EXCLUSIVE` transaction holds a POSIX (fcntl) write lock on the file until it closes or
// the process ends; the kernel drops it on any exit, kill -9 included, so a crash never leaves a
// stale lock. POSIX locks are per process and never inherited by children (losetup, mount), unlike
// an flock held through a child's inherited descriptor; SQLite tracks its own locks per inode, so a
// second connection in the same process is refused too, and `held` guards that case explicitly.
// The kernel lists every such lock in /proc/locks with its holder's pid: that is how `status`
// and error messages name the holder without taking the lock themselves.
// Caveat of POSIX locks: closing ANY descriptor of the lock file in the holding process drops the
// lock, so nothing but this module may open a `.lock` file.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';

const held = new Set<string>();

export class ExclusiveLock {
  private constructor(
    readonly file: string,
    private db: Database.Database | null,
  ) {}

  /** Takes the lock on `file` (created if missing), or returns null at once when anyone holds it. */
  static tryAcquire(file: string): ExclusiveLock | null {
    const abs = path.resolve(file);
    if (held.has(abs)) return null;
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    const db = new Database(abs, { timeout: 0 });
    try {
      // No journal file: the lock never writes, so it is taken even on a full disk (unmount must work there).
      db.pragma('journal_mode = MEMORY');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
      throw err;
    }
    held.add(abs);
    return new ExclusiveLock(abs, db);
  }

  release(): void {
    if (!this.db) return;
    this.db.close();
    this.db = null;
    held.delete(this.file);
  }
}

/** The pid holding a POSIX lock on `file` per /proc/locks, or null (free, or no such file). */
export function lockHolder(file: string): number | null {
  let st: fs.Stats;
  let table: string;
  try {
    st = fs.statSync(file);
    table = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return null;
  }
  // Lines read "1: POSIX  ADVISORY  WRITE 9242 fe:00:2146451 1073741824 1073742335" (dev in hex).
  const major = Math.floor(st.dev / 256) & 0xfff;
  const minor = (st.dev & 0xff) | ((Math.floor(st.dev / 4096) & ~0xff) >>> 0);
  for (const line of table.split('\n')) {
    const m = /^\d+:\s+POSIX\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m) continue;
    if (Number(m[4]) === st.ino && parseInt(m[2]!, 16) === major && parseInt(m[3]!, 16) === minor) return Number(m[1]);
  }
  return null;
}

/**
 * For something gone for good (a deleted image, whose ID is never used again): runs `gone` holding
 * the lock of `file`, unless someone else holds it (then nothing runs), and when `gone` says so
 * unlinks the lock file before releasing it. Unlinked while held: a holder keeps its lock on the
 * file it opened, and unlinking that file from under it would let the next taker make a new file
 * and hold "the same" lock beside it.
 */
export function underLockToRemove(file: string, gone: () => boolean): void {
  const lock = ExclusiveLock.tryAcquire(file);
  if (!lock) return;
  try {
    if (gone()) fs.rmSync(lock.file, { force: true });
  } finally {
    lock.release();
  }
}

/** Removes the lock file of something gone for good, unless someone holds it (then it stays). */
export function removeLockFile(file: string): void {
  if (fs.existsSync(file)) underLockToRemove(file, () => true);
}

/** The lock that guards a backing image: held by whoever has it open for writing. */
export function imageLockFile(imagePath: string): string {
  return `${path.resolve(imagePath)}.lock`;
}
