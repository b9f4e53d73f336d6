// IAM/STS in the domain: which roles a caller may assume.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';

let h: TestHome;
let alice: CallContext;

const sessionKeys = () => (h.app.db.prepare('SELECT count(*) AS n FROM access_keys WHERE session_name IS NOT NULL').get() as { n: number }).n;

beforeAll(() => {
  h = makeHome();
  alice = h.app.as('Alice');
  h.app.iam.createRole(alice, 'R1');
});
afterAll(() => h.cleanup());

describe('AssumeRole', () => {
  it("another account's role is refused with AccessDenied, even when this account has a role of that name", () => {
    const before = sessionKeys();
    expect(() => h.app.iam.assumeRole(alice, 'arn:aws:iam::999999999999:role/R1', 's1')).toThrow(
      'User: arn:aws:iam::123456789012:user/Alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::999999999999:role/R1',
    );
    expect(sessionKeys()).toBe(before);
    h.app.trail.flush();
    const rec = JSON.parse((h.app.db.prepare("SELECT record FROM trail_events WHERE event_name = 'AssumeRole' ORDER BY seq DESC LIMIT 1").get() as { record: string }).record);
    expect(rec).toMatchObject({ errorCode: 'AccessDenied', requestParameters: { roleArn: 'arn:aws:iam::999999999999:role/R1' } });
  });

  it('an ARN that is not a role (a user, another partition, another service) is refused the same way', () => {
    for (const arn of ['arn:aws:iam::123456789012:user/Alice', 'arn:aws-cn:iam::123456789012:role/R1', 'arn:aws:sts::123456789012:role/R1', 'arn:aws:iam::123456789012:role/']) {
      expect(errorCode(() => h.app.iam.assumeRole(alice, arn, 's1')), arn).toBe('AccessDenied');
    }
  });

  it("this account's role, by ARN or by name, is assumed as before", () => {
    for (const r of ['arn:aws:iam::123456789012:role/R1', 'R1']) {
      expect(h.app.iam.assumeRole(alice, r, 's2').AssumedRoleUser.Arn).toBe('arn:aws:sts::123456789012:assumed-role/R1/s2');
    }
  });
});
