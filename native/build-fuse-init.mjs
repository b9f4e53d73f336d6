// Builds native/build/ebsim_fuse_init.so (native/src/ebsim_fuse_init.c): the small preload that
// makes the device daemon's FUSE mount use asynchronous direct I/O and 1 MiB reads
// (ebsim_fuse_init.c), keeps libfuse's worker threads for the life of the mount
// (ebsim_fuse_loop.c) and lets those workers decrypt reads (ebsim_fuse_read.c); each C file says why.
// A plain shared library, not a Node addon: one `cc` call. Never throws and never fails the
// install: without it the device works, only slower (the daemon logs which way it runs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const FUSE_INIT_LIBRARY = join(here, 'build', 'ebsim_fuse_init.so');

export function buildFuseInit() {
  try {
    if (process.platform !== 'linux') return 'skipped (Linux only)';
    mkdirSync(dirname(FUSE_INIT_LIBRARY), { recursive: true });
    const cc = process.env.CC || 'cc';
    const r = spawnSync(cc, ['-O2', '-Wall', '-shared', '-fPIC', '-o', FUSE_INIT_LIBRARY, join(here, 'src', 'ebsim_fuse_init.c'), join(here, 'src', 'ebsim_fuse_loop.c'), join(here, 'src', 'ebsim_fuse_read.c'), '-ldl', '-lpthread'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status === 0 && existsSync(FUSE_INIT_LIBRARY)) return 'built';
    const why = r.error?.message ?? (r.stderr || '').split('\n').find((l) => /error/i.test(l)) ?? `exit status ${r.status}`;
    return `not built, the device daemon runs without asynchronous direct I/O (${why.trim()})`;
  } catch (err) {
    return `not built (${err.message})`;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`ebsim FUSE init preload: ${buildFuseInit()}\n`);
}
