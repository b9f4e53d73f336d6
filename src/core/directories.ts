// mkdir -p without Node's `recursive: true`, which spins forever where mkdir answers ENOENT
// though the parent exists (procfs: `ebsim init --home /proc/x` never returned). Bottom-up, as
// Node's, but a level is created at most once and retried at most once after its parent: no
// answer can send it round again. Existing directories cost one mkdir (EEXIST), not a walk from
// the root (which would also fail where mkdir("/") is EISDIR, as on macOS).
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Creates `path` and its missing parents (with `mode`); existing directories are fine. Returns the
 * first directory it created (the topmost new one, as Node's recursive mkdir does), or undefined
 * if none. Throws mkdir's error otherwise (ENOTDIR for a file in the way).
 */
export function makeDirectories(path: string, mode?: number): string | undefined {
  const p = resolve(path);
  const here = mkdirOnce(p, mode);
  if (here !== 'ENOENT') return here ? p : undefined;
  const parent = dirname(p);
  if (parent === p) return mkdirOrThrow(p, mode);
  const first = makeDirectories(parent, mode);
  // Once: a file system that still answers ENOENT (procfs) gets that answer thrown.
  const made = mkdirOrThrow(p, mode);
  return first ?? made;
}

/** true: made; false: a directory already (another process may have just made it); 'ENOENT': its parent is missing. */
function mkdirOnce(p: string, mode?: number): boolean | 'ENOENT' {
  try {
    mkdirSync(p, { mode });
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'ENOENT';
    if (code !== 'EEXIST') throw err;
    if (!statSync(p).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p}'`), { code: 'ENOTDIR', errno: -20, syscall: 'mkdir', path: p });
    return false;
  }
}

function mkdirOrThrow(p: string, mode?: number): string | undefined {
  const made = mkdirOnce(p, mode);
  if (made !== 'ENOENT') return made ? p : undefined;
  mkdirSync(p, { mode }); // mkdir's own ENOENT thrown (or, had the parent just appeared, made)
  return p;
}
