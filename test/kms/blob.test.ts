import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { BLOB_LAYOUT, encodeContext, openBlob, parseBlobHeader, sealBlob } from '../../src/kms/index.js';
import { blobGcm } from '../../src/kms/blob.js';
import { loadAddon } from '../../src/xts/addon.js';
import { describeNative } from '../helpers/native.js';

const material = randomBytes(32);
const head = { keyId: randomUUID(), version: 3 };

describe('ciphertext blob', () => {
  it('names its key and key version, so Decrypt needs no KeyId', () => {
    const b = sealBlob(material, head, Buffer.from('data'), {});
    expect(parseBlobHeader(b)).toEqual(head);
  });

  it('is plain AES-256-GCM with header and canonical context as AAD (checked with @noble/ciphers)', () => {
    const ctx = { 'aws:ebs:id': 'vol-0123456789abcdef0' };
    const pt = randomBytes(64);
    const b = sealBlob(material, head, pt, ctx);
    const header = b.subarray(0, BLOB_LAYOUT.HEADER);
    const aad = Buffer.concat([header, encodeContext(ctx)]);
    const nonce = b.subarray(BLOB_LAYOUT.NONCE_OFFSET, BLOB_LAYOUT.HEADER);
    const opened = gcm(material, nonce, aad).decrypt(b.subarray(BLOB_LAYOUT.HEADER));
    expect(Buffer.from(opened).equals(pt)).toBe(true);
  });

  it('round-trips any plaintext and context', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4096 }), fc.dictionary(fc.string({ minLength: 1 }), fc.string()), (pt, ctx) => {
        expect(openBlob(material, sealBlob(material, head, pt, ctx), ctx).equals(Buffer.from(pt))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects any single flipped bit with InvalidCiphertextException', () => {
    const b = sealBlob(material, head, randomBytes(64), { a: 'b' });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: b.length * 8 - 1 }), (bit) => {
        const t = Buffer.from(b);
        t[bit >> 3]! ^= 1 << (bit & 7);
        // The header is part of the AAD, so even a flip in the key id or version that still
        // parses is refused by authentication, under the original key material.
        expect(() => {
          parseBlobHeader(t);
          openBlob(material, t, { a: 'b' });
        }).toThrow(expect.objectContaining({ code: 'InvalidCiphertextException' }));
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects another encryption context and truncated blobs', () => {
    const b = sealBlob(material, head, Buffer.from('x'), { a: 'b' });
    expect(() => openBlob(material, b, { a: 'c' })).toThrow(expect.objectContaining({ code: 'InvalidCiphertextException' }));
    expect(() => openBlob(material, b, {})).toThrow(expect.objectContaining({ code: 'InvalidCiphertextException' }));
    expect(() => parseBlobHeader(b.subarray(0, 40))).toThrow(expect.objectContaining({ code: 'InvalidCiphertextException' }));
  });
});

// The addon's AES-256-GCM (native/src/ebsim_gcm.c), which seals and opens blobs when it is built:
// checked against the GCM specification's published test case and against node:crypto both ways.
// Skipped where the addon is not built, or built without GCM; under EBSIM_REQUIRE_FUSE=1 (CI) a failure.
const loaded = loadAddon();
const gcmMissing = !loaded.addon
  ? loaded.reason
  : typeof loaded.addon.gcmAvailable !== 'function' || !loaded.addon.gcmAvailable()
    ? "the addon has no AES-256-GCM (built without it, or Node's OpenSSL symbols not found)"
    : undefined;

describe('the blob cipher in use', () => {
  it('is the native GCM wherever the addon has it, else node:crypto', () => {
    if (gcmMissing) console.warn(`blobs use node:crypto: ${gcmMissing}`);
    expect(blobGcm()).toBe(gcmMissing ? 'node' : 'native');
  });
});

