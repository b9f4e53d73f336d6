import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockDevice, SECTOR_SIZE } from '../../src/device/block-device.js';
import { DeviceIOError, InvalidRequestError, NoSpaceError } from '../../src/device/errors.js';
import { toErrno } from '../../src/device/errno.js';
import { opensslSector, prng, tempDir, xtsKey } from './helpers.js';
import { constants } from 'node:os';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const image = () => path.join(dir, `img-${n++}.raw`);

function open(size: number, key: Buffer | null = xtsKey()) {
  return BlockDevice.open({ imagePath: image(), sizeBytes: size, key });
}

describe('BlockDevice', () => {
  it('creates the image sparse at full size', async () => {
    const p = image();
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: 1 << 30, key: xtsKey() });
    const st = fs.statSync(p);
    expect(st.size).toBe(1 << 30);
    expect(st.blocks * 512).toBeLessThan(1 << 20);
    await dev.close();
  });

  it('reads never-written sectors as zeros (holes are not decrypted)', async () => {
    const dev = open(64 * SECTOR_SIZE);
    const buf = await dev.read(1000, 20 * SECTOR_SIZE);
    expect(buf.equals(Buffer.alloc(20 * SECTOR_SIZE))).toBe(true);
    expect(dev.stats.holesRead).toBeGreaterThan(0);
    await dev.write(5 * SECTOR_SIZE + 7, Buffer.from('hello'));
    const again = await dev.read(4 * SECTOR_SIZE, 3 * SECTOR_SIZE);
    const want = Buffer.alloc(3 * SECTOR_SIZE);
    want.write('hello', SECTOR_SIZE + 7);
    expect(again.equals(want)).toBe(true);
    await dev.close();
  });

  it('agrees with an in-memory model over thousands of random unaligned reads and writes', async () => {
    for (const key of [xtsKey(), null]) {
      const size = 96 * SECTOR_SIZE;
      const dev = open(size, key);
      const model = Buffer.alloc(size);
      const rnd = prng(key ? 1 : 2);
      const int = (m: number) => Math.floor(rnd() * m);
      for (let i = 0; i < 3000; i++) {
        const off = int(size);
        // Mostly small, sometimes crossing many sectors and the 128 KiB chunk boundary.
        const len = rnd() < 0.8 ? int(3 * SECTOR_SIZE) : int(size - off + 1);
        if (rnd() < 0.5) {
          const data = Buffer.alloc(Math.min(len, size - off));
          for (let j = 0; j < data.length; j += 97) data[j] = int(256);
          await dev.write(off, data);
          data.copy(model, off);
        } else {
          const got = await dev.read(off, len);
          expect(got.equals(model.subarray(off, Math.min(size, off + len)))).toBe(true);
        }
      }
      expect((await dev.read(0, size)).equals(model)).toBe(true);
      await dev.close();
    }
  });

  it('matches the model for arbitrary command sequences (fast-check)', async () => {
    const size = 16 * SECTOR_SIZE;
    const cmd = fc.record({
      write: fc.boolean(),
      off: fc.integer({ min: 0, max: size - 1 }),
      len: fc.integer({ min: 0, max: 3 * SECTOR_SIZE }),
      byte: fc.integer({ min: 0, max: 255 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { maxLength: 40 }), async (cmds) => {
        const dev = open(size);
        const model = Buffer.alloc(size);
        try {
          for (const c of cmds) {
            const len = Math.min(c.len, size - c.off);
            if (c.write) {
              await dev.write(c.off, Buffer.alloc(len, c.byte));
              model.fill(c.byte, c.off, c.off + len);
            } else {
              expect((await dev.read(c.off, len)).equals(model.subarray(c.off, c.off + len))).toBe(true);
            }
          }
          expect((await dev.read(0, size)).equals(model)).toBe(true);
        } finally {
          await dev.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it.each(['sync', 'async'] as const)('never tears a sector under concurrent overlapping reads and writes (%s I/O)', async (io) => {
    const size = 32 * SECTOR_SIZE;
    const dev = BlockDevice.open({ imagePath: image(), sizeBytes: size, key: xtsKey(), io });
    const model = Buffer.alloc(size);
    const rnd = prng(7);
    const int = (m: number) => Math.floor(rnd() * m);
    for (let round = 0; round < 20; round++) {
      const pending: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) {
        const off = int(size);
        const len = Math.min(size - off, 1 + int(6 * SECTOR_SIZE));
        if (rnd() < 0.6) {
          const data = Buffer.alloc(len, int(256));
          pending.push(dev.write(off, data).then(() => undefined));
          data.copy(model, off); // issue order is the serialization order for overlaps
        } else {
          const expected = Buffer.from(model.subarray(off, off + len));
          pending.push(dev.read(off, len).then((got) => void expect(got.equals(expected)).toBe(true)));
        }
      }
      await Promise.all(pending);
    }
    expect((await dev.read(0, size)).equals(model)).toBe(true);
    await dev.close();
  });

  it('stores every sector as node:crypto aes-256-xts of its plaintext (tweak = sector number)', async () => {
    const key = xtsKey();
    const p = image();
    const size = 40 * SECTOR_SIZE;
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: size, key });
    const plain = Buffer.alloc(size);
    const rnd = prng(3);
    for (let i = 0; i < 50; i++) {
      const off = Math.floor(rnd() * size);
      const data = Buffer.alloc(Math.min(size - off, Math.floor(rnd() * 9000)), Math.floor(rnd() * 256));
      await dev.write(off, data);
      data.copy(plain, off);
    }
    await dev.close();
    const disk = fs.readFileSync(p);
    let written = 0;
    for (let s = 0; s < size / SECTOR_SIZE; s++) {
      const onDisk = disk.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
      if (onDisk.equals(Buffer.alloc(SECTOR_SIZE))) {
        expect(plain.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE).equals(Buffer.alloc(SECTOR_SIZE))).toBe(true);
        continue;
      }
      written++;
      expect(onDisk.equals(opensslSector(key, s, plain.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE)))).toBe(true);
    }
    expect(written).toBeGreaterThan(10);
  });

  it('keeps data across close and reopen with the same key', async () => {
    const key = xtsKey();
    const p = image();
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: 8 * SECTOR_SIZE, key });
    await dev.write(100, Buffer.from('persistent'));
    await dev.flush();
    await dev.close();
    const again = BlockDevice.open({ imagePath: p, sizeBytes: 8 * SECTOR_SIZE, key, create: false });
    expect((await again.read(100, 10)).toString()).toBe('persistent');
    await again.close();
  });

  it('refuses writes past the end with NoSpaceError (ENOSPC) and reads short at the end', async () => {
    const dev = open(4 * SECTOR_SIZE);
    await expect(dev.write(4 * SECTOR_SIZE - 2, Buffer.alloc(3))).rejects.toBeInstanceOf(NoSpaceError);
    await expect(dev.write(4 * SECTOR_SIZE, Buffer.alloc(1))).rejects.toBeInstanceOf(NoSpaceError);
    expect((await dev.read(4 * SECTOR_SIZE - 2, 10)).length).toBe(2);
    expect((await dev.read(4 * SECTOR_SIZE, 10)).length).toBe(0);
    await expect(dev.read(-1, 1)).rejects.toBeInstanceOf(InvalidRequestError);
    await dev.close();
  });

  it('turns a short read of the backing image into DeviceIOError (EIO)', async () => {
    const p = image();
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: 8 * SECTOR_SIZE, key: xtsKey() });
    fs.truncateSync(p, 2 * SECTOR_SIZE);
    await expect(dev.read(3 * SECTOR_SIZE, 10)).rejects.toBeInstanceOf(DeviceIOError);
    await expect(dev.write(5 * SECTOR_SIZE + 1, Buffer.alloc(10))).rejects.toBeInstanceOf(DeviceIOError);
    await dev.close();
  });

  it('maps errors to negative errnos in one place', () => {
    expect(toErrno(new NoSpaceError('x'))).toBe(-constants.errno.ENOSPC);
    expect(toErrno(new DeviceIOError('x'))).toBe(-constants.errno.EIO);
    expect(toErrno(new InvalidRequestError('x', 'EPERM'))).toBe(-constants.errno.EPERM);
    expect(toErrno(new Error('bug'))).toBe(-constants.errno.EIO);
  });
});

