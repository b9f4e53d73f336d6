// Builds the optional addon native/build/Release/ebsim_xts.node with node-gyp: the native XTS
// engine (src/ebsim_xts.c), the block device's native sector I/O (src/ebsim_sector_io.c) and
// lseek(SEEK_DATA/SEEK_HOLE) for export and verify (src/ebsim_seek.c).
// Run by `npm install` through `prepare`. Never fails the install: without the addon ebsim
// falls back to the node:crypto engine and says why (ebsim doctor).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function say(msg) {
  process.stdout.write(`ebsim native XTS engine: ${msg}\n`);
}

/** node-gyp as npm ships it (no download), else whatever `npm exec` finds. */
function nodeGypCommand() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  // npm's own bundled copy, located relative to the running node and npm's usual prefixes.
  const execDir = dirname(process.execPath);
  for (const prefix of [join(execDir, '..', 'lib'), '/usr/lib', '/usr/local/lib', join(execDir, 'node_modules', '..')]) {
    candidates.push(join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const found = candidates.find((p) => existsSync(p));
  return found ? [process.execPath, [found]] : ['npm', ['exec', '--yes', '--', 'node-gyp']];
}

function headersArgs() {
  // Prefer the headers installed with this node (distro packages put them in <prefix>/include/node)
  // so node-gyp need not download them; otherwise let node-gyp use its cache or download.
  const prefix = join(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

try {
  if (process.env.EBSIM_SKIP_NATIVE === '1') {
    say('skipped (EBSIM_SKIP_NATIVE=1)');
  } else {
    const [cmd, pre] = nodeGypCommand();
    const r = spawnSync(cmd, [...pre, 'rebuild', ...headersArgs()], {
      cwd: here,
      encoding: 'utf8',
      timeout: 180_000,
    });
    const ok = r.status === 0 && existsSync(join(here, 'build', 'Release', 'ebsim_xts.node'));
    if (ok) {
      say('built');
    } else {
      // The first real error line (not node-gyp's closing "not ok"), as the one line we print.
      const lines = `${r.stderr ?? ''}\n${r.stdout ?? ''}`.split('\n').filter((l) => /error|not found/i.test(l) && !/not ok\s*$/.test(l));
      const best = lines.find((l) => /stack Error:/.test(l)) ?? lines[0];
      const why = r.error?.message ?? best?.replace(/^gyp ERR!\s*(stack\s*)?/, '') ?? `exit status ${r.status}`;
      say(`not built, falling back to the node:crypto engine (${why.trim()})`);
    }
  }
} catch (err) {
  say(`not built, falling back to the node:crypto engine (${err.message})`);
}
// The device daemon's FUSE preload (native/build-fuse-init.mjs); never throws, never fails the install.
try {
  const { buildFuseInit } = await import('./build-fuse-init.mjs');
  process.stdout.write(`ebsim FUSE init preload: ${buildFuseInit()}\n`);
} catch (err) {
  process.stdout.write(`ebsim FUSE init preload: not built (${err.message})\n`);
}
process.exit(0);
