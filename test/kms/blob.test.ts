import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes, randomUUID } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { BLOB_LAYOUT, encodeContext, openBlob, parseBlobHeader, sealBlob } from '../../src/kms/index.js';

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