describe('BlockDevice scratch writes', () => {
  it('encrypt aligned writes in the caller buffer and still match the model', async () => {
    const key = xtsKey();
    const size = 64 * SECTOR_SIZE;
    const dev = BlockDevice.open({ imagePath: path.join(dir, 'scratch.raw'), sizeBytes: size, key });
    const model = Buffer.alloc(size);
    const rnd = prng(9);
    for (let i = 0; i < 300; i++) {
      const aligned = rnd() < 0.5;
      const off = aligned ? Math.floor(rnd() * 60) * SECTOR_SIZE : Math.floor(rnd() * (size - 9000));
      const len = aligned ? (1 + Math.floor(rnd() * 4)) * SECTOR_SIZE : Math.floor(rnd() * 9000);
      const data = Buffer.alloc(len, Math.floor(rnd() * 256));
      data.copy(model, off);
      await dev.write(off, data, { scratch: true });
    }
    expect((await dev.read(0, size)).equals(model)).toBe(true);
    await dev.close();
    const disk = fs.readFileSync(path.join(dir, 'scratch.raw'));
    for (let s = 0; s < 64; s++) {
      const c = disk.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
      if (!c.equals(Buffer.alloc(SECTOR_SIZE))) expect(opensslSector(key, s, c, true).equals(model.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE))).toBe(true);
    }
  });
});
