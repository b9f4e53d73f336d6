// Spare RSA keys (src/kms/spare-rsa-keys.ts): off unless a server holds them; once a size has been
// asked for, one spare is made off the event loop and handed out once; through `ebsim serve`'s
// endpoint, CreateKey and GenerateDataKeyPair of that size take it and still return sound keys;
// a server stopped while one is being made exits without waiting for it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants, createPrivateKey, createPublicKey, publicEncrypt, randomBytes, sign, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyPairCommand, GetParametersForImportCommand, GetPublicKeyCommand, ImportKeyMaterialCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { newKeyMaterial } from '../../src/kms/key-material.js';
import { hasSpareRsaKey, keepSpareRsaKeys, spareRsaKeysSettled, spareRsaPublicKey, takeSpareRsaKey } from '../../src/kms/spare-rsa-keys.js';
import type { RunningServer } from '../../src/server/index.js';
import { aliceCredentials, inProcess, newHome, removeHome, spawnServe } from '../server/helpers.js';

const modulusBits = (pkcs8: Buffer) => createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).asymmetricKeyDetails?.modulusLength;

describe('spare RSA keys', () => {
  it('are off unless held: nothing is generated ahead for a CLI run', async () => {
    newKeyMaterial('RSA_2048');
    await spareRsaKeysSettled();
    expect(hasSpareRsaKey(2048)).toBe(false);
    expect(takeSpareRsaKey(2048)).toBeUndefined();
  });

  it('once a size is asked for, one spare of it is made; each is handed out once, and none is another key\'s material', async () => {
    const release = keepSpareRsaKeys();
    try {
      const first = newKeyMaterial('RSA_2048'); // no spare yet: generated in the call, and a spare started
      expect(hasSpareRsaKey(3072)).toBe(false); // only the size asked for
      await spareRsaKeysSettled();
      expect(hasSpareRsaKey(2048)).toBe(true);
      const second = newKeyMaterial('RSA_2048'); // the spare
      expect(hasSpareRsaKey(2048)).toBe(false);
      await spareRsaKeysSettled();
      const third = newKeyMaterial('RSA_2048');
      for (const k of [first, second, third]) expect(modulusBits(k)).toBe(2048);
      expect(new Set([first, second, third].map((k) => k.toString('hex'))).size).toBe(3);
    } finally {
      release();
    }
    // Released: the spare made after the last take is dropped, and none is made again.
    await spareRsaKeysSettled();
    expect(hasSpareRsaKey(2048)).toBe(false);
  });

  it('a release counts holders: spares stay while another server still holds them', async () => {
    const a = keepSpareRsaKeys();
    const b = keepSpareRsaKeys();
    newKeyMaterial('RSA_2048');
    await spareRsaKeysSettled();
    a();
    a(); // twice is once
    expect(hasSpareRsaKey(2048)).toBe(true);
    b();
    expect(hasSpareRsaKey(2048)).toBe(false);
  });
});

