// The walkthrough's proofs must be able to fail. Each runs here on a real ext4 image written
// through ebsim's block device twice: with the XTS cipher (every proof holds) and with the
// identity codec in its place (test-only: BlockDevice's `codec` seam), where the image holds
// the plaintext and every proof must fail. The file's sectors are found through the file system
// (debugfs on the plain ext4 image), as the walkthrough finds them with filefrag.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockDevice, type SectorCodec } from '../../src/device/index.js';
import { createSectorCipher } from '../../src/xts/index.js';
import { fileSectorsByDebugfs } from '../../src/walkthrough/file-blocks.js';
import { decryptSectorWithOpenssl, encryptSectorWithOpenssl } from '../../src/walkthrough/openssl-xts.js';
import { scanImage } from '../../src/walkthrough/image-scan.js';
import { helloBytes, MARKER, tweakBytes } from '../../src/walkthrough/evidence.js';
import {
  proveAbsentFromFiles, proveAbsentFromImage, proveIndependentDecryption, proveSectorIsCiphertext, proveTweakSeparatesSectors, readImageSector, type SectorView,
} from '../../src/walkthrough/proofs.js';
import { tempDir, xtsKey } from '../device/helpers.js';

const IDENTITY: SectorCodec = { name: 'identity (test only)', encrypt: () => {}, decrypt: () => {} };
const SIZE = 64 << 20;
const dir = tempDir('ebsim-proofs-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A plain ext4 image holding hello.txt and tweak.bin (mke2fs -d: no mount, no root), and where the files are. */
function plainExt4(): { image: string; hello: number[]; tweak: number[] } {
  const root = join(dir, 'root');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'hello.txt'), helloBytes());
  writeFileSync(join(root, 'tweak.bin'), tweakBytes());
  const image = join(dir, 'plain.img');
  writeFileSync(image, '');
  execFileSync('truncate', ['-s', String(SIZE), image]);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-d', root, image], { stdio: 'ignore' });
  return { image, hello: fileSectorsByDebugfs(image, '/hello.txt').sectors, tweak: fileSectorsByDebugfs(image, '/tweak.bin').sectors };
}

/** Copies every written block of the plain image into a volume through the block device with `codec` or `key`. */
async function volumeOf(plain: string, name: string, opts: { key?: Buffer; codec?: SectorCodec }): Promise<{ image: string; views: (sectors: number[]) => Promise<SectorView[]> }> {
  const image = join(dir, name);
  const open = () => BlockDevice.open({ imagePath: image, sizeBytes: SIZE, key: opts.key ?? null, codec: opts.codec, create: true });
  const dev = open();
  const fd = openSync(plain, 'r');
  const block = Buffer.alloc(4096);
  for (let s = 0; s < SIZE / 4096; s++) {
    readSync(fd, block, 0, 4096, s * 4096);
    if (block.some((b) => b !== 0)) await dev.write(s * 4096, block);
  }
  closeSync(fd);
  await dev.close();
  return {
    image,
    views: async (sectors) => {
      const d = open();
      try {
        const out: SectorView[] = [];
        for (const sector of sectors) out.push({ sector, onDisk: readImageSector(image, sector), plaintext: await d.read(sector * 4096, 4096) });
        return out;
      } finally {
        await d.close();
      }
    },
  };
}

const marker = Buffer.from(MARKER);
let fs: ReturnType<typeof plainExt4>;
const key = xtsKey();
let xts: Awaited<ReturnType<typeof volumeOf>>;
let identity: Awaited<ReturnType<typeof volumeOf>>;

beforeAll(async () => {
  fs = plainExt4();
  xts = await volumeOf(fs.image, 'xts.img', { key });
  identity = await volumeOf(fs.image, 'identity.img', { codec: IDENTITY });
}, 60_000);

describe('locating a file through the file system', () => {
  it('debugfs names sectors of the image that hold the file (one for hello.txt, two for tweak.bin)', () => {
    expect(fs.hello).toHaveLength(1);
    expect(fs.tweak).toHaveLength(2);
    expect(readImageSector(fs.image, fs.hello[0]!)).toEqual(helloBytes());
    expect(Buffer.concat(fs.tweak.map((s) => readImageSector(fs.image, s)))).toEqual(tweakBytes());
  });

  it('the device reads the file back at those sectors, with the cipher and with the identity', async () => {
    for (const v of [xts, identity]) expect((await v.views(fs.hello))[0]!.plaintext).toEqual(helloBytes());
  });
});

