// EC2 talks to KMS only through the typed client: every question it asks (is the volume's grant
// still live?) is an authorized, recorded KMS call, never a read of KMS's stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeHome, type TestHome } from '../helpers/home.js';
import { allRecords, type TrailRecord } from '../../src/trail/index.js';

let h: TestHome;
beforeAll(() => {
  h = makeHome('ebsim-kms-client-');
});
afterAll(() => h.cleanup());

function recordsSince(seq: number): TrailRecord[] {
  h.app.trail.flush();
  return allRecords(h.app.db).slice(seq);
}

describe('EC2 over the KMS client', () => {
  it('src/ec2 imports from src/kms only the client, and only its types', () => {
    const dir = join(__dirname, '..', '..', 'src', 'ec2');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const imports = files.flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/^import (type )?.*from '(?:\.\.\/)+kms\/([^']+)'/gm)].map((m) => `${f}: ${m[1] ?? ''}${m[2]}`));
    expect(imports.sort()).toEqual(['ebs-keys.ts: type client.js', 'service.ts: type client.js']);
  });

  it('a revoked grant is found out through ListGrants (EC2 for the caller): re-attaching creates a new one, and no RetireGrant is attempted on it', () => {
    const ec2 = h.app.ec2();
    const kms = h.app.kms();
    const alice = h.app.as();
    const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true }) as { VolumeId: string; KmsKeyId: string };
    const inst = ((ec2.runInstances(alice, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!).InstanceId;
    ec2.attachVolume(alice, { VolumeId: vol.VolumeId, InstanceId: inst, Device: '/dev/sdf' });
    const first = ec2.volume(vol.VolumeId).grantId!;
    kms.call(alice, 'RevokeGrant', { KeyId: vol.KmsKeyId, GrantId: first });
    ec2.detachVolume(alice, { VolumeId: vol.VolumeId });

    const before = allRecords(h.app.db).length;
    ec2.attachVolume(alice, { VolumeId: vol.VolumeId, InstanceId: inst, Device: '/dev/sdf' });
    const attach = recordsSince(before);
    expect(attach.map((r) => r.eventName)).toEqual(['ListGrants', 'CreateGrant', 'Decrypt', 'AttachVolume']);
    const [list, grant] = attach;
    expect(list!.userIdentity.invokedBy).toBe('AWS Internal');
    expect(list).toMatchObject({ readOnly: true, requestParameters: { keyId: vol.KmsKeyId, grantId: first } });
    expect(list!.errorCode).toBeUndefined();
    expect(list!.requestID).toBe(grant!.requestID);
    const second = ec2.volume(vol.VolumeId).grantId!;
    expect(second).not.toBe(first);

    // Deleting retires the live grant: asked, then retired, both as EC2 for Alice.
    ec2.detachVolume(alice, { VolumeId: vol.VolumeId });
    const beforeDelete = allRecords(h.app.db).length;
    ec2.deleteVolume(alice, { VolumeId: vol.VolumeId });
    const del = recordsSince(beforeDelete);
    expect(del.map((r) => r.eventName)).toEqual(['ListGrants', 'RetireGrant', 'DeleteVolume']);
    expect(del[1]).toMatchObject({ userIdentity: { invokedBy: 'AWS Internal' } });
    expect(del[1]!.errorCode).toBeUndefined();
    expect(kms.call(alice, 'ListGrants', { KeyId: vol.KmsKeyId }).Grants).toEqual([]);
  });

  it('the host\'s decrypted data key is the bytes KMS returned, as a Buffer the caller can zero', () => {
    const ec2 = h.app.ec2();
    const alice = h.app.as();
    const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true }) as { VolumeId: string };
    const inst = ((ec2.runInstances(alice, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!).InstanceId;
    ec2.attachVolume(alice, { VolumeId: vol.VolumeId, InstanceId: inst, Device: '/dev/sdf' });
    const v = ec2.volume(vol.VolumeId);
    const key = ec2.decryptDataKey(v);
    expect(Buffer.isBuffer(key)).toBe(true);
    expect(key.length).toBe(64);
    const again = ec2.decryptDataKey(v);
    expect(again.equals(key)).toBe(true);
    key.fill(0);
    again.fill(0);
  });
});
