// LookupEvents' ReadOnly: CloudTrail classes DescribeVolumes and other reads as read-only even
// where the record leaves readOnly out (EC2's, as AWS's EC2 records), and filters on it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, type TestHome } from '../helpers/home.js';
import { allRecords } from '../../src/trail/index.js';
import { readOnlyOf } from '../../src/trail/read-only.js';

let h: TestHome;
beforeAll(() => {
  h = makeHome('ebsim-h16-readonly-');
});
afterAll(() => h.cleanup());

type LookedUp = { Events: { EventName: string; ReadOnly: string }[] };

function lookup(attributes: { AttributeKey: string; AttributeValue: string }[]): LookedUp['Events'] {
  h.app.trail.flush();
  return (h.app.cloudtrail().call(h.app.as(), 'LookupEvents', { LookupAttributes: attributes, MaxResults: 50 }) as LookedUp).Events;
}

describe('ReadOnly in LookupEvents', () => {
  it('DescribeVolumes, DescribeInstances and GetEbsEncryptionByDefault are ReadOnly "true"; RunInstances "false"', () => {
    const ec2 = h.app.ec2();
    ec2.runInstances(h.app.as(), { ImageId: 'ami-0123abcd', InstanceType: 't3.micro', BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 1, Encrypted: true } }] });
    for (const op of ['DescribeVolumes', 'DescribeInstances', 'GetEbsEncryptionByDefault']) ec2.call(h.app.as(), op, {});
    h.app.trail.flush();
    // The records themselves stay as AWS's EC2 records are: no readOnly field.
    const describe = allRecords(h.app.db).find((r) => r.eventName === 'DescribeVolumes')!;
    expect('readOnly' in describe).toBe(false);
    for (const name of ['DescribeVolumes', 'DescribeInstances', 'GetEbsEncryptionByDefault']) {
      const events = lookup([{ AttributeKey: 'EventName', AttributeValue: name }]);
      expect(events.length, name).toBeGreaterThan(0);
      expect(events.map((e) => e.ReadOnly), name).toEqual(events.map(() => 'true'));
    }
    expect(lookup([{ AttributeKey: 'EventName', AttributeValue: 'RunInstances' }]).map((e) => e.ReadOnly)).toEqual(['false']);
  });

  it('LookupAttributes ReadOnly=true finds DescribeVolumes and no RunInstances; ReadOnly=false the reverse', () => {
    const reads = lookup([{ AttributeKey: 'ReadOnly', AttributeValue: 'true' }]).map((e) => e.EventName);
    const writes = lookup([{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }]).map((e) => e.EventName);
    expect(reads).toContain('DescribeVolumes');
    expect(reads).not.toContain('RunInstances');
    expect(writes).toContain('RunInstances');
    expect(writes).not.toContain('DescribeVolumes');
  });

  it('a record that says readOnly is taken at its word', () => {
    expect(readOnlyOf({ eventName: 'DescribeKey', readOnly: false })).toBe(false);
    expect(readOnlyOf({ eventName: 'Decrypt', readOnly: true })).toBe(true);
    expect(readOnlyOf({ eventName: 'Describer' })).toBe(false);
    expect(readOnlyOf({ eventName: 'RunInstances' })).toBe(false);
  });
});
