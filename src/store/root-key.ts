// The simulated HSM: a 256-bit root key in $EBSIM_HOME/root.key (0600) wraps every CMK's
// key material, so the database alone reveals no key.
import { openSync, writeSync, closeSync, readFileSync, fsyncSync } from 'node:fs';
import { randomBytes, createCipheriv, createDecipheriv } from 'node:crypto';
import { RootKeyMismatchError, UserError } from '../errors/index.js';

const WRAP_VERSION = 1;

export class RootKey {
  private constructor(
    private readonly key: Buffer,
    private readonly path: string,
  ) {}

  /** Loads the root key, creating it atomically (O_EXCL) if no process has yet. */
  static loadOrCreate(path: string): RootKey {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        const key = randomBytes(32);
        writeSync(fd, key);
        fsyncSync(fd);
        return new RootKey(key, path);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // Another process may have created the file but not written it yet: wait briefly for 32 bytes.
    for (let attempt = 0; ; attempt++) {
      const key = readFileSync(path);
      if (key.length === 32) return new RootKey(key, path);
      if (attempt > 200) throw new UserError(`the root key ${path} is damaged (${key.length} bytes, not 32): restore root.key from a backup`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }

  /** AES-256-GCM under the root key; `label` (the key ARN and version) is bound as AAD. */
  wrap(material: Uint8Array, label: string): Buffer {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(Buffer.from(label));
    const body = Buffer.concat([c.update(material), c.final()]);
    return Buffer.concat([Buffer.from([WRAP_VERSION]), nonce, body, c.getAuthTag()]);
  }

  /**
   * Opens bytes this root key wrapped under `label`, or undefined if it did not (a value a caller
   * handed back, such as an import token, may be anything): never an error about the root key.
   */
  open(wrapped: Uint8Array, label: string): Buffer | undefined {
    const w = Buffer.from(wrapped);
    if (w.length < 1 + 12 + 16 || w[0] !== WRAP_VERSION) return undefined;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, w.subarray(1, 13));
      d.setAAD(Buffer.from(label));
      d.setAuthTag(w.subarray(w.length - 16));
      return Buffer.concat([d.update(w.subarray(13, w.length - 16)), d.final()]);
    } catch {
      return undefined;
    }
  }

  unwrap(wrapped: Uint8Array, label: string): Buffer {
    const w = Buffer.from(wrapped);
    if (w.length < 1 + 12 + 16 || w[0] !== WRAP_VERSION) throw new Error(`corrupt wrapped key material for ${label}`);
    const d = createDecipheriv('aes-256-gcm', this.key, w.subarray(1, 13));
    d.setAAD(Buffer.from(label));
    d.setAuthTag(w.subarray(w.length - 16));
    try {
      return Buffer.concat([d.update(w.subarray(13, w.length - 16)), d.final()]);
    } catch {
      // The tag fails only under another key (or damaged bytes): say which file is at fault.
      throw new RootKeyMismatchError(this.path, label);
    }
  }
}
