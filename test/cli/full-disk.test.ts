// A home on a full file system: the commands that take a volume down (unmount, status, cleanup)
// must not need the database, and everything else must say "no space left on the device
// holding $EBSIM_HOME" instead of `SqliteError: disk I/O error`. Real processes, a real tmpfs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEbsim } from '../helpers/cli.js';

/** Mounting a tmpfs needs root; under EBSIM_REQUIRE_FUSE=1 (CI, as root) a skip is a failure. */
function skipReason(): string | undefined {
  if (process.getuid?.() === 0) return undefined;
  if (process.env.EBSIM_REQUIRE_FUSE === '1') throw new Error('EBSIM_REQUIRE_FUSE=1 but not root: cannot mount the tmpfs of the full-disk test');
  return 'needs root to mount a small tmpfs';
}
const skip = skipReason();

let dir: string;
let home: string;
let mounted = false;
const run = (...args: string[]) => runEbsim(args, { EBSIM_HOME: home });

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'ebsim-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
  mounted = true;
  home = join(dir, 'home');
  expect((await run('init')).code).toBe(0);
  expect((await run('kms', 'create-key')).code).toBe(0);
  // Fill what is left: writing stops with ENOSPC.
  try {
    writeFileSync(join(dir, 'fill'), Buffer.alloc(4 << 20));
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  }
});

afterAll(() => {
  if (!mounted) return;
  execFileSync('umount', [dir]);
  rmdirSync(dir);
});

const noSqlite = (r: { stderr: string }) => expect(r.stderr).not.toMatch(/SqliteError|disk I\/O error|internal error/);

describe.skipIf(skip)(`a home on a full disk${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('volume status and volume cleanup work without the database', async () => {
    const st = await run('volume', 'status');
    expect(st.stderr).toBe('');
    expect(st.code).toBe(0);
    expect(JSON.parse(st.stdout)).toEqual({ Volumes: [] });
    const cl = await run('volume', 'cleanup');
    expect(cl.code).toBe(0);
    expect(JSON.parse(cl.stdout)).toEqual({ CleanedUp: [] });
  });

  it('volume unmount of a volume not mounted answers about the mount, not the database', async () => {
    const r = await run('volume', 'unmount', 'vol-0123456789abcdef0');
    expect(r.code).not.toBe(0);
    // How "not mounted" is worded is the mount code's; here only: it got that far.
    expect(r.stderr).not.toMatch(/SqliteError|disk I\/O error|no space left/);
    expect(r.stderr).toContain('not mounted');
  });

  it('commands that need the database say the disk is full, in one sentence (exit 1)', async () => {
    for (const args of [['kms', 'list-keys'], ['kms', 'create-key'], ['iam', 'list-users']]) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(1);
      noSqlite(r);
      expect(r.stderr.trim()).toBe(`ebsim: no space left on the device holding $EBSIM_HOME (${home}): free some space there and try again`);
    }
  });
});
