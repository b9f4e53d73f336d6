// ebsim volume verify: OpenSSL's decryption of the written sectors, straight from the image,
// against ebsim's decryption (or against a file read through a real mount). It holds with XTS and
// fails when the device stores sectors as they are (the identity cipher): OpenSSL then turns the
// plaintext on disk into noise.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockDevice, type SectorCodec } from '../../src/device/index.js';
import { compareWrittenSectors, imageReport } from '../../src/cli/volume-verify.js';
import { tempDir, xtsKey } from '../device/helpers.js';
import { makeHome, type TestHome } from '../helpers/home.js';
import { ebsimIn } from '../helpers/cli.js';
import { describeRealMount, realMountHome } from '../device/real-mount.js';

const IDENTITY: SectorCodec = { name: 'identity (test only)', encrypt: () => {}, decrypt: () => {} };
const SIZE = 64 << 20;

async function deviceWith(dir: string, name: string, opts: { key?: Uint8Array; codec?: SectorCodec }) {
  const imagePath = path.join(dir, name);
  const dev = BlockDevice.open({ imagePath, sizeBytes: SIZE, key: opts.key ?? null, codec: opts.codec, create: true });
  await dev.write(4096 * 7 + 100, Buffer.from('verify me: '.repeat(500)));
  await dev.write(SIZE - 4096, Buffer.alloc(4096, 0x5a));
  await dev.flush();
  return { dev, imagePath };
}

describe('the image check', () => {
  let base: string;
  beforeAll(() => {
    base = tempDir('ebsim-h16-verify-');
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it('every written sector matches, and every one differs from its plaintext on disk', async () => {
    const key = xtsKey();
    const { dev, imagePath } = await deviceWith(base, 'xts.img', { key });
    const report = imageReport('vol-test');
    await compareWrittenSectors(dev, imagePath, SIZE, key, report);
    await dev.close();
    expect(report.Verified).toBe(true);
    expect(report.SectorsChecked).toBeGreaterThanOrEqual(3);
    expect(report.SectorsChecked).toBeLessThan(16); // holes skipped
    expect(report.MatchingBytes).toBe(report.BytesCompared);
    expect(report.SectorsUnlikeTheirPlaintext).toBe(report.SectorsChecked);
  });

  it('a block of zeros the image holds as data (a file system block wider than a sector, an explicit write) is a never-written sector, as the device reads it: not a mismatch', async () => {
    const key = xtsKey();
    const { dev, imagePath } = await deviceWith(base, 'zero-block.img', { key });
    const fd = fs.openSync(imagePath, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, 4096 * 20);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const report = imageReport('vol-test');
    await compareWrittenSectors(dev, imagePath, SIZE, key, report);
    await dev.close();
    expect(report.MatchingBytes).toBe(report.BytesCompared);
    expect(report.Verified).toBe(true);
    expect(report.SectorsChecked).toBe(3);
  });

  it('fails under the identity cipher: OpenSSL decrypts the plaintext on disk into noise', async () => {
    const { dev, imagePath } = await deviceWith(base, 'identity.img', { codec: IDENTITY });
    const report = imageReport('vol-test');
    await compareWrittenSectors(dev, imagePath, SIZE, xtsKey(), report);
    await dev.close();
    expect(report.Verified).toBe(false);
    expect(report.SectorsUnlikeTheirPlaintext).toBe(0);
    expect(report.MatchingBytes).toBeLessThan(report.BytesCompared / 100);
    expect(report.FirstMismatchAt).toBe(4096 * 7);
  });

  it('fails with another key (the check uses the key it is given, not the device\'s)', async () => {
    const { dev, imagePath } = await deviceWith(base, 'xts2.img', { key: xtsKey() });
    const report = imageReport('vol-test');
    await compareWrittenSectors(dev, imagePath, SIZE, xtsKey(), report);
    await dev.close();
    expect(report.Verified).toBe(false);
  });
});

describe('ebsim volume verify VOLUME-ID (in-process device, no mount)', { timeout: 120_000 }, () => {
  let h: TestHome;
  let volumeId = '';
  beforeAll(async () => {
    h = makeHome('ebsim-h16-verify-cli-');
    const alice = h.app.as('Alice');
    const run = h.app.ec2().runInstances(alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true } }] });
    const inst = (run.Instances as Record<string, any>[])[0]!;
    volumeId = (inst.BlockDeviceMappings as { DeviceName: string; Ebs: { VolumeId: string } }[]).find((m) => m.DeviceName === '/dev/sdb')!.Ebs.VolumeId;
    await h.app.host().write(() => alice, volumeId, 123_456, Buffer.from('some bytes to check'));
    h.app.close();
  });
  afterAll(() => h?.cleanup());

  it('reports matching bytes for every written sector and exits 0', async () => {
    const r = await ebsimIn(h.dir, ['volume', 'verify', volumeId]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ VolumeId: volumeId, Verified: true, SectorsChecked: 1, BytesCompared: 4096, MatchingBytes: 4096, SectorsUnlikeTheirPlaintext: 1 });
  });

  it('--file on a volume that is not mounted: a clear error', async () => {
    const r = await ebsimIn(h.dir, ['volume', 'verify', volumeId, '--file', '/tmp/x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not mounted: --file names a file on the mounted volume/);
  });
});

describeRealMount('ebsim volume verify --file on a real mount', () => {
  const s = realMountHome('ebsim-h16-verify-mount-');

  it("locates the file's sectors with filefrag and every byte decrypts to the file", async () => {
    const run = s.home.app.ec2().runInstances(s.alice, { ImageId: 'ami-12345678', InstanceType: 't3.micro' });
    const instanceId = (run.Instances as { InstanceId: string }[])[0]!.InstanceId;
    const volumeId = s.home.app.ec2().createVolume(s.alice, { Size: 1, Encrypted: true }).VolumeId as string;
    const mnt = path.join(s.home.dir, 'mnt');
    await s.home.app.host().mount(s.alice, { volumeId, instanceId, mountpoint: mnt, format: 'ext4' });
    const file = path.join(mnt, 'notes.txt');
    fs.writeFileSync(file, 'a file to verify, longer than one sector. '.repeat(250));
    const r = await ebsimIn(s.home.dir, ['volume', 'verify', volumeId, '--file', file]);
    expect(r.code, r.stderr).toBe(0);
    const size = fs.statSync(file).size;
    expect(r.json()).toMatchObject({ File: file, Verified: true, SectorsChecked: 3, BytesCompared: size, MatchingBytes: size, SectorsUnlikeTheirPlaintext: 3 });
    expect(r.json().SectorsLocatedBy).toMatch(/^filefrag -v /);
    const outside = await ebsimIn(s.home.dir, ['volume', 'verify', volumeId, '--file', '/etc/hostname']);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/is not on vol-/);
    await s.home.app.host().unmount(volumeId);
  }, 180_000);
});
