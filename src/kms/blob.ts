// The ciphertext blob: authenticated encryption (AES-256-GCM) of the plaintext under one
// version of a CMK's key material, with the key and version named inside the blob so that
// Decrypt needs no KeyId, and header + canonical encryption context bound as AAD.
//
//   0      1          17        21      33                 end-16   end
//   | ver | key uuid  | version | nonce | ciphertext       | tag     |
//
// A multi-Region key's ID ("mrk-" and 32 hex digits) fills the same 16 bytes; the first byte (2
// instead of 1) says which kind of ID they are. Every key of the set decrypts the blob: the ID is
// theirs in any Region, and they share the material.
//
// GCM runs through OpenSSL: the native addon's (native/src/ebsim_gcm.c: the cipher fetched once,
// a context kept per thread, about 1 us a call) when it is built, else node:crypto's (a lookup
// and a new context per call, 4-6 us). @noble/ciphers' gcm recomputes its GHASH tables on every
// call (about 28 us here), too slow for the 50,000 calls/s target; the tests decrypt our blobs
// with @noble/ciphers and node:crypto to prove the format is plain AES-256-GCM whichever sealed it.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { loadAddon, type Addon } from '../xts/addon.js';
import { randomBytesFromPool } from './random-pool.js';
import { InvalidCiphertextException } from '../errors/index.js';
import { encodeContext, type EncryptionContext } from './context.js';

const BLOB_VERSION = 1;
/** The same layout, naming a multi-Region key. */
const BLOB_VERSION_MRK = 2;
const MRK = 'mrk-';
const HEADER = 33;
const TAG = 16;

export interface BlobHeader {
  keyId: string;
  version: number;
}

const uuidBytes = new Map<string, Buffer>();

/** A key ID's 16 bytes (a UUID's, or a multi-Region key ID's hex digits), memoized per key (it is written into every blob). Callers must not modify the result. */
export function uuidToBytes(uuid: string): Buffer {
  let b = uuidBytes.get(uuid);
  if (!b) {
    b = Buffer.from((uuid.startsWith(MRK) ? uuid.slice(MRK.length) : uuid).replace(/-/g, ''), 'hex');
    if (uuidBytes.size < 10_000) uuidBytes.set(uuid, b);
  }
  return b;
}

function bytesToUuid(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function aadOf(header: Buffer, ctx: EncryptionContext): Buffer {
  return Buffer.concat([header, encodeContext(ctx)]);
}

/** Which AES-256-GCM seals and opens blobs: 'native' (the addon's) or 'node' (node:crypto); EBSIM_KMS_GCM=node forces the latter. */
export function blobGcm(): 'native' | 'node' {
  return gcm() ? 'native' : 'node';
}

type NativeGcm = Pick<Addon, 'gcmSeal' | 'gcmOpen'>;
let native: NativeGcm | null | undefined;

/** The addon's GCM, looked up on first use (a CLI call that seals nothing never loads it). */
function gcm(): NativeGcm | null {
  if (native === undefined) {
    const { addon } = process.env.EBSIM_KMS_GCM === 'node' ? { addon: null } : loadAddon();
    // An addon built before it had GCM has no gcmAvailable.
    native = addon && typeof addon.gcmAvailable === 'function' && addon.gcmAvailable() ? addon : null;
  }
  return native;
}

export function sealBlob(material: Uint8Array, head: BlobHeader, plaintext: Uint8Array, ctx: EncryptionContext): Buffer {
  const n = gcm();
  const blob = Buffer.allocUnsafe(n ? HEADER + plaintext.length + TAG : HEADER);
  const header = blob.subarray(0, HEADER);
  header[0] = head.keyId.startsWith(MRK) ? BLOB_VERSION_MRK : BLOB_VERSION;
  uuidToBytes(head.keyId).copy(header, 1);
  header.writeUInt32BE(head.version, 17);
  randomBytesFromPool(12).copy(header, 21);
  if (n) {
    n.gcmSeal(material, header.subarray(21, 33), aadOf(header, ctx), plaintext, blob.subarray(HEADER));
    return blob;
  }
  const c = createCipheriv('aes-256-gcm', material, header.subarray(21, 33));
  c.setAAD(aadOf(header, ctx));
  const body = c.update(plaintext);
  c.final();
  return Buffer.concat([header, body, c.getAuthTag()]);
}

/** Reads the header without authenticating it (that happens in openBlob). */
export function parseBlobHeader(blob: Uint8Array): BlobHeader {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < HEADER + TAG + 1 || (b[0] !== BLOB_VERSION && b[0] !== BLOB_VERSION_MRK)) {
    throw new InvalidCiphertextException(''); // AWS's message is empty
  }
  const id = b.subarray(1, 17);
  return { keyId: b[0] === BLOB_VERSION_MRK ? MRK + id.toString('hex') : bytesToUuid(id), version: b.readUInt32BE(17) };
}

export function openBlob(material: Uint8Array, blob: Uint8Array, ctx: EncryptionContext): Buffer {
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const header = b.subarray(0, HEADER);
  // Outside the try below: a context that cannot be encoded is refused as such, not as a bad blob.
  const aad = aadOf(header, ctx);
  const n = gcm();
  if (n) {
    if (b.length < HEADER + TAG) throw new InvalidCiphertextException('');
    // Its own zeroed allocation (a plaintext key never shares Node's pool of small buffers).
    const out = Buffer.alloc(b.length - HEADER - TAG);
    if (material.length !== 32 || !n.gcmOpen(material, header.subarray(21, 33), aad, b.subarray(HEADER, b.length - TAG), b.subarray(b.length - TAG), out)) {
      // AWS says no more than this: a wrong context and a tampered blob look the same.
      throw new InvalidCiphertextException('');
    }
    return out;
  }
  try {
    const d = createDecipheriv('aes-256-gcm', material, header.subarray(21, 33));
    d.setAAD(aad);
    d.setAuthTag(b.subarray(b.length - TAG));
    const out = d.update(b.subarray(HEADER, b.length - TAG));
    d.final();
    return out;
  } catch {
    // AWS says no more than this: a wrong context and a tampered blob look the same.
    throw new InvalidCiphertextException('');
  }
}

export const BLOB_LAYOUT = { HEADER, TAG, NONCE_OFFSET: 21 } as const;