describeNative('the native GCM that blobs use', gcmMissing, () => {
  const addon = loaded.addon;
  const hex = (s: string) => Buffer.from(s, 'hex');
  // McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", test case 16 (AES-256, 60-byte plaintext, 20-byte AAD).
  const TC16 = {
    key: hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308'),
    iv: hex('cafebabefacedbaddecaf888'),
    aad: hex('feedfacedeadbeeffeedfacedeadbeefabaddad2'),
    pt: hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39'),
    ct: hex('522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662'),
    tag: hex('76fc6ece0f4e1768cddf8853bb2d551b'),
  };

  it('seals and opens the published test case', () => {
    const out = Buffer.alloc(TC16.pt.length + 16);
    addon!.gcmSeal(TC16.key, TC16.iv, TC16.aad, TC16.pt, out);
    expect(out.toString('hex')).toBe(Buffer.concat([TC16.ct, TC16.tag]).toString('hex'));
    const opened = Buffer.alloc(TC16.ct.length);
    expect(addon!.gcmOpen(TC16.key, TC16.iv, TC16.aad, TC16.ct, TC16.tag, opened)).toBe(true);
    expect(opened.equals(TC16.pt)).toBe(true);
  });

  it('refuses a wrong tag, AAD or key, and leaves no plaintext behind', () => {
    const wrongTag = Buffer.from(TC16.tag);
    wrongTag[15]! ^= 0x80;
    for (const [key, aad, tag] of [[TC16.key, TC16.aad, wrongTag], [TC16.key, Buffer.concat([TC16.aad, Buffer.of(0)]), TC16.tag], [randomBytes(32), TC16.aad, TC16.tag]] as const) {
      const opened = Buffer.alloc(TC16.ct.length, 0xaa);
      expect(addon!.gcmOpen(key, TC16.iv, aad, TC16.ct, tag, opened)).toBe(false);
      expect(opened.every((b) => b === 0)).toBe(true);
    }
    expect(() => addon!.gcmSeal(randomBytes(16), TC16.iv, TC16.aad, TC16.pt, Buffer.alloc(TC16.pt.length + 16))).toThrow(RangeError);
    expect(() => addon!.gcmOpen(TC16.key, randomBytes(16), TC16.aad, TC16.ct, TC16.tag, Buffer.alloc(TC16.ct.length))).toThrow(RangeError);
  });

  it('agrees with node:crypto both ways for any plaintext and AAD (empty included)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.uint8Array({ minLength: 0, maxLength: 300 }), (pt, aad) => {
        const key = randomBytes(32);
        const iv = randomBytes(12);
        const out = Buffer.alloc(pt.length + 16);
        addon!.gcmSeal(key, iv, aad, pt, out);
        const d = createDecipheriv('aes-256-gcm', key, iv);
        d.setAAD(aad);
        d.setAuthTag(out.subarray(pt.length));
        expect(Buffer.concat([d.update(out.subarray(0, pt.length)), d.final()]).equals(Buffer.from(pt))).toBe(true);
        const c = createCipheriv('aes-256-gcm', key, iv);
        c.setAAD(aad);
        const ct = Buffer.concat([c.update(pt), c.final()]);
        const opened = Buffer.alloc(pt.length);
        expect(addon!.gcmOpen(key, iv, aad, ct, c.getAuthTag(), opened)).toBe(true);
        expect(opened.equals(Buffer.from(pt))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a blob sealed through node:crypto (EBSIM_KMS_GCM=node, another process) opens here, and one sealed here opens there', () => {
    const module = new URL('../../dist/src/kms/blob.js', import.meta.url).pathname;
    const mine = sealBlob(material, head, Buffer.from('sealed here'), { a: 'b' });
    const script = `import(${JSON.stringify(module)}).then((m) => {
      const material = Buffer.from(process.argv[1], 'hex');
      const opened = m.openBlob(material, Buffer.from(process.argv[2], 'hex'), { a: 'b' }).toString();
      const theirs = m.sealBlob(material, ${JSON.stringify(head)}, Buffer.from('sealed there'), { a: 'b' });
      console.log(JSON.stringify({ gcm: m.blobGcm(), opened, theirs: theirs.toString('hex') }));
    });`;
    const r = spawnSync(process.execPath, ['-e', script, material.toString('hex'), mine.toString('hex')], { encoding: 'utf8', env: { ...process.env, EBSIM_KMS_GCM: 'node' } });
    expect(r.status, r.stderr).toBe(0);
    const there = JSON.parse(r.stdout) as { gcm: string; opened: string; theirs: string };
    expect(there.gcm).toBe('node');
    expect(there.opened).toBe('sealed here');
    expect(openBlob(material, Buffer.from(there.theirs, 'hex'), { a: 'b' }).toString()).toBe('sealed there');
  });
});

// Whichever GCM seals (the addon or node:crypto): no path makes the ambiguous encoding.
describe('a context with a lone surrogate', () => {
  it('sealBlob and openBlob refuse a context with a lone surrogate (ValidationException): a blob sealed under U+FFFD does not open under \\ud800', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return 'no error';
    };
    expect(code(() => sealBlob(material, head, Buffer.from('p'), { a: '\ud800' }))).toBe('ValidationException');
    const replacement = sealBlob(material, head, Buffer.from('p'), { a: '\ufffd' });
    for (const lone of ['\ud800', '\udfff']) expect(code(() => openBlob(material, replacement, { a: lone })), lone).toBe('ValidationException');
    expect(openBlob(material, replacement, { a: '\ufffd' }).toString()).toBe('p');
  });

  it('through node:crypto too (EBSIM_KMS_GCM=node, another process): a lone surrogate is ValidationException, not an opened or a bad blob', () => {
    const module = new URL('../../dist/src/kms/blob.js', import.meta.url).pathname;
    const replacement = sealBlob(material, head, Buffer.from('p'), { a: '\ufffd' });
    const script = `import(${JSON.stringify(module)}).then((m) => {
      const material = Buffer.from(process.argv[1], 'hex');
      const code = (fn) => { try { fn(); return 'no error'; } catch (e) { return e.code; } };
      const sealed = code(() => m.sealBlob(material, ${JSON.stringify(head)}, Buffer.from('p'), { a: '\\ud800' }));
      const opened = code(() => m.openBlob(material, Buffer.from(process.argv[2], 'hex'), { a: '\\ud800' }));
      console.log(JSON.stringify({ gcm: m.blobGcm(), sealed, opened }));
    });`;
    const r = spawnSync(process.execPath, ['-e', script, material.toString('hex'), replacement.toString('hex')], { encoding: 'utf8', env: { ...process.env, EBSIM_KMS_GCM: 'node' } });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ gcm: 'node', sealed: 'ValidationException', opened: 'ValidationException' });
  });
});
