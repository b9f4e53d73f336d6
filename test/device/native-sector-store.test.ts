// The native sector store (src/device/native-sector-store.ts over readDecrypt/encryptWrite in
// native/src/ebsim_sector_io.c) under BlockDevice, and the fallback to the JS store.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { BlockDevice, SECTOR_SIZE } from '../../src/device/block-device.js';
import { DeviceIOError, NoSpaceError } from '../../src/device/errors.js';
import { NativeSectorStore } from '../../src/device/native-sector-store.js';
import { currentXtsPath, useXtsPath, xtsPaths } from '../../src/xts/native.js';
import { opensslSector, prng, tempDir, xtsKey } from './helpers.js';

// These tests follow writes through libuv's pool and the mapping: only writes up to 16 KiB inline
// (the default inlines every write FUSE sends).
// The pool above 16 KiB, and reads of any size through the mapping: the paths the defaults
// (1 MiB inline, preadv2 above 16 KiB) leave to uncached requests, followed on purpose.
const POOL_ABOVE_16K = { inlineWriteMaxBytes: 16 * 1024, inlineReadMaxBytes: 16 * 1024, mapReadMaxBytes: Number.MAX_SAFE_INTEGER };

/** Odd `i`: a write whose source must stay as it was; even: a scratch write (encrypted in place). */
async function writeEitherWay(dev: BlockDevice, i: number, offset: number, data: Buffer): Promise<void> {
  if (i % 2) {
    const copy = Buffer.from(data);
    await dev.write(offset, data);
    expect(data.equals(copy)).toBe(true);
  } else {
    await dev.write(offset, data, { scratch: true });
  }
}

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const image = () => path.join(dir, `nio-${n++}.raw`);
const hasNative = NativeSectorStore.available(xtsKey());
const savedEngine = process.env.EBSIM_XTS_ENGINE;
afterEach(() => {
  if (savedEngine === undefined) delete process.env.EBSIM_XTS_ENGINE;
  else process.env.EBSIM_XTS_ENGINE = savedEngine;
});

const sector = (b: Buffer, s: number) => b.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);

