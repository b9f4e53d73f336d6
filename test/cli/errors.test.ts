// User mistakes get one sentence and the README's exit code (AWS error 254, bad usage 252,
// anything else 1), never a stack trace or "internal error".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, existsSync, unlinkSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { main } from '../../src/cli/main.js';
import { parseMap } from '../../src/cli/input.js';
import { assertBuilt, EBSIM_BIN, ebsimIn } from '../helpers/cli.js';
import { spawnSync } from 'node:child_process';

let home: string;
async function ebsim(...args: string[]) {
  return ebsimIn(home, args);
}
const json = (s: string) => JSON.parse(s) as Record<string, any>;

/** One clear sentence on stderr: no trace, no "internal error", no raw SQLite or Node error names. */
function expectClear(r: { stderr: string }, text: string | RegExp) {
  expect(r.stderr).toMatch(text);
  expect(r.stderr).not.toMatch(/internal error|SqliteError|\n\s+at |ERR_|TypeError|RangeError/);
}

let keyId: string;
let volumeId: string;
let instanceId: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ebsim-errors-'));
  expect((await ebsim('init')).code).toBe(0);
  keyId = json((await ebsim('kms', 'create-key')).stdout).KeyMetadata.KeyId;
  volumeId = json((await ebsim('ec2', 'create-volume', '--size', '1', '--encrypted')).stdout).VolumeId;
  instanceId = json((await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123456789abcdef0', '--instance-type', 't3.micro')).stdout).Instances[0].InstanceId;
  expect((await ebsim('volume', 'write', volumeId, '--data', 'aGk=', '--instance', instanceId)).code).toBe(0);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('fileb:// and file:// arguments', () => {
  it('a missing file is bad usage (252) in the AWS CLI\'s words', async () => {
    const r = await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', `fileb://${home}/no-such-file`);
    expect(r.code).toBe(252);
    expectClear(r, `Error parsing parameter '--plaintext': Unable to load paramfile fileb://${home}/no-such-file: no such file or directory`);
    const m = await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', 'aGk=', '--encryption-context', `file://${home}/missing.json`);
    expect(m.code).toBe(252);
    expectClear(m, "Error parsing parameter '--encryption-context': Unable to load paramfile");
  });

  it('a directory is bad usage (252)', async () => {
    const r = await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', `fileb://${home}`);
    expect(r.code).toBe(252);
    expectClear(r, 'it is a directory');
  });

  it('fileb:///dev/zero stops at the size limits: ValidationException as from AWS', async () => {
    const e = await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', 'fileb:///dev/zero');
    expect(e.code).toBe(254);
    expectClear(e, /\(ValidationException\) when calling the Encrypt operation: .*at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096/);
    const d = await ebsim('kms', 'decrypt', '--ciphertext-blob', 'fileb:///dev/zero');
    expect(d.code).toBe(254);
    expectClear(d, /\(ValidationException\) when calling the Decrypt operation: .*at 'ciphertextBlob' failed to satisfy constraint: Member must have length less than or equal to 6144/);
  });

  it('a map key "__proto__" is kept as a key, not taken as the prototype', () => {
    for (const text of ['__proto__=x,a=b', '{"__proto__":"x","a":"b"}']) {
      const m = parseMap('encryption-context', text);
      expect(Object.getPrototypeOf(m)).toBe(null);
      expect(Object.entries(m)).toEqual([['__proto__', 'x'], ['a', 'b']]);
    }
  });
});

describe('volume read, write and export arguments', () => {
  it('a write past the end of the volume is bad usage (252)', async () => {
    const r = await ebsim('volume', 'write', volumeId, '--offset', String(2 ** 30 - 2), '--data', 'aGVsbG8=');
    expect(r.code).toBe(252);
    expectClear(r, `--data holds 5 bytes: written at --offset ${2 ** 30 - 2}, that passes the end of the 1073741824-byte volume ${volumeId}`);
  });

  it('an endless --file is read only as far as the volume has room', async () => {
    const r = await ebsim('volume', 'write', volumeId, '--offset', String(2 ** 30 - 4096), '--file', '/dev/zero');
    expect(r.code).toBe(252);
    expectClear(r, '/dev/zero holds more than 4096 bytes');
    const missing = await ebsim('volume', 'write', volumeId, '--file', `${home}/nope`);
    expect(missing.code).toBe(252);
    expectClear(missing, 'no such file or directory');
  });

  it('a negative --offset, a huge --length or an --offset past the end is bad usage (252)', async () => {
    const neg = await ebsim('volume', 'read', volumeId, '--offset', '-1', '--length', '4');
    expect(neg.code).toBe(252);
    expectClear(neg, `--offset must be a whole number of bytes from 0 to ${Number.MAX_SAFE_INTEGER}, not -1`);
    const negw = await ebsim('volume', 'write', volumeId, '--offset', '-4096', '--data', 'aGk=');
    expect(negw.code).toBe(252);
    expectClear(negw, '--offset must be a whole number of bytes');
    const huge = await ebsim('volume', 'read', volumeId, '--length', '99999999999');
    expect(huge.code).toBe(252);
    expectClear(huge, `--length must be a whole number of bytes from 0 to ${256 * 2 ** 20} (what one read returns: read in parts, or use ebsim volume export), not 99999999999`);
    const past = await ebsim('volume', 'read', volumeId, '--offset', String(2 ** 40), '--length', '1');
    expect(past.code).toBe(252);
    expectClear(past, 'is past the end of the 1073741824-byte volume');
    const nan = await ebsim('volume', 'read', volumeId, '--offset', 'abc', '--length', '1');
    expect(nan.code).toBe(252);
    // A valid read still works.
    expect(json((await ebsim('volume', 'read', volumeId, '--length', '2')).stdout).Data).toBe('aGk=');
  });

  it('export to a missing directory or onto a directory says so (1) before decrypting anything', async () => {
    const before = json((await ebsim('trail', 'records')).stdout).Records.length;
    const r = await ebsim('volume', 'export', volumeId, `${home}/no-such-dir/out.img`);
    expect(r.code).toBe(1);
    expectClear(r, `cannot export to ${home}/no-such-dir/out.img: the directory ${home}/no-such-dir does not exist`);
    const d = await ebsim('volume', 'export', volumeId, home);
    expect(d.code).toBe(1);
    expectClear(d, 'it is a directory');
    // No Decrypt was recorded for an export that could not be written.
    expect(json((await ebsim('trail', 'records')).stdout).Records.length).toBe(before);
  });
});

describe('a damaged home', () => {
  it('a missing root key is refused with a clear message, and not recreated', async () => {
    const rootKey = join(home, 'root.key');
    const saved = readFileSync(rootKey);
    unlinkSync(rootKey);
    try {
      const r = await ebsim('kms', 'list-keys');
      expect(r.code).toBe(1);
      expectClear(r, `the root key ${rootKey} is missing`);
      expect((await ebsim('init')).code).toBe(1);
      expect(existsSync(rootKey)).toBe(false);
    } finally {
      writeFileSync(rootKey, saved, { mode: 0o600 });
    }
    expect((await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', 'aGk=')).code).toBe(0);
  });

  it('a replaced root key is named as the cause, not "Unsupported state or unable to authenticate data"', async () => {
    const rootKey = join(home, 'root.key');
    const saved = readFileSync(rootKey);
    writeFileSync(rootKey, Buffer.alloc(32, 7));
    try {
      const r = await ebsim('kms', 'encrypt', '--key-id', keyId, '--plaintext', 'aGk=');
      expect(r.code).toBe(1);
      expectClear(r, `the root key ${rootKey} cannot unwrap the key material of`);
      expect(r.stderr).not.toContain('Unsupported state');
    } finally {
      writeFileSync(rootKey, saved);
    }
  });

  it('a corrupt database says which file and what to do (1)', async () => {
    const other = mkdtempSync(join(tmpdir(), 'ebsim-corrupt-'));
    try {
      writeFileSync(join(other, 'ebsim.db'), Buffer.alloc(8192, 0x5a));
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['kms', 'list-keys', '--home', other], { out: (t) => out.push(t), err: (t) => err.push(t) });
      expect(code).toBe(1);
      expectClear({ stderr: err.join('\n') }, `the database ${join(other, 'ebsim.db')} (or ${join(other, 'trail.db')}) is damaged or not an ebsim database`);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

// Found by the h21 bad-input sweep: each of these once printed "internal error" and a stack.
describe('careless arguments', () => {
  it('a null in a JSON list of structures is AWS\'s "Member must not be null" (254), not a TypeError', async () => {
    const t = await ebsim('kms', 'create-key', '--tags', '[null]');
    expect(t.code).toBe(254);
    expectClear(t, "(ValidationException) when calling the CreateKey operation: 1 validation error detected: Value 'null' at 'tags.1.member' failed to satisfy constraint: Member must not be null");
    const l = await ebsim('trail', 'lookup-events', '--lookup-attributes', '[null]');
    expect(l.code).toBe(254);
    expectClear(l, "Value 'null' at 'lookupAttributes.1.member' failed to satisfy constraint: Member must not be null");
  });

  it('an integer flag that is not a number is bad usage (252), not "Value \'NaN\'"', async () => {
    const r = await ebsim('kms', 'generate-random', '--number-of-bytes', 'abc');
    expect(r.code).toBe(252);
    expectClear(r, "Error parsing parameter '--number-of-bytes': expected an integer, not abc");
    expect(r.stderr).not.toContain('NaN');
    // As the AWS CLI's int(): no hexadecimal, no exponent (yargs's number type took both).
    for (const v of ['0x10', '1e3', '1.5']) {
      const x = await ebsim('kms', 'generate-random', '--number-of-bytes', v);
      expect(x.code, v).toBe(252);
      expectClear(x, `Error parsing parameter '--number-of-bytes': expected an integer, not ${v}`);
    }
  });

  it('serve with a port outside 0-65535 is bad usage (252) before anything listens', async () => {
    for (const port of ['99999', '-1', 'abc', '80.5']) {
      const r = await ebsim('serve', '--port', port);
      expect(r.code, port).toBe(252);
      expectClear(r, '--port must be a whole number from 0 to 65535');
    }
  });

  it('serve on a host that does not exist or is not this machine\'s says so (1); an empty --host is bad usage (252), not every interface', async () => {
    const none = await ebsim('serve', '--port', '0', '--workers', '1', '--host', '999.1.1.1');
    expect(none.code).toBe(1);
    expectClear(none, '--host 999.1.1.1: no such host or address');
    const other = await ebsim('serve', '--port', '0', '--workers', '1', '--host', '192.0.2.1'); // TEST-NET-1 (RFC 5737): never local
    expect(other.code).toBe(1);
    expectClear(other, '192.0.2.1 is not an address of this machine');
    const empty = await ebsim('serve', '--port', '0', '--workers', '1', '--host', ' ');
    expect(empty.code).toBe(252);
    expectClear(empty, '--host must name an address');
  });
});

// Node's recursive mkdir spins forever under /proc (mkdir answers ENOENT with the parent there):
// run as a process with a deadline, since a spinning in-process call would hang the test itself.
describe.skipIf(!existsSync('/proc/self'))('a directory ebsim cannot create under /proc', () => {
  it('init --home and trail export fail at once with mkdir\'s reason (1), instead of never returning', () => {
    assertBuilt();
    for (const args of [['init', '--home', '/proc/ebsim-no-such-home'], ['trail', 'export', '/proc/ebsim-no-such-dir', '--home', home]]) {
      const r = spawnSync(process.execPath, [EBSIM_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(r.signal, args.join(' ')).toBeNull();
      expect(r.status).toBe(1);
      expectClear({ stderr: r.stderr }, /cannot mkdir \/proc\/ebsim-no-such-(home|dir)/);
    }
  });
});