describe('each proof holds with XTS and fails with the identity cipher', () => {
  it('the sector on disk is ciphertext', async () => {
    const [good] = await xts.views(fs.hello);
    const [bad] = await identity.views(fs.hello);
    expect(proveSectorIsCiphertext(good!, marker)).toMatchObject({ holds: true });
    const failed = proveSectorIsCiphertext(bad!, marker);
    expect(failed.holds).toBe(false);
    expect(failed.detail).toMatch(/4096 of 4096 bytes equal the file's.*marker FOUND on disk/);
  });

  it('OpenSSL decrypts the on-disk sector to the file', async () => {
    const [good] = await xts.views(fs.hello);
    const [bad] = await identity.views(fs.hello);
    expect(proveIndependentDecryption(key, good!)).toMatchObject({ holds: true, detail: expect.stringMatching(/^4096 of 4096 bytes match/) });
    expect(proveIndependentDecryption(key, bad!).holds).toBe(false);
    // …and a wrong key fails it too: the match is the key's, not a coincidence of the format.
    expect(proveIndependentDecryption(xtsKey(), good!).holds).toBe(false);
  });

  it('the same plaintext in two sectors is two ciphertexts (the tweak)', async () => {
    const [a, b] = await xts.views(fs.tweak);
    const [c, d] = await identity.views(fs.tweak);
    expect(proveTweakSeparatesSectors(a!, b!)).toMatchObject({ holds: true });
    expect(proveTweakSeparatesSectors(c!, d!)).toMatchObject({ holds: false, detail: expect.stringMatching(/plaintexts identical; ciphertexts share 4096 of 4096/) });
  });

  it('the marker is nowhere in the whole image', () => {
    const good = proveAbsentFromImage(xts.image, [{ what: 'the marker', bytes: marker }]);
    const bad = proveAbsentFromImage(identity.image, [{ what: 'the marker', bytes: marker }]);
    expect(good.holds).toBe(true);
    expect(good.scan.bytesScanned).toBe(SIZE);
    expect(bad.holds).toBe(false);
    expect(bad.scan.hits[0]!.offset).toBe(fs.hello[0]! * 4096);
  });
});

describe('independent checks of the checkers', () => {
  it('OpenSSL and src/xts agree sector by sector (different code, same format)', () => {
    const c = createSectorCipher(key);
    for (const sector of [0, 1, 255, 256, 33280, 2 ** 40 + 3]) {
      const plain = randomBytes(4096);
      const enc = Buffer.from(plain);
      c.encrypt(enc, sector);
      expect(decryptSectorWithOpenssl(key, sector, enc)).toEqual(plain);
      expect(encryptSectorWithOpenssl(key, sector, plain)).toEqual(enc);
    }
    expect(() => encryptSectorWithOpenssl(key, 0, Buffer.alloc(512))).toThrow(/expected 4096 bytes/);
  });

  it('the image scan reads every byte and finds needles across 1 MiB chunk boundaries and next to holes', () => {
    const img = join(dir, 'scan.img');
    writeFileSync(img, '');
    execFileSync('truncate', ['-s', String(8 << 20), img]);
    const needle = Buffer.from('needle-0123456789');
    const at = [(1 << 20) - 5, (3 << 20) - needle.length, 5 << 20, (8 << 20) - needle.length];
    const fd = openSync(img, 'r+');
    for (const o of at) writeSync(fd, needle, 0, needle.length, o);
    closeSync(fd);
    const scan = scanImage(img, [needle, Buffer.from('absent')]);
    expect(scan.bytesScanned).toBe(8 << 20);
    expect(scan.hits).toEqual(at.map((offset) => ({ needle: 0, offset })));
    expect(scan.dataBlocks).toBe(5); // the first needle straddles two blocks
  });

  it('the key is found when it is written to a file (so "nowhere" means something)', () => {
    const files = [join(dir, 'a.db'), join(dir, 'b.log')];
    writeFileSync(files[0]!, randomBytes(10_000));
    writeFileSync(files[1]!, 'log\n');
    const needles = [{ what: 'K1', bytes: key.subarray(0, 32) }, { what: 'K2', bytes: key.subarray(32) }];
    expect(proveAbsentFromFiles(files, needles, 'no key').holds).toBe(true);
    appendFileSync(files[1]!, key.subarray(32));
    const found = proveAbsentFromFiles(files, needles, 'no key');
    expect(found).toMatchObject({ holds: false, detail: expect.stringContaining('K2 in') });
    expect(statSync(files[1]!).size).toBe(4 + 32);
    expect(readFileSync(files[1]!).subarray(4)).toEqual(key.subarray(32));
  });
});

