// root.key is created only for a home that holds no key yet: deleting it from a home with keys
// must not silently make a new one (which could unwrap none of them).
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initHome, openEbsim } from '../../src/app/ebsim.js';
import { MissingRootKeyError, RootKeyMismatchError } from '../../src/errors/index.js';

const dirs: string[] = [];
function freshHome(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ebsim-rootkey-'));
  dirs.push(dir);
  initHome(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function createKey(dir: string): string {
  const app = openEbsim(dir);
  try {
    return (app.kms().call(app.as(), 'CreateKey', {}) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
  } finally {
    app.close();
  }
}

describe('the root key', () => {
  it('a home without keys gets a root key on first use', () => {
    const dir = freshHome();
    unlinkSync(join(dir, 'root.key'));
    createKey(dir);
    expect(readFileSync(join(dir, 'root.key'))).toHaveLength(32);
  });

  it('a home holding keys refuses to open without its root key, and does not make a new one', () => {
    const dir = freshHome();
    createKey(dir);
    unlinkSync(join(dir, 'root.key'));
    const app = openEbsim(dir);
    try {
      expect(() => app.kms()).toThrow(MissingRootKeyError);
      expect(() => app.kms()).toThrow(/root key .*root\.key is missing, and this home holds 1 KMS key version/);
    } finally {
      app.close();
    }
    expect(() => initHome(dir)).toThrow(MissingRootKeyError);
    expect(existsSync(join(dir, 'root.key'))).toBe(false);
  });

  it('a replaced root key is named when a key cannot be unwrapped', () => {
    const dir = freshHome();
    const keyId = createKey(dir);
    writeFileSync(join(dir, 'root.key'), Buffer.alloc(32, 1));
    const app = openEbsim(dir);
    try {
      expect(() => app.kms().call(app.as(), 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('hi') })).toThrow(RootKeyMismatchError);
    } finally {
      app.close();
    }
  });

  it('a root key of the wrong length is named as damaged', () => {
    const dir = freshHome();
    writeFileSync(join(dir, 'root.key'), Buffer.alloc(5));
    const app = openEbsim(dir);
    try {
      expect(() => app.kms()).toThrow(/the root key .*root\.key is damaged \(5 bytes, not 32\): restore root\.key from a backup/);
    } finally {
      app.close();
    }
  });
});
