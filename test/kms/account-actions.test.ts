// Actions on no particular key (IAM resource "*"): only an identity policy can allow them. In
// ebsim's model IAM users of the account have kms:*, roles and their sessions have nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import type { KmsService } from '../../src/kms/service.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;
let session: CallContext;
let grantId: string;

beforeAll(() => {
  h = makeHome();
  kms = h.app.kms();
  alice = h.app.as('Alice');
  h.app.iam.createRole(alice, 'App');
  session = h.app.as('role/App/worker');
  const keyId = (kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
  // The session is even the grant's retiring principal: that alone does not let it list grants.
  grantId = kms.call(alice, 'CreateGrant', {
    KeyId: keyId,
    GranteePrincipal: 'arn:aws:iam::123456789012:role/App',
    RetiringPrincipal: 'arn:aws:sts::123456789012:assumed-role/App/worker',
    Operations: ['Decrypt'],
  }).GrantId as string;
});
afterAll(() => h.cleanup());

describe('account-level KMS actions', () => {
  it('ListRetirableGrants: a session with no identity policy gets AccessDeniedException in AWS words, and no grants', () => {
    expect(() => kms.call(session, 'ListRetirableGrants', { RetiringPrincipal: 'arn:aws:sts::123456789012:assumed-role/App/worker' })).toThrow(
      'User: arn:aws:sts::123456789012:assumed-role/App/worker is not authorized to perform: kms:ListRetirableGrants on resource: arn:aws:sts::123456789012:assumed-role/App/worker because no identity-based policy allows the kms:ListRetirableGrants action',
    );
    expect(errorCode(() => kms.call(session, 'ListRetirableGrants', { RetiringPrincipal: 'arn:aws:iam::123456789012:user/Alice' }))).toBe('AccessDeniedException');
  });

  it('ListRetirableGrants: an IAM user of the account may ask about any retiring principal', () => {
    const r = kms.call(alice, 'ListRetirableGrants', { RetiringPrincipal: 'arn:aws:sts::123456789012:assumed-role/App/worker' });
    expect((r.Grants as { GrantId: string }[]).map((g) => g.GrantId)).toEqual([grantId]);
  });

  it('ListKeys, ListAliases (no KeyId), GenerateRandom and CreateKey follow the same rule', () => {
    for (const [op, params] of [['ListKeys', {}], ['ListAliases', {}], ['GenerateRandom', { NumberOfBytes: 8 }], ['CreateKey', {}]] as const) {
      expect(() => kms.call(session, op, { ...params }), op).toThrow(`kms:${op} on resource: * because no identity-based policy allows the kms:${op} action`);
      expect(() => kms.call(alice, op, { ...params }), op).not.toThrow();
    }
  });

  it('the refusal is in the trail under the session', () => {
    expect(errorCode(() => kms.call(session, 'ListRetirableGrants', { RetiringPrincipal: 'arn:aws:iam::123456789012:user/Alice' }))).toBe('AccessDeniedException');
    h.app.trail.flush();
    const rec = JSON.parse((h.app.db.prepare("SELECT record FROM trail_events WHERE event_name = 'ListRetirableGrants' ORDER BY seq DESC LIMIT 1").get() as { record: string }).record);
    expect(rec).toMatchObject({ errorCode: 'AccessDeniedException', userIdentity: { type: 'AssumedRole' } });
  });
});
