// mkdir -p without Node's `recursive: true`, which spins forever where mkdir answers ENOENT
// though the parent exists (procfs: `ebsim init --home /proc/x` never returned). Top-down, one
// mkdir per component, so no answer can send it back up.
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Creates `path` and its missing parents (with `mode`); existing directories are fine. Throws mkdir's error otherwise (ENOTDIR for a file in the way). */
export function makeDirectories(path: string, mode?: number): void {
  const chain: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of chain) {
    try {
      mkdirSync(p, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!statSync(p).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p}'`), { code: 'ENOTDIR', errno: -20, syscall: 'mkdir', path: p });
    }
  }
}
