// EMSA-PSS (RFC 8017 section 9.1) over a digest the caller already computed: what Sign and Verify
// need for RSASSA_PSS_* with MessageType DIGEST, where OpenSSL's one-shot calls (node:crypto's
// sign/verify) would hash again. The RSA operation itself stays OpenSSL's (raw, no padding). MGF1
// uses the message's hash and the salt is as long as the hash, as AWS KMS's RSASSA_PSS_SHA_* are.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

type HashName = 'sha256' | 'sha384' | 'sha512';
const ZEROS_8 = Buffer.alloc(8);

/** RFC 8017 appendix B.2.1. */
function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  const counter = Buffer.alloc(4);
  for (let done = 0, c = 0; done < length; c++) {
    counter.writeUInt32BE(c);
    const block = createHash(hash).update(seed).update(counter).digest();
    blocks.push(block);
    done += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** The number of high bits of the first byte that must be zero (8·emLen − emBits). */
const topBitsMask = (emLen: number, emBits: number) => 0xff >>> (8 * emLen - emBits);

/** EMSA-PSS-ENCODE (9.1.1) of `digest`, for a modulus of `modBits` bits: emBits = modBits − 1. */
export function emsaPssEncode(hash: HashName, digest: Uint8Array, modBits: number): Buffer {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = digest.length;
  const sLen = hLen;
  if (emLen < hLen + sLen + 2) throw new RangeError(`emsaPssEncode: a ${modBits}-bit modulus is too short for ${hash}`);
  const salt = randomBytes(sLen);
  const h = createHash(hash).update(ZEROS_8).update(digest).update(salt).digest();
  const db = Buffer.alloc(emLen - hLen - 1);
  db[db.length - sLen - 1] = 0x01;
  salt.copy(db, db.length - sLen);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= topBitsMask(emLen, emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (9.1.2): does `em` (the signature raised to e, emLen bytes or left-padded to the modulus) encode `digest`? */
export function emsaPssVerify(hash: HashName, digest: Uint8Array, em: Uint8Array, modBits: number): boolean {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  const hLen = digest.length;
  const sLen = hLen;
  if (em.length < emLen || em.subarray(0, em.length - emLen).some((b) => b !== 0)) return false;
  const e = Buffer.from(em.subarray(em.length - emLen));
  if (emLen < hLen + sLen + 2 || e[emLen - 1] !== 0xbc) return false;
  const db = e.subarray(0, emLen - hLen - 1);
  const h = e.subarray(emLen - hLen - 1, emLen - 1);
  if ((db[0]! & ~topBitsMask(emLen, emBits)) !== 0) return false;
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= topBitsMask(emLen, emBits);
  const psEnd = db.length - sLen - 1;
  if (db.subarray(0, psEnd).some((b) => b !== 0) || db[psEnd] !== 0x01) return false;
  const expected = createHash(hash).update(ZEROS_8).update(digest).update(db.subarray(db.length - sLen)).digest();
  return timingSafeEqual(expected, h);
}
