// The seed's flow end to end, for real: run-instances with an encrypted mapping, mount an ext4
// file system through the FUSE block device, and the denials when access is taken away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecipheriv, createHash } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, readSync, closeSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { main } from '../../src/cli/main.js';
import { openEbsim } from '../../src/app/ebsim.js';
import { allRecords } from '../../src/trail/index.js';
import { fuseSkipReason } from '../helpers/fuse.js';

const skip = fuseSkipReason();
let home: string;
const mounts: string[] = [];

async function ebsim(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, '--home', home], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n'), json: () => JSON.parse(out.join('\n')) as Record<string, any> };
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ebsim-flow-'));
  expect((await ebsim('init')).code).toBe(0);
});

afterAll(async () => {
  await ebsim('volume', 'cleanup');
  for (const v of mounts) await ebsim('volume', 'unmount', v).catch(() => {});
  const st = await ebsim('volume', 'status');
  rmSync(home, { recursive: true, force: true });
  expect(JSON.parse(st.stdout).Volumes.filter((v: { Healthy: boolean }) => v.Healthy)).toEqual([]);
});

describe.skipIf(skip)(`the seed's flow on a real mount${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let instanceId: string;
  let volumeId: string;

  it('run-instances with an encrypted /dev/sdb mapping leaves the seed\'s four records, in order', async () => {
    const r = await ebsim('ec2', 'run-instances', '--image-id', 'ami-b66ed3de', '--instance-type', 'm3.medium', '--block-device-mappings', '[{"DeviceName":"/dev/sdb","Ebs":{"VolumeSize":8,"DeleteOnTermination":false,"VolumeType":"gp2","Encrypted":true}}]');
    expect(r.code).toBe(0);
    const inst = r.json().Instances[0];
    instanceId = inst.InstanceId;
    expect(instanceId).toMatch(/^i-[0-9a-f]{17}$/);
    expect(inst.State.Name).toBe('running');
    volumeId = inst.BlockDeviceMappings.find((m: { DeviceName: string }) => m.DeviceName === '/dev/sdb').Ebs.VolumeId;
    expect(volumeId).toMatch(/^vol-[0-9a-f]{17}$/);
    const app = openEbsim(home);
    const recs = allRecords(app.db);
    app.close();
    expect(recs.map((x) => x.eventName)).toEqual(['RunInstances', 'GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt']);
    const [run, gen, grant, dec] = recs;
    expect(grant!.requestID).toBe(run!.requestID);
    expect(gen!.requestParameters).toEqual({ keyId: 'alias/aws/ebs', numberOfBytes: 64, encryptionContext: { 'aws:ebs:id': volumeId } });
    expect(grant!.requestParameters).toMatchObject({ granteePrincipal: `123456789012:aws:ec2-infrastructure:${instanceId}`, constraints: { encryptionContextSubset: { 'aws:ebs:id': volumeId } } });
    expect(dec!.userIdentity.arn).toBe(`arn:aws:sts::123456789012:assumed-role/aws:ec2-infrastructure/${instanceId}`);
    expect(new Set([gen, grant, dec].map((x) => x!.resources![0]!.ARN)).size).toBe(1);
  });

  it('mounts, keeps files across unmount and mount, and the mount decrypts as the instance role', async () => {
    const mnt = join(home, 'mnt');
    const m = await ebsim('volume', 'mount', volumeId, mnt);
    expect(m.code, m.stderr).toBe(0);
    mounts.push(volumeId);
    writeFileSync(join(mnt, 'a.txt'), 'ebsim marker MARKER-7d1f2 in a file\n'.repeat(100));
    execFileSync('dd', ['if=/dev/urandom', `of=${join(mnt, 'b.bin')}`, 'bs=1M', 'count=4', 'status=none']);
    const sums = [sha(join(mnt, 'a.txt')), sha(join(mnt, 'b.bin'))];
    expect((await ebsim('volume', 'unmount', volumeId)).code).toBe(0);
    expect(existsSync(join(mnt, 'a.txt'))).toBe(false);
    expect((await ebsim('volume', 'mount', volumeId, mnt)).code).toBe(0);
    expect([sha(join(mnt, 'a.txt')), sha(join(mnt, 'b.bin'))]).toEqual(sums);
    expect((await ebsim('volume', 'unmount', volumeId)).code).toBe(0);
    const app = openEbsim(home);
    const decrypts = allRecords(app.db).filter((x) => x.eventName === 'Decrypt');
    app.close();
    expect(decrypts).toHaveLength(3); // attach, and each mount: no plaintext key is ever stored
    // GNU grep skips the holes of the sparse 8 GiB image only when it reads it as binary (no -a:
    // with -a it reads 8 GiB of zeros, minutes on a busy machine); exit status 1 means "no match".
    const grep = spawnSync('grep', ['-c', 'MARKER-7d1f2', join(home, 'volumes', `${volumeId}.img`)]);
    expect(grep.status).toBe(1);
  }, 180_000); // two real mounts and unmounts: slow when the machine is busy, never timed here

  it('RevokeGrant: the mount is denied with AccessDeniedException; terminate + re-attach makes the same data readable', async () => {
    const app = openEbsim(home);
    const v = app.ec2().volume(volumeId);
    const keyArn = v.kmsKeyArn!;
    const grantId = v.grantId!;
    app.close();
    expect((await ebsim('kms', 'revoke-grant', '--key-id', keyArn, '--grant-id', grantId)).code).toBe(0);
    const denied = await ebsim('volume', 'mount', volumeId, join(home, 'mnt'));
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain('An error occurred (AccessDeniedException) when calling the Decrypt operation');
    // A new instance gets a new grant; the data is intact.
    expect((await ebsim('ec2', 'terminate-instances', '--instance-ids', instanceId)).code).toBe(0);
    const run = await ebsim('ec2', 'run-instances', '--image-id', 'ami-b66ed3de', '--instance-type', 'm3.medium');
    const newInstance = run.json().Instances[0].InstanceId;
    const m = await ebsim('volume', 'mount', volumeId, join(home, 'mnt'), '--instance', newInstance);
    expect(m.code, m.stderr).toBe(0);
    expect(readFileSync(join(home, 'mnt', 'a.txt'), 'utf8')).toContain('MARKER-7d1f2');
    expect((await ebsim('volume', 'unmount', volumeId)).code).toBe(0);
    // Terminating the new instance retires its grant (a RetireGrant record, EC2 for Alice).
    expect((await ebsim('ec2', 'terminate-instances', '--instance-ids', newInstance)).code).toBe(0);
    const appAfter = openEbsim(home);
    const retire = allRecords(appAfter.db).filter((x) => x.eventName === 'RetireGrant');
    appAfter.close();
    expect(retire).toHaveLength(1);
    expect(retire[0]!.userIdentity.invokedBy).toBe('AWS Internal');
  });

  it('a customer managed key: sectors on disk equal OpenSSL AES-256-XTS of the plaintext under the key Alice can decrypt', async () => {
    const key = (await ebsim('kms', 'create-key', '--description', 'volumes')).json().KeyMetadata;
    const vol = (await ebsim('ec2', 'create-volume', '--size', '1', '--encrypted', '--kms-key-id', key.KeyId)).json();
    const run = await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro');
    const inst = run.json().Instances[0].InstanceId;
    const payload = Buffer.alloc(8192);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const w = await ebsim('volume', 'write', vol.VolumeId, '--offset', String(3 * 4096), '--data', payload.toString('base64'), '--instance', inst);
    expect(w.code, w.stderr).toBe(0);
    const info = (await ebsim('volume', 'inspect', vol.VolumeId)).json();
    expect(info).toMatchObject({ SectorSize: 4096, KmsKeyId: key.Arn, EncryptionContext: { 'aws:ebs:id': vol.VolumeId } });
    // The auditor's path: Alice (the key's own account) decrypts the data key with ebsim kms decrypt.
    const dk = Buffer.from((await ebsim('kms', 'decrypt', '--ciphertext-blob', info.EncryptedDataKey, '--encryption-context', `aws:ebs:id=${vol.VolumeId}`)).json().Plaintext, 'base64');
    expect(dk.length).toBe(64);
    const fd = openSync(info.BackingImage, 'r');
    try {
      for (let s = 0; s < 2; s++) {
        const sector = Buffer.alloc(4096);
        readSync(fd, sector, 0, 4096, (3 + s) * 4096);
        const tweak = Buffer.alloc(16);
        tweak.writeBigUInt64LE(BigInt(3 + s));
        const d = createDecipheriv('aes-256-xts', dk, tweak);
        const plain = Buffer.concat([d.update(sector), d.final()]);
        expect(plain.equals(payload.subarray(s * 4096, (s + 1) * 4096))).toBe(true);
      }
    } finally {
      closeSync(fd);
    }
    const read = (await ebsim('volume', 'read', vol.VolumeId, '--offset', String(3 * 4096 + 100), '--length', '50')).json();
    expect(Buffer.from(read.Data, 'base64').equals(payload.subarray(100, 150))).toBe(true);
  });

  it('DisableKey: mount fails with DisabledException; EnableKey: it works again', async () => {
    const key = (await ebsim('kms', 'create-key')).json().KeyMetadata;
    const vol = (await ebsim('ec2', 'create-volume', '--size', '1', '--encrypted', '--kms-key-id', key.KeyId)).json();
    const inst = (await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro')).json().Instances[0].InstanceId;
    expect((await ebsim('ec2', 'attach-volume', '--volume-id', vol.VolumeId, '--instance-id', inst, '--device', '/dev/sdf')).code).toBe(0);
    await ebsim('kms', 'disable-key', '--key-id', key.KeyId);
    const denied = await ebsim('volume', 'read', vol.VolumeId, '--length', '16');
    expect(denied.code).toBe(254);
    expect(denied.stderr).toContain('(DisabledException) when calling the Decrypt operation');
    await ebsim('kms', 'enable-key', '--key-id', key.KeyId);
    expect((await ebsim('volume', 'read', vol.VolumeId, '--length', '16')).json().Data).toBe(Buffer.alloc(16).toString('base64'));
  });

  it('snapshots: copy-snapshot under another CMK re-encrypts the data with a new data key, and a volume from it has the same data', async () => {
    const inst = (await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro')).json().Instances[0].InstanceId;
    const vol = (await ebsim('ec2', 'create-volume', '--size', '1', '--encrypted')).json();
    await ebsim('volume', 'write', vol.VolumeId, '--offset', '5000', '--data', Buffer.from('snapshot me').toString('base64'), '--instance', inst);
    const snap = (await ebsim('ec2', 'create-snapshot', '--volume-id', vol.VolumeId)).json();
    const other = (await ebsim('kms', 'create-key')).json().KeyMetadata;
    const copy = (await ebsim('ec2', 'copy-snapshot', '--source-snapshot-id', snap.SnapshotId, '--encrypted', '--kms-key-id', other.KeyId)).json();
    const desc = (await ebsim('ec2', 'describe-snapshots', '--snapshot-ids', copy.SnapshotId)).json().Snapshots[0];
    expect(desc.KmsKeyId).toBe(other.Arn);
    const restored = (await ebsim('ec2', 'create-volume', '--snapshot-id', copy.SnapshotId)).json();
    expect(restored.KmsKeyId).toBe(other.Arn);
    const inst2 = (await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro')).json().Instances[0].InstanceId;
    const read = (await ebsim('volume', 'read', restored.VolumeId, '--offset', '5000', '--length', '11', '--instance', inst2)).json();
    expect(Buffer.from(read.Data, 'base64').toString()).toBe('snapshot me');
    const app = openEbsim(home);
    const generated = allRecords(app.db).filter((x) => x.eventName === 'GenerateDataKeyWithoutPlaintext').map((x) => (x.requestParameters as { encryptionContext: Record<string, string> }).encryptionContext['aws:ebs:id']);
    expect(generated).toContain(copy.SnapshotId);
    app.close();
  });

  it('errors in EC2 terms: unknown volume, deleting an attached volume', async () => {
    expect((await ebsim('ec2', 'describe-volumes', '--volume-ids', 'vol-00000000000000000')).stderr).toContain('(InvalidVolume.NotFound)');
    const inst = (await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro')).json().Instances[0];
    const root = inst.BlockDeviceMappings[0].Ebs.VolumeId;
    expect((await ebsim('ec2', 'delete-volume', '--volume-id', root)).stderr).toContain('(VolumeInUse)');
  });
});

describe('volume prefill (in-process device, no FUSE needed)', () => {
  it('fills every never-written sector with ciphertext of zeros, keeping written data, and reads stay the same', async () => {
    const vol = (await ebsim('ec2', 'create-volume', '--size', '1', '--encrypted')).json();
    const inst = (await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro')).json().Instances[0].InstanceId;
    await ebsim('volume', 'write', vol.VolumeId, '--offset', '4096', '--data', Buffer.from('keep me').toString('base64'), '--instance', inst);
    const p = await ebsim('volume', 'prefill', vol.VolumeId);
    expect(p.code, p.stderr).toBe(0);
    expect(p.json().SectorsFilled).toBe(262144 - 1);
    const image = join(home, 'volumes', `${vol.VolumeId}.img`);
    const fd = openSync(image, 'r');
    const zero = Buffer.alloc(4096);
    try {
      for (const sector of [0, 2, 1000, 262143]) {
        const b = Buffer.alloc(4096);
        readSync(fd, b, 0, 4096, sector * 4096);
        expect(b.equals(zero)).toBe(false);
      }
    } finally {
      closeSync(fd);
    }
    expect(Buffer.from((await ebsim('volume', 'read', vol.VolumeId, '--offset', '4096', '--length', '7')).json().Data, 'base64').toString()).toBe('keep me');
    expect((await ebsim('volume', 'read', vol.VolumeId, '--offset', String(500 * 4096), '--length', '16')).json().Data).toBe(zero.subarray(0, 16).toString('base64'));
  }, 120_000);
});

describe('fixes found in review', () => {
  it('the in-process device works on an unencrypted volume (the root volume of every instance)', async () => {
    const inst = (await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro')).json().Instances[0];
    const root = inst.BlockDeviceMappings[0].Ebs.VolumeId;
    const w = await ebsim('volume', 'write', root, '--offset', '10', '--data', Buffer.from('plain').toString('base64'));
    expect(w.code, w.stderr).toBe(0);
    expect(Buffer.from((await ebsim('volume', 'read', root, '--offset', '10', '--length', '5')).json().Data, 'base64').toString()).toBe('plain');
  });

  it('moving a volume to another instance retires the first instance\'s grant', async () => {
    const vol = (await ebsim('ec2', 'create-volume', '--size', '1', '--encrypted')).json();
    const a = (await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro')).json().Instances[0].InstanceId;
    const b = (await ebsim('ec2', 'run-instances', '--image-id', 'ami-0123abcd', '--instance-type', 't3.micro')).json().Instances[0].InstanceId;
    await ebsim('ec2', 'attach-volume', '--volume-id', vol.VolumeId, '--instance-id', a, '--device', '/dev/sdf');
    await ebsim('ec2', 'detach-volume', '--volume-id', vol.VolumeId);
    expect((await ebsim('ec2', 'attach-volume', '--volume-id', vol.VolumeId, '--instance-id', b, '--device', '/dev/sdf')).code).toBe(0);
    const grants = (await ebsim('kms', 'list-grants', '--key-id', vol.KmsKeyId)).json().Grants as { GranteePrincipal: string }[];
    const grantees = grants.map((g) => g.GranteePrincipal);
    expect(grantees).toContain(`123456789012:aws:ec2-infrastructure:${b}`);
    expect(grantees).not.toContain(`123456789012:aws:ec2-infrastructure:${a}`);
  });

  it('AWS\'s own roles cannot be assumed; DryRun is refused rather than run for real', async () => {
    expect((await ebsim('sts', 'assume-role', '--role-arn', 'arn:aws:iam::123456789012:role/aws:ec2-infrastructure', '--role-session-name', 'x1')).stderr).toContain('(AccessDenied)');
    const app = openEbsim(home);
    try {
      expect(() => app.kms().call(app.as(), 'GenerateRandom', { NumberOfBytes: 4, DryRun: true })).toThrow(/Unknown parameter 'DryRun'/);
    } finally {
      app.close();
    }
  });
});
