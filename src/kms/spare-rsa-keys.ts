// Spare RSA key pairs for a long-running server. Generating an RSA key costs one core tens of
// milliseconds (2048 bits) to seconds (4096), and KMS calls are synchronous here: a CreateKey or
// GenerateDataKeyPair of an RSA spec would stall every other request the process serves. Once a
// size has been asked for, the server keeps one spare pair of it, generated on libuv's pool
// (off the event loop); the next call of that size takes the spare, and another is started.
// A spare is handed out once and forgotten: no two keys ever share material. It lives in memory
// only, as any key's plaintext material does before it is wrapped.
import { createPrivateKey, createPublicKey, generateKeyPair, generateKeyPairSync } from 'node:crypto';

const spares = new Map<number, Buffer>();
const generating = new Set<number>();
/** How many servers of this process want spares (off by default: a short CLI run would only wait for them). */
let holders = 0;

/** Keep spares until the returned function is called (a server, from start to close). */
export function keepSpareRsaKeys(): () => void {
  holders++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--holders > 0) return;
    for (const der of spares.values()) der.fill(0);
    spares.clear();
  };
}

/** A spare PKCS#8 DER private key of `bits`, if one is ready (the caller owns and zeroes it); starts the next. */
export function takeSpareRsaKey(bits: number): Buffer | undefined {
  if (holders === 0) return undefined;
  const der = spares.get(bits);
  spares.delete(bits);
  refill(bits);
  return der;
}

/** A new RSA private key of `bits` as PKCS#8 DER (the caller zeroes it): the spare if one is ready, else made now. */
export function newRsaPrivateKey(bits: number): Buffer {
  return takeSpareRsaKey(bits) ?? generateKeyPairSync('rsa', { modulusLength: bits, privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } }).privateKey;
}

/** Whether a spare of `bits` is ready (tests). */
export function hasSpareRsaKey(bits: number): boolean {
  return spares.has(bits);
}

/** The public half (DER SubjectPublicKeyInfo) of the spare of `bits`, if one is ready: tests tell by it which key took the spare. */
export function spareRsaPublicKey(bits: number): Buffer | undefined {
  const der = spares.get(bits);
  return der && createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
}

/** Resolves once no spare is being generated (tests). */
export async function spareRsaKeysSettled(): Promise<void> {
  while (generating.size > 0) await new Promise((r) => setTimeout(r, 10));
}

function refill(bits: number): void {
  if (generating.has(bits) || spares.has(bits)) return;
  generating.add(bits);
  generateKeyPair('rsa', { modulusLength: bits, privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } }, (err, _pub, der) => {
    generating.delete(bits);
    // A failure (out of memory) only means the next call generates its own key, as without spares.
    if (err || holders === 0) der?.fill(0);
    else spares.set(bits, der);
  });
}
