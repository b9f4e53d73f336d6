// Spare RSA key pairs for a long-running server. Generating an RSA key costs one core tens of
// milliseconds (2048 bits) to seconds (4096), and KMS calls are synchronous here: a CreateKey or
// GenerateDataKeyPair of an RSA spec would stall every other request the process serves. Once a
// size has been asked for, the server keeps one spare pair of it, generated in a child process
// (off the event loop, and killed when the server closes: a generation on libuv's pool cannot be
// stopped, and the process would live on until it was done, seconds for RSA_4096); the next call
// of that size takes the spare, and another is started.
// A spare is handed out once and forgotten: no two keys ever share material. It lives in memory
// only (it crosses a pipe from its maker, never a file), as any key's plaintext material does
// before it is wrapped.
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

const spares = new Map<number, Buffer>();
/** The children making a spare, by size. */
const generating = new Map<number, ChildProcess>();

/** What a maker runs: one RSA private key of argv[1] bits, as PKCS#8 DER on stdout. */
const MAKER = `const { privateKey } = require('node:crypto').generateKeyPairSync('rsa', { modulusLength: Number(process.argv[1]), privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } });
process.stdout.end(privateKey, () => privateKey.fill(0));`;
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
    // Not waited for: a spare half made is of no use now.
    for (const child of generating.values()) child.kill('SIGKILL');
    generating.clear();
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
  // A maker that cannot even start (out of descriptors or memory) only means no spare: the next
  // call makes its own key, as without spares. Nothing here may throw into the caller's KMS call.
  try {
    startMaker(bits);
  } catch {
    generating.delete(bits);
  }
}

function startMaker(bits: number): void {
  // NODE_OPTIONS left out: the maker needs none of the server's (an inspector port, a loader).
  const { NODE_OPTIONS: _, ...env } = process.env;
  const child = spawn(process.execPath, ['-e', MAKER, String(bits)], { stdio: ['ignore', 'pipe', 'ignore'], env });
  // First: a spawn that failed (EMFILE) reports it as an 'error' event on the next tick, which
  // would end the process with no listener; its stdout is then null.
  child.on('error', () => settle(false));
  generating.set(bits, child);
  const chunks: Buffer[] = [];
  let settled = false;
  function settle(ok: boolean): void {
    if (settled) return;
    settled = true;
    if (generating.get(bits) === child) generating.delete(bits);
    // Its own allocation (not Node's shared pool of small buffers), zeroed with the chunks.
    const der = Buffer.alloc(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) at += c.copy(der, at);
    for (const c of chunks) c.fill(0);
    // A failure (killed, out of memory) only means the next call generates its own key, as without spares.
    if (!ok || holders === 0 || child.killed || !isPrivateKeyOf(der, bits)) der.fill(0);
    else spares.set(bits, der);
  }
  // Neither the child nor its pipe keeps this process alive.
  child.unref();
  if (!child.stdout) return settle(false);
  (child.stdout as { unref?: () => void }).unref?.();
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.on('close', (code) => settle(code === 0));
}

/** What came down the pipe is an RSA private key of that size (nothing else may become key material). */
function isPrivateKeyOf(der: Buffer, bits: number): boolean {
  if (der.length === 0) return false;
  try {
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails?.modulusLength === bits;
  } catch {
    return false;
  }
}
