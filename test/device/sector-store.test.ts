// The two sector stores under BlockDevice: the JS one (pread/pwrite + src/xts) and the native one
// (the addon's threaded I/O, with and without the shared mapping) write the same bytes, read each
// other's images, carry BlockDevice's partial-sector writes, and fail clearly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { BlockDevice, createSparseImage } from '../../src/device/block-device.js';
import { DeviceClosedError, InvalidRequestError } from '../../src/device/errors.js';
import { JsSectorStore, type SectorCodec } from '../../src/device/js-sector-store.js';
import { NativeSectorStore } from '../../src/device/native-sector-store.js';
import { SECTOR_SIZE, type SectorStore } from '../../src/device/sector-store.js';
import { createSectorCipher } from '../../src/xts/index.js';
import { opensslSector, prng, tempDir, xtsKey } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const SECTORS = 96;
const hasNative = NativeSectorStore.available(xtsKey());

function image(): string {
  const p = path.join(dir, `store-${n++}.raw`);
  createSparseImage(p, SECTORS * SECTOR_SIZE);
  return p;
}

/** The node:crypto engine, so that the JS store shares no code with the native one. */
function nodeCodec(key: Buffer): SectorCodec {
  const c = createSectorCipher(key, { engine: 'node' });
  return { name: 'xts:node', encrypt: (d, s) => c.encrypt(d, s), decrypt: (d, s) => c.decrypt(d, s) };
}

type Kind = 'js' | 'js async' | 'native' | 'native unmapped';
const KINDS: Kind[] = ['js', 'js async', ...(hasNative ? (['native', 'native unmapped'] as const) : [])];

function openStore(kind: Kind, p: string, key: Buffer | null): SectorStore {
  if (kind.startsWith('js')) return new JsSectorStore(p, SECTORS, { codec: key && nodeCodec(key), io: kind === 'js async' ? 'async' : 'sync' });
  const store = NativeSectorStore.open(p, SECTORS, { key, mapImage: kind === 'native', inlineReadMaxBytes: 16 * 1024 });
  if (!store) throw new Error('native store not available');
  expect(store.mapped).toBe(kind === 'native');
  return store;
}

/** Whole-sector writes of 1..40 sectors at random places (some past the 128 KiB chunk), twice over some. */
function writePlan(seed: number): { first: number; data: Buffer }[] {
  const rnd = prng(seed);
  return Array.from({ length: 40 }, () => {
    const first = Math.floor(rnd() * (SECTORS - 1));
    const count = 1 + Math.floor(rnd() * Math.min(40, SECTORS - first - 1));
    const data = Buffer.alloc(count * SECTOR_SIZE);
    for (let i = 0; i < data.length; i += 7) data[i] = Math.floor(rnd() * 256);
    return { first, data };
  });
}

async function applyPlan(store: SectorStore, plan: { first: number; data: Buffer }[], model: Buffer): Promise<void> {
  for (const [i, { first, data }] of plan.entries()) {
    const copy = Buffer.from(data);
    // Every other write with a separate work buffer (data must stay as it was), else in place.
    if (i % 2) {
      await store.writeSectors(first, copy, Buffer.alloc(copy.length));
      expect(copy.equals(data)).toBe(true);
    } else {
      await store.writeSectors(first, copy, copy);
    }
    data.copy(model, first * SECTOR_SIZE);
  }
}

const sectorOf = (b: Buffer, s: number) => b.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
const ZERO = Buffer.alloc(SECTOR_SIZE);

