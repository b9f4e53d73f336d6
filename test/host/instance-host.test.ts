// The instance's host over a real home (SQLite, KMS, the trail): the data key decrypted as the
// instance's role, attachment at a free device name, in-process access under the writer lock,
// and the mount table used without the database.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { allRecords } from '../../src/trail/index.js';
import { freeDeviceName, InstanceHost, type DataKeyDecrypter } from '../../src/host/index.js';
import { kmsClient } from '../../src/kms/client.js';
import { VolumeBusyError, VolumeNotMountedError } from '../../src/device/errors.js';
import type { CallContext } from '../../src/core/call-context.js';

let home: TestHome;
let alice: CallContext;

beforeAll(() => {
  home = makeHome('ebsim-host-');
  alice = home.app.as('Alice');
});
afterAll(() => home.cleanup());

/** A running instance with one encrypted 1 GiB data volume at /dev/sdb. */
function launch(encrypted = true): { instanceId: string; volumeId: string } {
  const run = home.app.ec2().runInstances(alice, {
    ImageId: 'ami-12345678',
    InstanceType: 't3.micro',
    BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: encrypted } }],
  });
  const inst = (run.Instances as Record<string, any>[])[0]!;
  const volumeId = (inst.BlockDeviceMappings as { DeviceName: string; Ebs: { VolumeId: string } }[]).find((m) => m.DeviceName === '/dev/sdb')!.Ebs.VolumeId;
  return { instanceId: inst.InstanceId as string, volumeId };
}