describe.skipIf(!hasNative)('BlockDevice over the native sector store', () => {
  // Every code path of the addon this CPU has (AES-NI; VAES on 256- and 512-bit registers), each
  // also with the streaming stores of writes through the mapping.
  const initialPath = currentXtsPath();
  for (const xtsPath of xtsPaths()) it(`is on by default with the native engine, writes what OpenSSL writes, and leaves the source of a non-scratch write alone (XTS path ${xtsPath})`, async () => {
    useXtsPath(xtsPath);
    onTestFinished(() => void (initialPath && useXtsPath(initialPath)));
    const mappedBefore = NativeSectorStore.mappedIO().writes;
    const key = xtsKey();
    const p = image();
    const size = 200 * SECTOR_SIZE;
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: size, key, tuning: POOL_ABOVE_16K });
    expect(dev.nativeIO).toBe(true);
    const plain = Buffer.alloc(size);
    const rnd = prng(11);
    // Aligned writes of 1..80 sectors (crossing the 128 KiB chunk), both modes.
    for (let i = 0; i < 40; i++) {
      const s = Math.floor(rnd() * 190);
      const count = 1 + Math.floor(rnd() * Math.min(80, 200 - s - 1));
      const data = Buffer.alloc(count * SECTOR_SIZE);
      for (let j = 0; j < data.length; j += 61) data[j] = 1 + Math.floor(rnd() * 255);
      data.copy(plain, s * SECTOR_SIZE);
      await writeEitherWay(dev, i, s * SECTOR_SIZE, data);
    }
    expect((await dev.read(0, size)).equals(plain)).toBe(true);
    await dev.close();
    const disk = fs.readFileSync(p);
    let written = 0;
    for (let s = 0; s < size / SECTOR_SIZE; s++) {
      if (sector(disk, s).equals(Buffer.alloc(SECTOR_SIZE))) {
        expect(sector(plain, s).equals(Buffer.alloc(SECTOR_SIZE))).toBe(true);
        continue;
      }
      written++;
      expect(sector(disk, s).equals(opensslSector(key, s, sector(plain, s)))).toBe(true);
    }
    expect(written).toBeGreaterThan(50);
    expect(NativeSectorStore.mappedIO().writes).toBeGreaterThan(mappedBefore); // overwrites of cached sectors
  });

  it('reads never-written sectors between written ones as zeros and counts them as holes', async () => {
    const key = xtsKey();
    const dev = BlockDevice.open({ imagePath: image(), sizeBytes: 64 * SECTOR_SIZE, key });
    const want = Buffer.alloc(48 * SECTOR_SIZE);
    for (const s of [1, 2, 7, 40, 47]) {
      const data = Buffer.alloc(SECTOR_SIZE, s);
      await dev.write(s * SECTOR_SIZE, data);
      data.copy(want, s * SECTOR_SIZE);
    }
    const buf = Buffer.alloc(48 * SECTOR_SIZE, 0xee); // the target's old contents must not leak
    expect(await dev.readInto(0, buf)).toBe(buf.length);
    expect(buf.equals(want)).toBe(true);
    expect(dev.stats.holesRead).toBe(43);
    await dev.close();
  });

  it('never tears a sector under concurrent overlapping whole-sector reads and writes', async () => {
    const key = xtsKey();
    const size = 96 * SECTOR_SIZE;
    const dev = BlockDevice.open({ imagePath: image(), sizeBytes: size, key });
    const rnd = prng(12);
    // Issue order is lock order (FIFO): the model applies writes as issued and snapshots what each
    // read must see at the moment it is issued.
    const model = Buffer.alloc(size);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) {
      const s = Math.floor(rnd() * 90);
      const count = 1 + Math.floor(rnd() * Math.min(40, 96 - s - 1));
      if (rnd() < 0.5) {
        const data = Buffer.alloc(count * SECTOR_SIZE, 1 + (i % 255));
        data.copy(model, s * SECTOR_SIZE);
        pending.push(dev.write(s * SECTOR_SIZE, data, { scratch: rnd() < 0.5 }).then(() => {}));
      } else {
        const expected = Buffer.from(model.subarray(s * SECTOR_SIZE, (s + count) * SECTOR_SIZE));
        pending.push(
          dev.read(s * SECTOR_SIZE, count * SECTOR_SIZE).then((got) => {
            for (let k = 0; k < count; k++) {
              const sec = sector(got, k);
              expect(sec.equals(Buffer.alloc(SECTOR_SIZE, sec[0]!))).toBe(true); // not torn
            }
            expect(got.equals(expected)).toBe(true);
          }),
        );
      }
    }
    await Promise.all(pending);
    expect((await dev.read(0, size)).equals(model)).toBe(true);
    await dev.close();
  });

  it('reports a short backing image as DeviceIOError on the native path', async () => {
    const p = image();
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: 8 * SECTOR_SIZE, key: xtsKey() });
    fs.truncateSync(p, 2 * SECTOR_SIZE);
    await expect(dev.read(3 * SECTOR_SIZE, SECTOR_SIZE)).rejects.toBeInstanceOf(DeviceIOError);
    await dev.close();
  });

  it('reads through a shared mapping of the image that sees every write, and equals the pread path', async () => {
    const key = xtsKey();
    const p = image();
    const size = 300 * SECTOR_SIZE;
    const mapped = BlockDevice.open({ imagePath: p, sizeBytes: size, key, tuning: POOL_ABOVE_16K });
    expect(mapped.codecName).toContain('shared mapping');
    const unmapped = BlockDevice.open({ imagePath: p, sizeBytes: size, key, create: false, tuning: { mapImage: false } });
    expect(unmapped.nativeIO).toBe(true);
    expect(unmapped.codecName).not.toContain('mapping');
    const rnd = prng(14);
    const plain = Buffer.alloc(size);
    const before = NativeSectorStore.mappedIO();
    for (let i = 0; i < 60; i++) {
      // Writes through either device (pwrite on its own fd), then reads of every shape through
      // both: the mapping is the page cache, so it sees the other fd's writes at once.
      const s = Math.floor(rnd() * 280);
      const data = Buffer.alloc((1 + Math.floor(rnd() * 19)) * SECTOR_SIZE, 1 + (i % 250));
      data.copy(plain, s * SECTOR_SIZE);
      await (i % 2 ? mapped : unmapped).write(s * SECTOR_SIZE, data);
      const off = Math.floor(rnd() * (size - 1));
      const len = Math.min(size - off, 1 + Math.floor(rnd() * 300 * 1024));
      const aligned = Math.floor(off / SECTOR_SIZE) * SECTOR_SIZE;
      for (const [o, l] of [[off, len], [aligned, Math.min(size - aligned, 64 * SECTOR_SIZE)]] as const) {
        const want = plain.subarray(o, o + l);
        expect((await mapped.read(o, l)).equals(want)).toBe(true);
        expect((await unmapped.read(o, l)).equals(want)).toBe(true);
      }
    }
    expect((await mapped.read(0, size)).equals(plain)).toBe(true);
    // Sectors in the page cache went through the mapping both ways (first writes into holes,
    // not yet cached, through pwrite), and nothing faulted.
    const after = NativeSectorStore.mappedIO();
    expect(after.reads - before.reads).toBeGreaterThan(20);
    expect(after.writes - before.writes).toBeGreaterThan(5);
    expect(after.faults).toBe(before.faults);
    await Promise.all([mapped.close(), unmapped.close()]);
  });

  it('survives SIGBUS on the mapping (the image shrank under it): each read fails with the errno from pread, on every pool thread', async () => {
    const p = image();
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: 16 * SECTOR_SIZE, key: xtsKey(), tuning: POOL_ABOVE_16K });
    expect(dev.codecName).toContain('shared mapping');
    await dev.write(0, Buffer.alloc(16 * SECTOR_SIZE, 9));
    fs.truncateSync(p, 4 * SECTOR_SIZE);
    // Without the residency check the reads touch the mapping past the new end: SIGBUS, caught
    // by whichever pool thread faulted, then pread reports the short read. Three times as many
    // faults as pool threads, so that each thread is likely to take several.
    const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const before = NativeSectorStore.mappedIO();
    NativeSectorStore.setMapResidencyCheck(false);
    try {
      // All in flight at once, each with its expectation attached from the start.
      // 32 KiB reads: above the 16 KiB inline limit asked for, so they go to the pool (small ones: next test).
      await Promise.all(Array.from({ length: 3 * threads }, () => expect(dev.read(8 * SECTOR_SIZE, 8 * SECTOR_SIZE)).rejects.toThrow(/short read/)));
    } finally {
      NativeSectorStore.setMapResidencyCheck(true);
    }
    expect(NativeSectorStore.mappedIO().faults - before.faults).toBe(3 * threads);
    // What is still there reads fine.
    expect((await dev.read(0, 4 * SECTOR_SIZE)).equals(Buffer.alloc(4 * SECTOR_SIZE, 9))).toBe(true);
    await dev.close();
  });

  it('serves small reads of cached sectors at once on the JS thread, and leaves the rest (not cached, faulting) to the pool', async () => {
    const key = xtsKey();
    const p = image();
    const sectors = 64;
    const plain = Buffer.alloc(sectors * SECTOR_SIZE);
    const rnd = prng(21);
    for (let i = 0; i < 40 * SECTOR_SIZE; i++) plain[i] = Math.floor(rnd() * 256);
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: sectors * SECTOR_SIZE, key });
    await dev.write(0, plain.subarray(0, 40 * SECTOR_SIZE)); // sectors 40.. stay holes
    await dev.close();

    const fd = fs.openSync(p, 'r+'); // for changes under the stores
    onTestFinished(() => fs.closeSync(fd));
    const inline = { key, inlineReadMaxBytes: 16 * 1024 };
    const unmapped = NativeSectorStore.open(p, sectors, { ...inline, mapImage: false })!;
    onTestFinished(() => unmapped.close());
    const buf = Buffer.alloc(4 * SECTOR_SIZE);
    // No mapping: served with preadv2 RWF_NOWAIT (the page cache only), decrypted in place.
    const nowait = NativeSectorStore.mappedIO().nowaitReads;
    expect(unmapped.readCached(0, 4, buf)).toBe(0);
    expect(buf.equals(plain.subarray(0, 4 * SECTOR_SIZE))).toBe(true);
    expect(NativeSectorStore.mappedIO().nowaitReads).toBe(nowait + 1);
    const nio = NativeSectorStore.open(p, sectors, { ...inline, mapImage: true })!;
    expect(nio.mapped).toBe(true);
    onTestFinished(() => nio.close());
    const before = NativeSectorStore.mappedIO();
    // Written sectors are in the page cache: served synchronously, decrypted, no hole counted.
    for (const s of [0, 3, 17, 36]) {
      buf.fill(0xee);
      expect(nio.readCached(s, 4, buf)).toBe(0);
      expect(buf.equals(plain.subarray(s * SECTOR_SIZE, (s + 4) * SECTOR_SIZE))).toBe(true);
    }
    expect(NativeSectorStore.mappedIO().reads - before.reads).toBe(4);
    // Holes never read are not in the page cache: not served (the caller queues the read).
    expect(nio.readCached(48, 4, buf)).toBe(-1);
    expect(await nio.readSectors(48, 4, buf)).toBe(4);
    // Zeros written over them put them in the page cache on any file system (a read of a hole
    // does not on tmpfs); all-zero sectors still read as zeros, counted as holes.
    fs.writeSync(fd, Buffer.alloc(4 * SECTOR_SIZE), 0, 4 * SECTOR_SIZE, 48 * SECTOR_SIZE);
    buf.fill(0xee);
    expect(nio.readCached(48, 4, buf)).toBe(4);
    expect(buf.equals(Buffer.alloc(4 * SECTOR_SIZE))).toBe(true);
    // A fault on the JS thread (the image shrank under the mapping, residency check off) is
    // caught there too: not served, counted, and the process lives on.
    fs.ftruncateSync(fd, 8 * SECTOR_SIZE);
    const faultsBefore = NativeSectorStore.mappedIO().faults;
    NativeSectorStore.setMapResidencyCheck(false);
    try {
      expect(nio.readCached(16, 4, buf)).toBe(-1);
    } finally {
      NativeSectorStore.setMapResidencyCheck(true);
    }
    expect(NativeSectorStore.mappedIO().faults).toBe(faultsBefore + 1);
    await expect(nio.readSectors(16, 4, buf)).rejects.toThrow(/short read/);
  });

  it('serves small aligned reads of cached sectors inline through BlockDevice, larger or uncached ones on the pool', async () => {
    const dev = BlockDevice.open({ imagePath: image(), sizeBytes: 32 * SECTOR_SIZE, key: xtsKey(), tuning: POOL_ABOVE_16K });
    const data = Buffer.alloc(4 * SECTOR_SIZE);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    expect((await dev.read(16 * SECTOR_SIZE, 4 * SECTOR_SIZE)).equals(Buffer.alloc(4 * SECTOR_SIZE))).toBe(true); // holes, not cached
    expect(dev.stats.inlineReads).toBe(0);
    await dev.write(0, data);
    expect((await dev.read(0, 4 * SECTOR_SIZE)).equals(data)).toBe(true);
    expect(dev.stats.inlineReads).toBe(1);
    expect((await dev.read(0, 8 * SECTOR_SIZE)).equals(Buffer.concat([data, Buffer.alloc(4 * SECTOR_SIZE)]))).toBe(true); // 32 KiB: pool
    expect((await dev.read(100, 4096)).equals(data.subarray(100, 4196))).toBe(true); // unaligned: chunked path
    expect(dev.stats.inlineReads).toBe(1);
    await dev.close();
  });

  it('serves cached reads above 16 KiB (up to 1 MiB by default) inline with preadv2 RWF_NOWAIT, not the mapping; uncached ones on the pool', async () => {
    const key = xtsKey();
    const p = image();
    const sectors = 512; // 2 MiB
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: sectors * SECTOR_SIZE, key });
    expect(dev.codecName).toContain('shared mapping');
    const plain = Buffer.alloc(256 * SECTOR_SIZE);
    const rnd = prng(31);
    for (let i = 0; i < plain.length; i += 7) plain[i] = Math.floor(rnd() * 256);
    plain.fill(0, 8 * SECTOR_SIZE, 12 * SECTOR_SIZE);
    await dev.write(0, plain);
    const fd = fs.openSync(p, 'r+'); // all-zero ciphertext: sectors the reader counts as holes
    fs.writeSync(fd, Buffer.alloc(4 * SECTOR_SIZE), 0, 4 * SECTOR_SIZE, 8 * SECTOR_SIZE);
    fs.closeSync(fd);
    const before = NativeSectorStore.mappedIO();
    // 1 MiB and 32 KiB, cached: at once, decrypted as OpenSSL would, holes counted.
    const holesBefore = dev.stats.holesRead;
    expect((await dev.read(0, 256 * SECTOR_SIZE)).equals(plain)).toBe(true);
    expect((await dev.read(4 * SECTOR_SIZE, 8 * SECTOR_SIZE)).equals(plain.subarray(4 * SECTOR_SIZE, 12 * SECTOR_SIZE))).toBe(true);
    expect(dev.stats.holesRead - holesBefore).toBe(8);
    const mid = NativeSectorStore.mappedIO();
    expect(mid.nowaitReads - before.nowaitReads).toBe(2);
    expect(mid.reads).toBe(before.reads); // not through the mapping
    expect(dev.stats.inlineReads).toBe(2);
    // Outside a FUSE read, or without the preload's hook (this process has none), nothing is deferred.
    expect(mid.deferredReads).toBe(before.deferredReads);
    const store = dev.store as NativeSectorStore;
    const buf = Buffer.alloc(64 * SECTOR_SIZE, 0xee);
    expect(store.readCached(100, 64, buf, true)).toBe(0);
    expect(buf.equals(plain.subarray(100 * SECTOR_SIZE, 164 * SECTOR_SIZE))).toBe(true);
    expect(NativeSectorStore.mappedIO().deferredReads).toBe(before.deferredReads);
    // Never written: zeros, counted as holes (served at once or not: reading a hole needs no disk).
    const holesMid = dev.stats.holesRead;
    expect((await dev.read(300 * SECTOR_SIZE, 64 * SECTOR_SIZE)).equals(Buffer.alloc(64 * SECTOR_SIZE))).toBe(true);
    expect(dev.stats.holesRead - holesMid).toBe(64);
    // What preadv2 cannot give whole is not served (-1): the pool redoes it and names the error.
    fs.truncateSync(p, 280 * SECTOR_SIZE);
    expect(store.readCached(256, 64, buf)).toBe(-1);
    await expect(store.readSectors(256, 64, buf)).rejects.toThrow(/short read/);
    await dev.close();
  });

  // A full file system under a sparse image: a small tmpfs. With the residency check (the
  // default) writes into holes go through pwrite and get ENOSPC; without it they fault on the
  // mapping (SIGBUS, not an errno) and the fallback pwrite gets ENOSPC. Needs root for mount;
  // .ci/run runs as root.
  for (const check of [true, false]) {
    it.skipIf(process.getuid?.() !== 0)(`a full file system under the image: NoSpaceError, data written before intact (residency check ${check ? 'on' : 'off: via SIGBUS'})`, async () => {
      const fsDir = tempDir('ebsim-full-');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'ebsim-test-full', fsDir]);
      let dev: BlockDevice | undefined;
      const before = NativeSectorStore.mappedIO();
      NativeSectorStore.setMapResidencyCheck(check);
      try {
        const size = 256 * SECTOR_SIZE; // a sparse 1 MiB image on 256 KiB
        dev = BlockDevice.open({ imagePath: path.join(fsDir, 'full.img'), sizeBytes: size, key: xtsKey(), tuning: POOL_ABOVE_16K });
        expect(dev.codecName).toContain('shared mapping');
        const written: number[] = [];
        let refused = 0;
        for (let s = 0; s < 256; s += 8) {
          const data = Buffer.alloc(8 * SECTOR_SIZE, 1 + (s % 250));
          try {
            await dev.write(s * SECTOR_SIZE, data, { scratch: s % 16 === 0 });
            written.push(s);
          } catch (err) {
            expect(err).toBeInstanceOf(NoSpaceError);
            refused++;
          }
        }
        expect(refused).toBeGreaterThan(0);
        expect(written.length).toBeGreaterThan(4); // 256 KiB holds 8 such writes
        const faults = NativeSectorStore.mappedIO().faults - before.faults;
        if (check) expect(faults).toBe(0);
        else expect(faults).toBeGreaterThanOrEqual(refused);
        NativeSectorStore.setMapResidencyCheck(true);
        for (const s of written) expect((await dev.read(s * SECTOR_SIZE, 8 * SECTOR_SIZE)).equals(Buffer.alloc(8 * SECTOR_SIZE, 1 + (s % 250)))).toBe(true);
      } finally {
        NativeSectorStore.setMapResidencyCheck(true);
        await dev?.close().catch(() => {});
        execFileSync('umount', ['-l', fsDir]);
        fs.rmSync(fsDir, { recursive: true, force: true });
      }
    });
  }

  it('pass-through stays on the JS path by default, runs natively with native: true and stores plaintext', async () => {
    const plainDefault = BlockDevice.open({ imagePath: image(), sizeBytes: 8 * SECTOR_SIZE, key: null });
    expect(plainDefault.nativeIO).toBe(false);
    await plainDefault.close();
    const p = image();
    // Small writes go through the pool here (none inline), so that the mapping's part shows.
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: 8 * SECTOR_SIZE, key: null, native: true, tuning: { inlineWriteMaxBytes: 0 } });
    expect(dev.nativeIO).toBe(true);
    await dev.write(SECTOR_SIZE, Buffer.alloc(2 * SECTOR_SIZE, 0x11), { scratch: true }); // into holes: pwrite
    const before = NativeSectorStore.mappedIO();
    const data = Buffer.alloc(2 * SECTOR_SIZE);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    await dev.write(SECTOR_SIZE, Buffer.from(data), { scratch: true }); // cached now: through the mapping
    expect(NativeSectorStore.mappedIO().writes).toBe(before.writes + 1);
    expect((await dev.read(0, 4 * SECTOR_SIZE)).equals(Buffer.concat([Buffer.alloc(SECTOR_SIZE), data, Buffer.alloc(SECTOR_SIZE)]))).toBe(true);
    expect(dev.stats.inlineWrites).toBe(0);
    await dev.close();
    expect(fs.readFileSync(p).subarray(SECTOR_SIZE, 3 * SECTOR_SIZE).equals(data)).toBe(true);
  });

  it('does small writes at once on the calling thread (encrypt + pwrite, not the mapping), scratch or not, as OpenSSL writes them', async () => {
    const key = xtsKey();
    const p = image();
    const size = 64 * SECTOR_SIZE;
    const dev = BlockDevice.open({ imagePath: p, sizeBytes: size, key, tuning: { inlineWriteMaxBytes: 4 * SECTOR_SIZE } });
    const plain = Buffer.alloc(size);
    const rnd = prng(23);
    const fill = (n: number) => {
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j++) b[j] = Math.floor(rnd() * 256);
      return b;
    };
    await dev.write(0, fill(size)).then(() => dev.read(0, size)).then((b) => b.copy(plain)); // every page cached and mapped
    const mappedBefore = NativeSectorStore.mappedIO().writes;
    let small = 0;
    for (let i = 0; i < 60; i++) {
      const count = 1 + Math.floor(rnd() * 4); // 1..4 sectors: at or under the limit
      const s = Math.floor(rnd() * (64 - count));
      const data = fill(count * SECTOR_SIZE);
      data.copy(plain, s * SECTOR_SIZE);
      const inlineBefore = dev.stats.inlineWrites;
      await writeEitherWay(dev, i, s * SECTOR_SIZE, data);
      expect(dev.stats.inlineWrites).toBe(inlineBefore + 1);
      small++;
    }
    expect(NativeSectorStore.mappedIO().writes).toBe(mappedBefore);
    // Over the limit: through the pool (and the mapping, the pages being cached).
    const big = fill(5 * SECTOR_SIZE);
    big.copy(plain, 10 * SECTOR_SIZE);
    await dev.write(10 * SECTOR_SIZE, big, { scratch: true });
    expect(dev.stats.inlineWrites).toBe(small);
    expect(NativeSectorStore.mappedIO().writes).toBe(mappedBefore + 1);
    expect((await dev.read(0, size)).equals(plain)).toBe(true);
    await dev.close();
    const disk = fs.readFileSync(p);
    for (let s = 0; s < 64; s++) expect(sector(disk, s).equals(opensslSector(key, s, sector(plain, s)))).toBe(true);
  });
});

