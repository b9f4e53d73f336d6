// mkdir -p that returns, whatever the file system answers.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectories } from '../../src/core/directories.js';

const dir = mkdtempSync(join(tmpdir(), 'ebsim-dirs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const codeOf = (f: () => void) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
};

describe('makeDirectories', () => {
  it('creates every missing level with the mode asked, and again is a no-op', () => {
    const deep = join(dir, 'a', 'b', 'c');
    makeDirectories(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
    expect(codeOf(() => makeDirectories(deep, 0o700))).toBe('ok');
  });

  it('returns the first directory it made (the topmost new one), as Node\'s recursive mkdir does; nothing when all exist', () => {
    expect(makeDirectories(join(dir, 'r', 's', 't'))).toBe(join(dir, 'r'));
    expect(makeDirectories(join(dir, 'r', 's', 'u'))).toBe(join(dir, 'r', 's', 'u'));
    expect(makeDirectories(join(dir, 'r', 's'))).toBeUndefined();
    expect(makeDirectories('/')).toBeUndefined(); // the root exists (EEXIST, or EISDIR elsewhere, never walked)
  });

  it('a relative path is taken from the working directory', () => {
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      expect(makeDirectories(join('rel', 'x'))).toBe(join(dir, 'rel'));
      expect(statSync(join(dir, 'rel', 'x')).isDirectory()).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('a file in the way is ENOTDIR, at the end of the path or inside it', () => {
    writeFileSync(join(dir, 'file'), '');
    expect(codeOf(() => makeDirectories(join(dir, 'file')))).toBe('ENOTDIR');
    expect(codeOf(() => makeDirectories(join(dir, 'file', 'x')))).toBe('ENOTDIR');
  });

  // Node's recursive mkdir spins forever here (procfs answers ENOENT with the parent present).
  it.skipIf(!existsSync('/proc/self'))('under /proc, fails at once with mkdir\'s ENOENT', () => {
    const t0 = Date.now();
    expect(codeOf(() => makeDirectories('/proc/ebsim-no-such-dir/x'))).toBe('ENOENT');
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