/** `length` bytes of a file at `offset`, without reading a 1 GiB image whole. */
function readAt(file: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    fs.readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

function lastRecord() {
  home.app.trail.flush();
  return allRecords(home.app.db).at(-1)!;
}

/** A host over the home's control plane whose decrypter counts the calls it passes on to KMS. */
function countingHost(): { host: InstanceHost; decrypts: () => number } {
  let n = 0;
  const app = home.app;
  const host = new InstanceHost(app.paths.run, () => {
    const kms = kmsClient(app.kms());
    const keys: DataKeyDecrypter = {
      decrypt(ctx, input) {
        n++;
        return kms.decrypt(ctx, input);
      },
    };
    return { ec2: app.ec2(), iam: app.iam, keys };
  }, app.paths.dir);
  return { host, decrypts: () => n };
}

describe('the data key', () => {
  it('is decrypted by KMS as the instance\'s role, from the instance\'s address, with the volume\'s context', () => {
    const { instanceId, volumeId } = launch();
    const host = home.app.host();
    const key = host.dataKey(host.volume(volumeId))!;
    expect(key).toBeInstanceOf(Uint8Array);
    expect(key.length).toBe(64);
    expect(key.some((b) => b !== 0)).toBe(true);
    key.fill(0);

    const r = lastRecord();
    expect(r.eventName).toBe('Decrypt');
    expect(r.errorCode).toBeUndefined();
    expect(r.userIdentity.type).toBe('AssumedRole');
    expect(r.userIdentity.arn).toBe(`arn:aws:sts::123456789012:assumed-role/aws:ec2-infrastructure/${instanceId}`);
    expect(r.sourceIPAddress).toMatch(/^172\.31\.\d+\.\d+$/);
    expect(r.sourceIPAddress).toBe(host.callContext(instanceId).sourceIPAddress);
    expect(r.userAgent).toBeUndefined();
    expect(r.requestParameters).toEqual(expect.objectContaining({ encryptionContext: { 'aws:ebs:id': volumeId } }));
  });

  it('is the same key every time, and the same one EC2\'s attachment decrypted', () => {
    const { volumeId } = launch();
    const host = home.app.host();
    const a = Buffer.from(host.dataKey(host.volume(volumeId))!);
    const b = Buffer.from(host.dataKey(host.volume(volumeId))!);
    expect(a.equals(b)).toBe(true);
  });

  it('is refused once the grant is revoked (AccessDeniedException, recorded), and absent for an unencrypted volume', () => {
    const { volumeId } = launch();
    const host = home.app.host();
    const v = host.volume(volumeId);
    home.app.kms().call(alice, 'RevokeGrant', { KeyId: v.kmsKeyArn!, GrantId: v.grantId! });
    expect(errorCode(() => host.dataKey(host.volume(volumeId)))).toBe('AccessDeniedException');
    expect(lastRecord()).toEqual(expect.objectContaining({ eventName: 'Decrypt', errorCode: 'AccessDeniedException' }));

    const plain = launch(false);
    const before = allRecords(home.app.db).length;
    expect(host.dataKey(host.volume(plain.volumeId))).toBeNull();
    home.app.trail.flush();
    expect(allRecords(home.app.db).length).toBe(before);
  });

  it('needs an instance: a detached volume is refused with IncorrectState before KMS is asked', () => {
    const { host, decrypts } = countingHost();
    const volumeId = home.app.ec2().createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    expect(errorCode(() => host.dataKey(host.volume(volumeId)))).toBe('IncorrectState');
    expect(decrypts()).toBe(0);
  });
});

describe('attachment', () => {
  it('attaches at the instance\'s first free device name, and refuses a volume of another instance', () => {
    const { instanceId } = launch();
    const host = home.app.host();
    const ec2 = home.app.ec2();
    const v1 = ec2.createVolume(alice, { Size: 1, Encrypted: true }).VolumeId as string;
    const v2 = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
    expect(host.attach(alice, v1, instanceId).device).toBe('/dev/sdf');
    expect(host.attach(() => alice, v2, instanceId).device).toBe('/dev/sdg');
    expect(host.attach(alice, v1).instanceId).toBe(instanceId); // attached already: nothing to do

    const other = launch();
    expect(() => host.attach(alice, v1, other.instanceId)).toThrow(`${v1} is attached to ${instanceId}, not ${other.instanceId}`);
    const loose = ec2.createVolume(alice, { Size: 1 }).VolumeId as string;
    expect(() => host.attach(alice, loose)).toThrow(/is not attached to an instance: pass --instance/);
  });

  it('asks who calls even when the volume is attached already (it must be theirs), once, and attaches nothing then', () => {
    const { volumeId } = launch();
    home.app.trail.flush();
    const before = allRecords(home.app.db).filter((r) => r.eventName === 'AttachVolume').length;
    let asked = 0;
    home.app.host().attach(() => (asked++, alice), volumeId);
    expect(asked).toBe(1);
    home.app.trail.flush();
    expect(allRecords(home.app.db).filter((r) => r.eventName === 'AttachVolume').length).toBe(before);
  });

  it('hands out device names in order, skipping taken ones, and none when all are taken', () => {
    expect(freeDeviceName([])).toBe('/dev/sdf');
    expect(freeDeviceName(['/dev/sdf', null, '/dev/sdh'])).toBe('/dev/sdg');
    expect(freeDeviceName('fghijklmnop'.split('').map((c) => `/dev/sd${c}`))).toBeNull();
  });
});

describe('in-process access', () => {
  it('writes and reads back through the cipher; the image holds only ciphertext; export gives the plaintext', async () => {
    const { volumeId } = launch();
    const host = home.app.host();
    const text = Buffer.from('written by the host, in process');
    expect(await host.write(alice, volumeId, 123_457, text)).toBe(text.length);
    expect((await host.read(alice, volumeId, 123_457, text.length)).equals(text)).toBe(true);
    const sectors = readAt(host.imagePath(volumeId), 4096 * 30, 4096 * 2); // the two sectors written
    expect(sectors.some((b) => b !== 0)).toBe(true);
    expect(sectors.includes(text.subarray(0, 8))).toBe(false);

    const outDir = fs.mkdtempSync(path.join(tmpdir(), 'ebsim-host-export-')); // outside the home: inside it is refused
    const out = path.join(outDir, 'export.img');
    try {
      await host.export(alice, volumeId, out);
      expect(fs.statSync(out).size).toBe(1024 ** 3);
      expect(readAt(out, 123_457, text.length).equals(text)).toBe(true);
      expect(readAt(out, 0, 123_457).every((b) => b === 0)).toBe(true);
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('takes the image\'s writer lock before the data key: a second user is refused without a Decrypt', async () => {
    const { volumeId } = launch();
    const { host, decrypts } = countingHost();
    let refusal: unknown;
    await host.withDevice(alice, volumeId, undefined, async () => {
      expect(decrypts()).toBe(1);
      try {
        await host.read(alice, volumeId, 0, 16);
      } catch (err) {
        refusal = err;
      }
    });
    expect(refusal).toBeInstanceOf(VolumeBusyError);
    expect((refusal as Error).message).toMatch(new RegExp(`${volumeId} is in use by another process \\(this one\\)`));
    expect(decrypts()).toBe(1);
    expect((await host.read(alice, volumeId, 0, 16)).length).toBe(16); // released after the first
  });

  it('prefills every never-written sector with ciphertext, keeping what was written', async () => {
    const { volumeId } = launch();
    const host = home.app.host();
    await host.write(alice, volumeId, 4096 * 10, Buffer.from('kept'));
    const { sectorsFilled } = await host.prefill(alice, volumeId);
    expect(sectorsFilled).toBe(1024 ** 3 / 4096 - 1);
    expect(fs.statSync(host.imagePath(volumeId)).blocks * 512).toBeGreaterThanOrEqual(1024 ** 3);
    expect((await host.read(alice, volumeId, 4096 * 10, 4)).toString()).toBe('kept');
    expect((await host.read(alice, volumeId, 0, 4096)).every((b) => b === 0)).toBe(true);
  }, 120_000);

  it('serves an unencrypted volume as plain sectors, with no KMS call', async () => {
    const { volumeId } = launch(false);
    const { host, decrypts } = countingHost();
    await host.write(alice, volumeId, 8192, Buffer.from('plain'));
    expect(readAt(host.imagePath(volumeId), 8192, 5).toString()).toBe('plain');
    expect(decrypts()).toBe(0);
  });
});

describe('the mount table without the database', () => {
  it('status, cleanup and unmount work on the state directory alone', async () => {
    const run = path.join(home.dir, 'run-only');
    const host = new InstanceHost(run, () => {
      throw new Error('the control plane was opened');
    }, home.dir);
    expect(await host.status({ cleanup: true })).toEqual({ volumes: [], cleanedUp: [] });
    expect(await host.cleanup()).toEqual([]);
    await expect(host.unmount('vol-0123456789abcdef0')).rejects.toBeInstanceOf(VolumeNotMountedError);
  });
});