describe('BlockDevice over the JS sector store', () => {
  it('is used with EBSIM_XTS_ENGINE=node and writes the same on-disk format the native path reads', async () => {
    const key = xtsKey();
    const p = image();
    const size = 80 * SECTOR_SIZE;
    process.env.EBSIM_XTS_ENGINE = 'node';
    const js = BlockDevice.open({ imagePath: p, sizeBytes: size, key });
    expect(js.nativeIO).toBe(false);
    expect(js.codecName).toBe('xts:node');
    const plain = Buffer.alloc(size);
    const rnd = prng(13);
    for (let i = 0; i < 30; i++) {
      const s = Math.floor(rnd() * 70);
      const data = Buffer.alloc((1 + Math.floor(rnd() * 9)) * SECTOR_SIZE + (i % 3 === 0 ? 100 : 0), 1 + Math.floor(rnd() * 255));
      data.copy(plain, s * SECTOR_SIZE);
      await js.write(s * SECTOR_SIZE, data, { scratch: i % 2 === 0 });
    }
    expect((await js.read(0, size)).equals(plain)).toBe(true);
    await js.close();
    const disk = fs.readFileSync(p);
    for (let s = 0; s < size / SECTOR_SIZE; s++)
      if (!sector(disk, s).equals(Buffer.alloc(SECTOR_SIZE))) expect(sector(disk, s).equals(opensslSector(key, s, sector(plain, s)))).toBe(true);
    delete process.env.EBSIM_XTS_ENGINE;
    const other = BlockDevice.open({ imagePath: p, sizeBytes: size, key, create: false });
    expect(other.nativeIO).toBe(NativeSectorStore.available(key));
    expect((await other.read(0, size)).equals(plain)).toBe(true);
    await other.close();
  });

  it('is used with native: false', async () => {
    const dev = BlockDevice.open({ imagePath: image(), sizeBytes: 8 * SECTOR_SIZE, key: xtsKey(), native: false });
    expect(dev.nativeIO).toBe(false);
    await dev.write(0, Buffer.alloc(2 * SECTOR_SIZE, 3), { scratch: true });
    expect((await dev.read(0, 2 * SECTOR_SIZE)).equals(Buffer.alloc(2 * SECTOR_SIZE, 3))).toBe(true);
    await dev.close();
  });
});