describe('sector stores', () => {
  for (const encrypted of [true, false]) {
    it(`write byte-identical images for the same writes and read each other's (${encrypted ? 'XTS' : 'pass-through'}: ${KINDS.join(', ')})`, async () => {
      const key = encrypted ? xtsKey() : null;
      const plan = writePlan(encrypted ? 31 : 32);
      const images = new Map<Kind, string>();
      const model = Buffer.alloc(SECTORS * SECTOR_SIZE);
      for (const kind of KINDS) {
        const p = image();
        const store = openStore(kind, p, key);
        expect(store.encrypted).toBe(encrypted);
        model.fill(0);
        await applyPlan(store, plan, model);
        await store.close();
        images.set(kind, p);
      }
      const disk = fs.readFileSync(images.get('js')!);
      let written = 0;
      for (let s = 0; s < SECTORS; s++) {
        if (sectorOf(model, s).equals(ZERO) && sectorOf(disk, s).equals(ZERO)) continue;
        written++;
        // What OpenSSL writes for the sector, independently of both stores.
        expect(sectorOf(disk, s).equals(key ? opensslSector(key, s, sectorOf(model, s)) : sectorOf(model, s))).toBe(true);
      }
      expect(written).toBeGreaterThan(SECTORS / 2);
      for (const kind of KINDS) expect(fs.readFileSync(images.get(kind)!).equals(disk), `${kind} image`).toBe(true);
      // Each store reads every other store's image (its own included): plaintext, holes as zeros.
      const holes = [...Array(SECTORS).keys()].filter((s) => sectorOf(disk, s).equals(ZERO)).length;
      for (const reader of KINDS) {
        for (const writer of KINDS) {
          const store = openStore(reader, images.get(writer)!, key);
          const out = Buffer.alloc(SECTORS * SECTOR_SIZE, 0xee);
          const h = await store.readSectors(0, SECTORS, out);
          expect(out.equals(model), `${reader} reading ${writer}'s image`).toBe(true);
          if (encrypted) expect(h).toBe(holes);
          await store.close();
        }
      }
    });
  }

  for (const kind of KINDS) {
    it(`carries BlockDevice's partial-sector writes (read-modify-write) and reads (${kind})`, async () => {
      const key = xtsKey();
      const p = image();
      const dev = new BlockDevice(openStore(kind, p, key));
      expect(dev.size).toBe(SECTORS * SECTOR_SIZE);
      const model = Buffer.alloc(dev.size);
      const rnd = prng(40 + KINDS.indexOf(kind));
      for (let i = 0; i < 300; i++) {
        const off = Math.floor(rnd() * dev.size);
        // Mostly inside a sector or across one boundary; sometimes across the 128 KiB chunk.
        const len = Math.min(dev.size - off, 1 + Math.floor(rnd() * (rnd() < 0.8 ? 2 * SECTOR_SIZE : 200 * 1024)));
        if (rnd() < 0.6) {
          const data = Buffer.alloc(len, 1 + (i % 255));
          await dev.write(off, data, { scratch: rnd() < 0.3 });
          data.copy(model, off);
        } else {
          expect((await dev.read(off, len)).equals(model.subarray(off, off + len))).toBe(true);
        }
      }
      expect(dev.stats.readModifyWrites).toBeGreaterThan(50);
      expect((await dev.read(0, dev.size)).equals(model)).toBe(true);
      await dev.close();
      // On disk: what OpenSSL makes of the model, sector by sector.
      const disk = fs.readFileSync(p);
      for (let s = 0; s < SECTORS; s++)
        if (!sectorOf(disk, s).equals(ZERO)) expect(sectorOf(disk, s).equals(opensslSector(key, s, sectorOf(model, s)))).toBe(true);
    });

    it(`refuses reads and writes past the end, partial sectors, short buffers, and use after close, with clear errors (${kind})`, async () => {
      const store = openStore(kind, image(), xtsKey());
      onTestFinished(() => store.close());
      const buf = Buffer.alloc(4 * SECTOR_SIZE);
      await expect(store.readSectors(SECTORS - 2, 4, buf)).rejects.toThrow(InvalidRequestError);
      await expect(store.readSectors(SECTORS - 2, 4, buf)).rejects.toThrow(`read of sectors ${SECTORS - 2}..${SECTORS + 1} passes the end of the ${SECTORS}-sector store`);
      await expect(store.writeSectors(SECTORS - 1, buf)).rejects.toThrow(`write of sectors ${SECTORS - 1}..${SECTORS + 2} passes the end of the ${SECTORS}-sector store`);
      await expect(store.readSectors(-1, 1, buf)).rejects.toThrow(/expected non-negative integers/);
      await expect(store.writeSectors(0, Buffer.alloc(100))).rejects.toThrow('write of 100 bytes: not a whole number of 4096-byte sectors');
      await expect(store.readSectors(0, 5, buf)).rejects.toThrow(`read of 5 sectors needs ${5 * SECTOR_SIZE} bytes, got a buffer of ${buf.length}`);
      await expect(store.writeSectors(0, buf, Buffer.alloc(SECTOR_SIZE))).rejects.toThrow(`work: expected ${buf.length} bytes`);
      // Nothing above reached the image.
      expect(await store.readSectors(0, 4, buf)).toBe(4);
      await store.writeSectors(0, Buffer.alloc(SECTOR_SIZE, 1));
      await store.close();
      const closed = /^the sector store of .*store-\d+\.raw is closed$/;
      await expect(store.readSectors(0, 1, buf)).rejects.toThrow(DeviceClosedError);
      await expect(store.readSectors(0, 1, buf)).rejects.toThrow(closed);
      await expect(store.writeSectors(0, buf)).rejects.toThrow(closed);
      await expect(store.flush()).rejects.toThrow(closed);
      await store.close(); // again: a no-op
    });
  }

  it('a BlockDevice over a closed store fails its requests with DeviceClosedError', async () => {
    const store = openStore('js', image(), xtsKey());
    const dev = new BlockDevice(store);
    await dev.write(10, Buffer.from('x'));
    await store.close();
    await expect(dev.read(0, 10)).rejects.toBeInstanceOf(DeviceClosedError);
    await dev.close();
    await expect(dev.read(0, 10)).rejects.toThrow('the block device is closed');
  });
});
