// AssumeRole's session policy and duration: stored by the session's access key, bounded by the role.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../../src/core/call-context.js';
import { errorCode, makeHome, type TestHome } from '../../helpers/home.js';
import { lastRecord } from '../trail.js';

let h: TestHome;
let alice: CallContext;
const session = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] });
const assume = (params: Record<string, unknown>) => h.app.iam.callSts(alice, 'AssumeRole', { RoleArn: 'arn:aws:iam::123456789012:role/App', RoleSessionName: 's1', ...params }) as Record<string, any>;

beforeAll(() => {
  h = makeHome();
  alice = h.app.as('Alice');
  h.app.iam.createRole(alice, 'App');
});
afterAll(() => h.cleanup());

describe('AssumeRole --policy, --duration-seconds', () => {
  it("stores the session policy by the session's access key; a session without one has none", () => {
    const r = assume({ Policy: session });
    const p = h.app.iam.lookupAccessKey(r.Credentials.AccessKeyId)!.principal;
    expect(h.app.iam.sessionPolicyOf(p)).toBe(session);
    const plain = assume({});
    expect(h.app.iam.sessionPolicyOf(h.app.iam.lookupAccessKey(plain.Credentials.AccessKeyId)!.principal)).toBeUndefined();
    expect(h.app.iam.sessionPolicyOf(h.app.as('role/App/cli'))).toBeUndefined();
    expect(lastRecord(h, 'AssumeRole')!.requestParameters).toEqual({ roleArn: 'arn:aws:iam::123456789012:role/App', roleSessionName: 's1' });
  });

  it('a session policy is an identity policy: MalformedPolicyDocument otherwise, and no session starts', () => {
    const keys = () => h.app.db.prepare('SELECT count(*) FROM access_keys').pluck().get();
    const before = keys();
    expect(errorCode(() => assume({ Policy: 'not json' }))).toBe('MalformedPolicyDocument');
    expect(errorCode(() => assume({ Policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}' }))).toBe('MalformedPolicyDocument');
    expect(keys()).toBe(before);
  });

  it('a session policy over 2048 characters is refused (ValidationError)', () => {
    const long = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*', Sid: 'x'.repeat(2000) }] });
    expect(() => assume({ Policy: long })).toThrow(/at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048$/);
  });

  it('DurationSeconds sets the expiration; 900..43200, and at most the role MaxSessionDuration (ValidationError)', () => {
    const t0 = Date.now();
    const r = assume({ DurationSeconds: 900 });
    const ms = new Date(r.Credentials.Expiration).getTime() - t0;
    expect(ms).toBeGreaterThan(898_000);
    expect(ms).toBeLessThan(902_000);
    expect(() => assume({ DurationSeconds: 7200 })).toThrow('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    expect(errorCode(() => assume({ DurationSeconds: 7200 }))).toBe('ValidationError');
    expect(() => assume({ DurationSeconds: 100 })).toThrow("1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900");
    h.app.iam.call(alice, 'CreateRole', { RoleName: 'Long', AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' }] }), MaxSessionDuration: 7200 });
    expect(assume({ RoleArn: 'Long', DurationSeconds: 7200 }).AssumedRoleUser.Arn).toBe('arn:aws:sts::123456789012:assumed-role/Long/s1');
  });

  it('STS says ValidationError for a session name its model refuses', () => {
    expect(errorCode(() => assume({ RoleSessionName: 'x' }))).toBe('ValidationError');
  });
});