describe('through the endpoint (ebsim serve keeps spares)', () => {
  let home: string;
  let server: RunningServer;
  let kms: KMSClient;
  beforeAll(async () => {
    home = newHome('ebsim-spare-rsa-');
    server = await inProcess(home);
    kms = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: aliceCredentials(home), maxAttempts: 1 });
  });
  afterAll(async () => {
    kms?.destroy();
    await server?.close();
    await spareRsaKeysSettled();
    if (home) removeHome(home);
  });

  it('CreateKey RSA_2048 takes the spare the first one started; the key signs and its public key verifies', async () => {
    await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }));
    await spareRsaKeysSettled();
    expect(hasSpareRsaKey(2048)).toBe(true);
    const spare = spareRsaPublicKey(2048)!;
    const id = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const message = Buffer.from('signed with a spare');
    const sig = (await kms.send(new SignCommand({ KeyId: id, Message: message, MessageType: 'RAW', SigningAlgorithm: 'RSASSA_PSS_SHA_256' }))).Signature!;
    const spki = (await kms.send(new GetPublicKeyCommand({ KeyId: id }))).PublicKey!;
    expect(Buffer.from(spki).equals(spare)).toBe(true); // the key is the spare
    expect(spareRsaPublicKey(2048)?.equals(spare) ?? false).toBe(false); // and the spare is gone
    const publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(verify('sha256', message, { key: publicKey, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 }, sig)).toBe(true);
  });

  it('GenerateDataKeyPair RSA_2048 takes one too; its halves belong together', async () => {
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await spareRsaKeysSettled();
    expect(hasSpareRsaKey(2048)).toBe(true);
    const spare = spareRsaPublicKey(2048)!;
    const pair = await kms.send(new GenerateDataKeyPairCommand({ KeyId: key, KeyPairSpec: 'RSA_2048' }));
    expect(Buffer.from(pair.PublicKey!).equals(spare)).toBe(true);
    const priv = createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
    const pub = createPublicKey({ key: Buffer.from(pair.PublicKey!), format: 'der', type: 'spki' });
    const message = Buffer.from('data key pair from a spare');
    expect(verify('sha256', message, pub, sign('sha256', message, priv))).toBe(true);
  });

  it('GetParametersForImport RSA_2048 takes one as its wrapping key, and material wrapped under it imports', async () => {
    const key = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })); // a spare is kept from here on
    await spareRsaKeysSettled();
    expect(hasSpareRsaKey(2048)).toBe(true);
    const spare = spareRsaPublicKey(2048)!;
    const params = await kms.send(new GetParametersForImportCommand({ KeyId: key, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    expect(Buffer.from(params.PublicKey!).equals(spare)).toBe(true);
    const material = randomBytes(32);
    const wrapped = publicEncrypt({ key: createPublicKey({ key: Buffer.from(params.PublicKey!), format: 'der', type: 'spki' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
    await kms.send(new ImportKeyMaterialCommand({ KeyId: key, ImportToken: params.ImportToken, EncryptedKeyMaterial: wrapped, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
    const blob = (await kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from('imported') }))).CiphertextBlob!;
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString()).toBe('imported');
  });
});

describe('a server closed while a spare is being made', () => {
  let home: string;
  afterAll(() => {
    if (home) removeHome(home);
  });

  // An RSA_4096 key takes this machine about a second or more to make (0.8 s to 3 s measured). A
  // CreateKey RSA_4096 that answers at once (tens of ms; under 400 ms on a busy machine) took the
  // spare and started the next: SIGTERM right after it comes while that one is being made. Before,
  // the process lived on until it was done (750 ms to 3.3 s measured); now its maker is stopped
  // with the server, and the exit takes what any close takes (74 to 274 ms measured).
  // What separates the two is not a fixed bound (the close alone varies with the machine's load)
  // but: the maker is a child of the server that is running at SIGTERM and gone once the server
  // has exited, and the exit takes no longer than the same server's close with no spare being made
  // (measured first, in this test) and a margin well under the shortest generation seen.
  it('`ebsim serve` stopped right after a CreateKey RSA_4096 exits promptly, not once the next spare is made', async () => {
    home = newHome('ebsim-h20-spare-exit-');
    const closeTime = async (serve: Awaited<ReturnType<typeof spawnServe>>) => {
      const t0 = performance.now();
      const code = await serve.stop();
      return { code, ms: performance.now() - t0 };
    };
    // The baseline: a server that made a key (a trail to commit) and has no spare to make.
    const idle = await spawnServe(home, ['--workers', '1', '--quiet']);
    const idleKms = new KMSClient({ endpoint: idle.url, region: 'us-east-1', credentials: aliceCredentials(home), maxAttempts: 1 });
    await idleKms.send(new CreateKeyCommand({}));
    idleKms.destroy();
    const baseline = await closeTime(idle);
    expect(baseline.code).toBe(0);

    const serve = await spawnServe(home, ['--workers', '1', '--quiet']);
    const kms = new KMSClient({ endpoint: serve.url, region: 'us-east-1', credentials: aliceCredentials(home), maxAttempts: 1 });
    const took: number[] = [];
    try {
      // The first makes its own key (and starts a spare); the next that answers fast took that spare.
      while (took.length < 8 && (took.length < 2 || took.at(-1)! > 400)) {
        const t = performance.now();
        const meta = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_4096', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
        took.push(performance.now() - t);
        expect(meta.KeySpec).toBe('RSA_4096');
      }
    } catch (err) {
      // Not left running when the loop fails.
      kms.destroy();
      await serve.stop();
      throw err;
    }
    kms.destroy();
    const makers = makersOf(serve.child.pid!);
    const { code, ms } = await closeTime(serve);
    expect(took.at(-1), `CreateKey times ${took.map(Math.round).join(', ')} ms: none took a spare`).toBeLessThan(400);
    expect(code).toBe(0);
    // The next spare was being made, by a child of the server; the server's exit ended it.
    expect(makers, 'the spare maker running at SIGTERM').toHaveLength(1);
    expect(alive(makers[0]!), `maker ${makers[0]} still running after the server exited`).toBe(false);
    // The close of an idle server, plus 350 ms (a load spike between the two closes; the shortest
    // wait for a spare measured was 650 ms), and never more than 600 ms.
    const bound = Math.min(600, baseline.ms + 350);
    expect(ms, `exited ${Math.round(ms)} ms after SIGTERM; the idle server's close took ${Math.round(baseline.ms)} ms`).toBeLessThan(bound);
  }, 60_000);
});

/** The server's children running the spare maker (node -e … generateKeyPairSync … BITS). */
function makersOf(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter((line) => line.includes('generateKeyPairSync'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/** Running: it exists and is not a zombie (a killed child whose parent is gone may wait to be reaped). */
function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

describe('a maker that cannot start', () => {
  // A busy server out of file descriptors: spawn fails with EMFILE, reported as an 'error' event
  // on the next tick (which ends a process that has no listener) and with no stdout. The call
  // must still answer with a key of its own, and the process live on.
  it('costs no more than the spare: the key is made in the call and the process lives on', () => {
    const module = new URL('../../dist/src/kms/spare-rsa-keys.js', import.meta.url).pathname;
    const script = `
      const fs = require('node:fs');
      import(${JSON.stringify(module)}).then(({ keepSpareRsaKeys, newRsaPrivateKey }) => {
        keepSpareRsaKeys();
        const held = [];
        try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
        const der = newRsaPrivateKey(2048);
        setTimeout(() => { console.log('alive ' + der.length + ' ' + held.length); process.exit(0); }, 300);
      });`;
    const r = spawnSync('bash', ['-c', 'ulimit -n 64 && exec "$0" -e "$1"', process.execPath, script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).not.toMatch(/Unhandled|TypeError/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^alive \d{4} \d+/);
  }, 40_000);
});
