// evaluate's rules one at a time: NotPrincipal, NotAction, NotResource, which deny is named,
// required resource policies that are missing, empty session policy lists, sessions named by ARN.
import { describe, expect, it } from 'vitest';
import { evaluate, type NamedPolicy, type RequestContext } from '../../src/policy/index.js';
import { ACCT, OTHER, named, request, session, user } from './helpers.js';

const allowAll = named('allow all', 'identity', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] });
const keyPolicy = (...Statement: unknown[]) => named('key policy', 'key', { Version: '2012-10-17', Statement });
const run = (req: RequestContext, resourcePolicy: NamedPolicy | undefined, identityPolicies: NamedPolicy[] = [], extra: { sessionPolicies?: NamedPolicy[]; resourcePolicyRequired?: boolean } = {}) =>
  evaluate(req, { resourcePolicy, identityPolicies, sessionPolicies: extra.sessionPolicies, resourcePolicyRequired: extra.resourcePolicyRequired ?? true });

describe('evaluate', () => {
  it('NotPrincipal in a Deny: everyone but the named session of the named role is denied', () => {
    const bob = session('KeyAdmin', 'bob');
    const p = keyPolicy(
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*' },
      // The account and the role must be listed too (IAM User Guide, "NotPrincipal"): AWS checks the account, then the role, then the session.
      { Effect: 'Deny', NotPrincipal: { AWS: [bob.arn, `arn:aws:iam::${ACCT}:role/KeyAdmin`, `arn:aws:iam::${ACCT}:root`] }, Action: 'kms:ScheduleKeyDeletion', Resource: '*' },
    );
    expect(run(request('kms:ScheduleKeyDeletion', bob), p, [allowAll]).decision).toBe('Allow');
    const other = run(request('kms:ScheduleKeyDeletion', session('KeyAdmin', 'eve')), p, [allowAll]);
    expect(other.decision).toBe('ExplicitDeny');
    expect(other.trace[1]!.reasons[0]).toBe(
      `NotPrincipal: does not list ${session('KeyAdmin', 'eve').arn} (a Deny excludes a caller only when its account and the caller, and a session's role, are all listed), so the statement applies to it`,
    );
    const e = run(request('kms:ScheduleKeyDeletion', user('Alice')), p, [allowAll]);
    expect(e.deniedBy).toEqual({ kind: 'explicit', policyType: 'resource-based' });
    expect(e.trace[1]!.reasons[0]).toBe(
      `NotPrincipal: does not list arn:aws:iam::${ACCT}:user/Alice (a Deny excludes a caller only when its account and the caller, and a session's role, are all listed), so the statement applies to it`,
    );
  });

  it('NotPrincipal in a Deny excludes a caller only when its account and the caller (and a session\'s role) are all listed: a listed account alone, or a principal without its account, is denied', () => {
    const deny = (...np: string[]) =>
      keyPolicy(
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Deny', NotPrincipal: { AWS: np }, Action: 'kms:Decrypt', Resource: '*' },
      );
    const alice = user('Alice');
    const bob = user('Bob');
    const admin = session('KeyAdmin', 's');
    const root = `arn:aws:iam::${ACCT}:root`;
    const cases: [ReturnType<typeof user>, NamedPolicy, 'Allow' | 'ExplicitDeny'][] = [
      [alice, deny(alice.arn), 'ExplicitDeny'], // the user without its account
      [bob, deny(root), 'ExplicitDeny'], // the account alone excludes none of its users
      [alice, deny(root), 'ExplicitDeny'],
      [alice, deny(alice.arn, root), 'Allow'],
      [bob, deny(alice.arn, root), 'ExplicitDeny'],
      [admin, deny(`arn:aws:iam::${ACCT}:role/KeyAdmin`), 'ExplicitDeny'],
      [admin, deny(`arn:aws:iam::${ACCT}:role/KeyAdmin`, root), 'ExplicitDeny'], // the session not listed
      [admin, deny(admin.arn, root), 'ExplicitDeny'], // the role not listed
      [admin, deny(admin.arn, `arn:aws:iam::${ACCT}:role/KeyAdmin`), 'ExplicitDeny'], // the account not listed
      [admin, deny(admin.arn, `arn:aws:iam::${ACCT}:role/KeyAdmin`, root), 'Allow'],
      [admin, deny(alice.arn, root), 'ExplicitDeny'],
      [user('Carol', OTHER), deny(alice.arn, root), 'ExplicitDeny'],
    ];
    for (const [caller, p, want] of cases) {
      // The fast path and the traced one agree.
      for (const e of [run(request('kms:Decrypt', caller), p, [allowAll]), evaluate(request('kms:Decrypt', caller), { resourcePolicy: p, identityPolicies: [allowAll], resourcePolicyRequired: true }, { explain: false })]) {
        expect({ caller: caller.arn, np: p.document.statements[1]!.notPrincipal, decision: e.decision }).toEqual({ caller: caller.arn, np: p.document.statements[1]!.notPrincipal, decision: want });
      }
    }
  });

  it('NotAction and NotResource select everything else', () => {
    const p = named('p', 'identity', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', NotAction: 'kms:Schedule*', NotResource: `arn:aws:kms:*:${ACCT}:key/secret-*` }] });
    const open = keyPolicy({ Effect: 'Allow', Principal: { AWS: ACCT }, Action: 'kms:*', Resource: '*' });
    expect(run(request('kms:Decrypt', user('Alice')), open, [p]).decision).toBe('Allow');
    expect(run(request('kms:ScheduleKeyDeletion', user('Alice')), open, [p]).decision).toBe('ImplicitDeny');
    expect(run(request('kms:Decrypt', user('Alice'), {}, `arn:aws:kms:us-west-2:${ACCT}:key/secret-1`), open, [p]).decision).toBe('ImplicitDeny');
  });

  it('a resource policy names a session by its role\'s ARN or by the session\'s own ARN', () => {
    const s = session('App', 'worker');
    expect(run(request('kms:Decrypt', s), keyPolicy({ Effect: 'Allow', Principal: { AWS: s.arn }, Action: 'kms:Decrypt', Resource: '*' })).decision).toBe('Allow');
    expect(run(request('kms:Decrypt', s), keyPolicy({ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:role/Other` }, Action: 'kms:Decrypt', Resource: '*' })).deniedBy?.policyType).toBe('resource-based');
  });

  it("session policies limit what a resource policy allows the session's role, not what it allows the session's own ARN (IAM User Guide, \"Session policies\")", () => {
    const s = session('App', 'worker');
    const decryptOnly = named('session', 'session', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] });
    const naming = (arn: string) => keyPolicy({ Effect: 'Allow', Principal: { AWS: arn }, Action: 'kms:*', Resource: '*' });
    const byRole = naming(`arn:aws:iam::${ACCT}:role/App`);
    for (const explain of [true, false]) {
      const ev = (action: string, p: NamedPolicy, sessionPolicies?: NamedPolicy[]) =>
        evaluate(request(action, s), { resourcePolicy: p, identityPolicies: [], sessionPolicies, resourcePolicyRequired: true }, { explain });
      expect(ev('kms:Encrypt', byRole).decision).toBe('Allow');
      expect(ev('kms:Encrypt', byRole, [decryptOnly])).toMatchObject({ decision: 'ImplicitDeny', deniedBy: { kind: 'implicit', policyType: 'session' } });
      expect(ev('kms:Decrypt', byRole, [decryptOnly]).decision).toBe('Allow');
      expect(ev('kms:Encrypt', naming('*'), [decryptOnly]).decision).toBe('ImplicitDeny');
      expect(ev('kms:Encrypt', naming(s.arn), [decryptOnly]).decision).toBe('Allow');
      // a later statement naming the session itself still counts after one naming the role
      const both = keyPolicy(
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:role/App` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: s.arn }, Action: 'kms:Encrypt', Resource: '*' },
      );
      expect(ev('kms:Encrypt', both, [decryptOnly]).decision).toBe('Allow');
    }
  });

  it('a Deny naming the account applies to every principal of it', () => {
    const p = keyPolicy({ Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:Decrypt', Resource: '*' });
    expect(run(request('kms:Decrypt', session('App', 'w')), p).decision).toBe('ExplicitDeny');
    expect(run(request('kms:Encrypt', session('App', 'w')), p).decision).toBe('Allow');
  });

  it('names the first denying policy in the order resource, identity, session', () => {
    const denyKey = keyPolicy({ Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*' });
    const denyId = named('deny', 'identity', { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] });
    expect(run(request('kms:Decrypt', user('Alice')), denyKey, [denyId]).deniedBy).toEqual({ kind: 'explicit', policyType: 'resource-based' });
    expect(run(request('kms:Decrypt', user('Alice')), undefined, [allowAll, denyId]).deniedBy).toEqual({ kind: 'explicit', policyType: 'identity-based' });
  });

  it('a required resource policy that is missing denies as "resource-based"; a cross-account call without one too', () => {
    expect(run(request('kms:Decrypt', user('Alice')), undefined, [allowAll]).deniedBy).toEqual({ kind: 'implicit', policyType: 'resource-based' });
    expect(run(request('kms:Decrypt', user('Bob', OTHER)), undefined, [allowAll], { resourcePolicyRequired: false }).deniedBy?.policyType).toBe('resource-based');
  });

  it('an empty list of session policies limits nothing; a session policy naming nothing allowed denies as "session"', () => {
    const req = request('kms:CreateKey', session('App', 'w'), {}, '*');
    expect(run(req, undefined, [allowAll], { sessionPolicies: [], resourcePolicyRequired: false }).decision).toBe('Allow');
    const other = named('session', 'session', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] });
    expect(run(req, undefined, [allowAll], { sessionPolicies: [other], resourcePolicyRequired: false }).deniedBy).toEqual({ kind: 'implicit', policyType: 'session' });
    // no identity policy at all: AWS names the identity-based policy, not the session policy
    expect(run(req, undefined, [], { sessionPolicies: [other], resourcePolicyRequired: false }).deniedBy?.policyType).toBe('identity-based');
  });

  it('same account, no resource policy required: a resource policy naming the caller is enough', () => {
    const p = keyPolicy({ Effect: 'Allow', Principal: { AWS: user('Alice').arn }, Action: 'kms:Decrypt', Resource: '*' });
    expect(run(request('kms:Decrypt', user('Alice')), p, [], { resourcePolicyRequired: false }).decision).toBe('Allow');
  });

  it('the trace lists every statement of every policy, in order', () => {
    const e = run(request('kms:Decrypt', user('Alice')), keyPolicy({ Effect: 'Allow', Principal: { AWS: ACCT }, Action: 'kms:*', Resource: '*' }), [allowAll, allowAll]);
    expect(e.trace.map((t) => [t.policy, t.policyType, t.index, t.matched])).toEqual([
      ['key policy', 'resource-based', 0, true],
      ['allow all', 'identity-based', 0, true],
      ['allow all', 'identity-based', 0, true],
    ]);
  });
});
