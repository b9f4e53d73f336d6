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

  it('a revoked grant is found out through ListGrants (EC2 for the caller): the detach attempts no RetireGrant on it; re-attaching creates a new one, the next detach retires it', () => {
    const ec2 = h.app.ec2();
    const kms = h.app.kms();
    const alice = h.app.as();
    const vol = ec2.createVolume(alice, { Size: 1, Encrypted: true }) as { VolumeId: string; KmsKeyId: string };
    const inst = ((ec2.runInstances(alice, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' }).Instances as { InstanceId: string }[])[0]!).InstanceId;
    ec2.attachVolume(alice, { VolumeId: vol.VolumeId, InstanceId: inst, Device: '/dev/sdf' });
    const first = ec2.volume(vol.VolumeId).grantId!;
    kms.call(alice, 'RevokeGrant', { KeyId: vol.KmsKeyId, GrantId: first });

    // The detach asks KMS whether the grant is live (it is not): no RetireGrant.
    const beforeDetach = allRecords(h.app.db).length;
    ec2.detachVolume(alice, { VolumeId: vol.VolumeId });
    const detach = recordsSince(beforeDetach);
    expect(detach.map((r) => r.eventName)).toEqual(['DetachVolume', 'ListGrants']);
    const [, list] = detach;
    expect(list!.userIdentity.invokedBy).toBe('AWS Internal');
    expect(list).toMatchObject({ readOnly: true, requestParameters: { keyId: vol.KmsKeyId, grantId: first } });
    expect(list!.errorCode).toBeUndefined();
    expect(list!.requestID).toBe(detach[0]!.requestID);
    expect(ec2.volume(vol.VolumeId).grantId).toBeNull();

    const before = allRecords(h.app.db).length;
    ec2.attachVolume(alice, { VolumeId: vol.VolumeId, InstanceId: inst, Device: '/dev/sdf' });
    const attach = recordsSince(before);
    expect(attach.map((r) => r.eventName)).toEqual(['CreateGrant', 'Decrypt', 'AttachVolume']);
    const second = ec2.volume(vol.VolumeId).grantId!;
    expect(second).not.toBe(first);

    // The next detach retires the live grant: asked, then retired, both as EC2 for Alice, after the DetachVolume record.
    const beforeSecond = allRecords(h.app.db).length;
    ec2.detachVolume(alice, { VolumeId: vol.VolumeId });
    const again = recordsSince(beforeSecond);
    expect(again.map((r) => r.eventName)).toEqual(['DetachVolume', 'ListGrants', 'RetireGrant']);
    expect(again[2]).toMatchObject({ userIdentity: { invokedBy: 'AWS Internal' }, requestParameters: null, additionalEventData: { grantId: second } });
    expect(again[2]!.errorCode).toBeUndefined();
    expect(kms.call(alice, 'ListGrants', { KeyId: vol.KmsKeyId }).Grants).toEqual([]);

    // Deleting a detached volume: no grant left, no KMS call.
    const beforeDelete = recordsSince(0).length;
    ec2.deleteVolume(alice, { VolumeId: vol.VolumeId });
    expect(recordsSince(beforeDelete).map((r) => r.eventName)).toEqual(['DeleteVolume']);
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
