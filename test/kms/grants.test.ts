// Grants: who they let in, for what, with which context — and the constraint logic as properties.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { errorCode, makeHome, type TestHome } from '../helpers/home.js';
import type { CallContext } from '../../src/core/call-context.js';
import { grantPermits, grantNarrows, grantIdFromToken, newGrantToken } from '../../src/kms/grants.js';
import type { KmsService } from '../../src/kms/service.js';
import { allRecords } from '../../src/trail/index.js';
import { initHome } from '../../src/app/ebsim.js';

let h: TestHome;
let kms: KmsService;
let alice: CallContext;
let role: CallContext;
let keyId: string;
let keyArn: string;

beforeAll(() => {
  h = makeHome();
  kms = h.app.kms();
  alice = h.app.as('Alice');
  h.app.iam.createRole(alice, 'App');
  role = h.app.as('role/App/worker');
  const m = kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string; Arn: string };
  keyId = m.KeyId;
  keyArn = m.Arn;
});
afterAll(() => h.cleanup());

describe('grants in the service', () => {
  it('a role has no permissions of its own: AccessDeniedException in AWS words', () => {
    const blob = kms.call(alice, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x') }).CiphertextBlob;
    expect(() => kms.call(role, 'Decrypt', { CiphertextBlob: blob })).toThrow(
      `User: arn:aws:sts::123456789012:assumed-role/App/worker is not authorized to perform: kms:Decrypt on resource: ${keyArn} because no identity-based policy allows the kms:Decrypt action`,
    );
  });

  it('CreateGrant returns a 64-hex GrantId and a token; the grantee may then use only the granted operations within the constraint', () => {
    const g = kms.call(alice, 'CreateGrant', {
      KeyId: keyId,
      GranteePrincipal: 'arn:aws:iam::123456789012:role/App',
      Operations: ['Decrypt'],
      Constraints: { EncryptionContextSubset: { tenant: 'blue' } },
    });
    expect(g.GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect(grantIdFromToken(g.GrantToken as string)).toBe(g.GrantId);
    const blue = kms.call(alice, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('b'), EncryptionContext: { tenant: 'blue', extra: '1' } }).CiphertextBlob;
    const red = kms.call(alice, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('r'), EncryptionContext: { tenant: 'red' } }).CiphertextBlob;
    expect(Buffer.from(kms.call(role, 'Decrypt', { CiphertextBlob: blue, EncryptionContext: { tenant: 'blue', extra: '1' } }).Plaintext as Uint8Array).toString()).toBe('b');
    expect(errorCode(() => kms.call(role, 'Decrypt', { CiphertextBlob: red, EncryptionContext: { tenant: 'red' } }))).toBe('AccessDeniedException');
    expect(errorCode(() => kms.call(role, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionContext: { tenant: 'blue' } }))).toBe('AccessDeniedException');
    // Revoked: the same call is denied again.
    kms.call(alice, 'RevokeGrant', { KeyId: keyId, GrantId: g.GrantId });
    expect(errorCode(() => kms.call(role, 'Decrypt', { CiphertextBlob: blue, EncryptionContext: { tenant: 'blue', extra: '1' } }))).toBe('AccessDeniedException');
    expect(errorCode(() => kms.call(alice, 'RevokeGrant', { KeyId: keyId, GrantId: g.GrantId }))).toBe('NotFoundException');
  });

  it('CreateGrant takes a key ID or ARN, not an alias (InvalidArnException)', () => {
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/granted', TargetKeyId: keyId });
    expect(() => kms.call(alice, 'CreateGrant', { KeyId: 'alias/granted', GranteePrincipal: 'arn:aws:iam::123456789012:role/App', Operations: ['Decrypt'] })).toThrow(
      'Key Aliases are not supported for this operation.',
    );
    expect(errorCode(() => kms.call(alice, 'CreateGrant', { KeyId: keyId, GranteePrincipal: 'x', Operations: ['Fly'] }))).toBe('ValidationException');
    expect(errorCode(() => kms.call(alice, 'CreateGrant', { KeyId: keyId, GranteePrincipal: 'x', Operations: [] }))).toBe('ValidationException');
  });

  it('CreateGrant refuses a grantee or retiring principal that does not exist: InvalidArnException in AWS words, after authorization', () => {
    const grant = (grantee: string, retiring?: string, ctx: CallContext = alice) =>
      kms.call(ctx, 'CreateGrant', { KeyId: keyId, GranteePrincipal: grantee, ...(retiring ? { RetiringPrincipal: retiring } : {}), Operations: ['Decrypt'] }) as { GrantId: string };
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return `${(err as { code?: string }).code}: ${(err as Error).message}`;
      }
      return 'made';
    };
    const missing = [
      'arn:aws:iam::123456789012:role/Nobody',
      'arn:aws:iam::123456789012:user/Nobody',
      'arn:aws:iam::123456789012:role/path/App', // App exists, but not on that path
      'arn:aws:iam::123456789012:group/Admins', // a group is not a principal
      'arn:aws:sts::123456789012:assumed-role/Nobody/s',
      'arn:aws:iam::999988887777:root', // an account the home does not hold
      'arn:aws:iam::999988887777:role/App',
      'AROANOSUCHROLEID00000:s',
      '999988887777:aws:ec2-infrastructure:i-0123456789abcdef0',
      'x',
    ];
    for (const p of missing) {
      expect(refusal(() => grant(p)), p).toBe(`InvalidArnException: ARN does not refer to a valid principal: ${p}`);
      expect(refusal(() => grant('arn:aws:iam::123456789012:role/App', p)), `retiring ${p}`).toBe(`InvalidArnException: ARN does not refer to a valid principal: ${p}`);
    }
    // Nothing was made by the refused calls.
    const before = (kms.call(alice, 'ListGrants', { KeyId: keyId }).Grants as unknown[]).length;
    expect(refusal(() => grant('arn:aws:iam::123456789012:role/Nobody'))).toContain('InvalidArnException');
    expect((kms.call(alice, 'ListGrants', { KeyId: keyId }).Grants as unknown[]).length).toBe(before);
    // A caller who may not make grants is told so, not whether the principal exists.
    expect(refusal(() => grant('arn:aws:iam::123456789012:role/Nobody', undefined, role))).toMatch(/^AccessDeniedException: /);
    // Principals that exist, the EBS infrastructure's sessions and service principals are taken as before.
    const roleId = (h.app.iam.call(alice, 'GetRole', { RoleName: 'App' }).Role as { RoleId: string }).RoleId;
    const existing = [
      'arn:aws:iam::123456789012:role/App',
      'arn:aws:iam::123456789012:user/Alice',
      'arn:aws:iam::123456789012:root',
      'arn:aws:sts::123456789012:assumed-role/App/any-session',
      `${roleId}:s`,
      '123456789012:aws:ec2-infrastructure:i-0123456789abcdef0',
      'arn:aws:sts::123456789012:assumed-role/aws:ec2-infrastructure/i-0123456789abcdef0',
      'ec2.amazonaws.com',
    ];
    for (const p of existing) {
      const g = grant(p, 'arn:aws:iam::123456789012:root');
      kms.call(alice, 'RevokeGrant', { KeyId: keyId, GrantId: g.GrantId });
    }
    // A user's unique ID names the user; only a role's takes a session name after it.
    const userId = alice.principal.principalId;
    kms.call(alice, 'RevokeGrant', { KeyId: keyId, GrantId: grant(userId).GrantId });
    expect(refusal(() => grant(`${userId}:s`))).toBe(`InvalidArnException: ARN does not refer to a valid principal: ${userId}:s`);
  });

  it('a retried CreateGrant with the same Name and parameters returns the same GrantId and a new token', () => {
    const req = { KeyId: keyArn, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', Operations: ['Encrypt'], Name: 'retry-me' };
    const a = kms.call(alice, 'CreateGrant', req);
    const b = kms.call(alice, 'CreateGrant', req);
    expect(b.GrantId).toBe(a.GrantId);
    expect(b.GrantToken).not.toBe(a.GrantToken);
    const c = kms.call(alice, 'CreateGrant', { ...req, Operations: ['Encrypt', 'Decrypt'] });
    expect(c.GrantId).not.toBe(a.GrantId);
  });

  it('ListGrants lists live grants in AWS shape; RetireGrant by token ends one; ListRetirableGrants finds by retiring principal', () => {
    const g = kms.call(alice, 'CreateGrant', {
      KeyId: keyId,
      GranteePrincipal: 'arn:aws:iam::123456789012:role/App',
      RetiringPrincipal: 'arn:aws:iam::123456789012:user/Alice',
      Operations: ['GenerateDataKey', 'RetireGrant'],
      Constraints: { EncryptionContextEquals: { a: '1' } },
    });
    const listed = kms.call(alice, 'ListGrants', { KeyId: keyId, GrantId: g.GrantId }).Grants as Record<string, unknown>[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ KeyId: keyArn, GrantId: g.GrantId, IssuingAccount: 'arn:aws:iam::123456789012:root', Operations: ['GenerateDataKey', 'RetireGrant'], Constraints: { EncryptionContextEquals: { a: '1' } } });
    const retirable = kms.call(alice, 'ListRetirableGrants', { RetiringPrincipal: 'arn:aws:iam::123456789012:user/Alice' }).Grants as { GrantId: string }[];
    expect(retirable.map((x) => x.GrantId)).toContain(g.GrantId);
    // The grantee may retire because the grant includes RetireGrant; constraints don't apply to RetireGrant.
    kms.call(role, 'RetireGrant', { GrantToken: g.GrantToken });
    expect(kms.call(alice, 'ListGrants', { KeyId: keyId, GrantId: g.GrantId }).Grants).toEqual([]);
    expect(errorCode(() => kms.call(alice, 'RetireGrant', { GrantToken: g.GrantToken }))).toBe('NotFoundException');
    expect(errorCode(() => kms.call(alice, 'RetireGrant', { GrantToken: 'bogus' }))).toBe('InvalidGrantTokenException');
    expect(errorCode(() => kms.call(alice, 'RetireGrant', {}))).toBe('ValidationException');
  });

  it('a grantee without RetireGrant in the grant may not retire it', () => {
    const g = kms.call(alice, 'CreateGrant', { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', Operations: ['Decrypt'] });
    expect(errorCode(() => kms.call(role, 'RetireGrant', { KeyId: keyId, GrantId: g.GrantId }))).toBe('AccessDeniedException');
  });

  it('RetireGrant is recorded as the KMS guide\'s example: requestParameters null, the grant ID in additionalEventData (by ID or by token, refused or not)', () => {
    const records = () => (h.app.trail.flush(), allRecords(h.app.db).filter((r) => r.eventName === 'RetireGrant'));
    const seen = records().length;
    const byId = kms.call(alice, 'CreateGrant', { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', Operations: ['Decrypt'] }) as { GrantId: string };
    const byToken = kms.call(alice, 'CreateGrant', { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', Operations: ['Decrypt'] }) as { GrantId: string; GrantToken: string };
    expect(errorCode(() => kms.call(role, 'RetireGrant', { KeyId: keyId, GrantId: byId.GrantId }))).toBe('AccessDeniedException');
    kms.call(alice, 'RetireGrant', { KeyId: keyId, GrantId: byId.GrantId });
    kms.call(alice, 'RetireGrant', { GrantToken: byToken.GrantToken });
    const [refused, retired, tokened] = records().slice(seen);
    expect(refused).toMatchObject({ requestParameters: null, additionalEventData: { grantId: byId.GrantId }, errorCode: 'AccessDeniedException' });
    expect(retired).toMatchObject({ requestParameters: null, responseElements: null, additionalEventData: { grantId: byId.GrantId }, readOnly: false, resources: [{ ARN: keyArn }] });
    expect(tokened).toMatchObject({ requestParameters: null, additionalEventData: { grantId: byToken.GrantId } });
    expect(JSON.stringify(tokened)).not.toContain(byToken.GrantToken);
    // The field sits where AWS's example has it: after responseElements, before requestID.
    const keys = Object.keys(retired!);
    expect(keys.indexOf('additionalEventData')).toBe(keys.indexOf('responseElements') + 1);
  });

  it('an account root named as retiring principal stands for the principals its IAM policies delegate kms:RetireGrant to', () => {
    initHome(h.dir, '111122223333'); // the other account a grant names must be one of the home's
    const g = kms.call(alice, 'CreateGrant', {
      KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', RetiringPrincipal: 'arn:aws:iam::123456789012:root', Operations: ['Decrypt'],
    }) as { GrantId: string };
    const other = kms.call(alice, 'CreateGrant', {
      KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', RetiringPrincipal: 'arn:aws:iam::111122223333:root', Operations: ['Decrypt'],
    }) as { GrantId: string };
    // A role of the account with no permissions (an instance's, say) may not retire the account's grants.
    h.app.iam.createRole(alice, 'Bystander');
    const bystander = h.app.as('role/Bystander/s');
    expect(errorCode(() => kms.call(bystander, 'RetireGrant', { KeyId: keyId, GrantId: g.GrantId }))).toBe('AccessDeniedException');
    // Delegated by an identity policy: the role (not a grantee allowed RetireGrant, not an IAM user) retires through its account.
    h.app.iam.call(alice, 'PutRolePolicy', {
      RoleName: 'App', PolicyName: 'retire', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:RetireGrant', Resource: '*' }] }),
    });
    kms.call(role, 'RetireGrant', { KeyId: keyId, GrantId: g.GrantId });
    // The grant naming another account was still created in this one, which delegates as a backup
    // ("Retiring and revoking grants"); the cross-account cases are in retire-grant.test.ts.
    kms.call(role, 'RetireGrant', { KeyId: keyId, GrantId: other.GrantId });
    expect(errorCode(() => kms.call(bystander, 'RetireGrant', { KeyId: keyId, GrantId: g.GrantId }))).toBe('NotFoundException');
    h.app.iam.call(alice, 'DeleteRolePolicy', { RoleName: 'App', PolicyName: 'retire' });
  });

  it('a grantee with CreateGrant may create narrower grants only', () => {
    kms.call(alice, 'CreateGrant', {
      KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/App', Operations: ['CreateGrant', 'Decrypt'],
      Constraints: { EncryptionContextSubset: { team: 'x' } },
    });
    expect(errorCode(() => kms.call(role, 'CreateGrant', { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:user/Alice', Operations: ['Encrypt'] }))).toBe('AccessDeniedException');
    expect(errorCode(() => kms.call(role, 'CreateGrant', { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:user/Alice', Operations: ['Decrypt'] }))).toBe('AccessDeniedException');
    const ok = kms.call(role, 'CreateGrant', { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:user/Alice', Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: { team: 'x', app: 'y' } } });
    expect(ok.GrantId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a grant with both constraints allows only contexts meeting both, and so may create only grants that do too', () => {
    h.app.iam.createRole(alice, 'Both');
    const both = h.app.as('role/Both/s');
    kms.call(alice, 'CreateGrant', {
      KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/Both', Operations: ['CreateGrant', 'Encrypt'],
      Constraints: { EncryptionContextEquals: { a: '1' }, EncryptionContextSubset: { b: '2' } },
    });
    // No context both equals {a:1} and contains b=2: the grant allows no Encrypt.
    expect(errorCode(() => kms.call(both, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionContext: { a: '1' } }))).toBe('AccessDeniedException');
    // A child with only the Equals would allow {a:1}: wider than its parent, refused.
    const child = { KeyId: keyId, GranteePrincipal: 'arn:aws:iam::123456789012:role/Both', Operations: ['Encrypt'] };
    expect(errorCode(() => kms.call(both, 'CreateGrant', { ...child, Constraints: { EncryptionContextEquals: { a: '1' } } }))).toBe('AccessDeniedException');
    expect(errorCode(() => kms.call(both, 'CreateGrant', { ...child, Constraints: { EncryptionContextSubset: { b: '2' } } }))).toBe('AccessDeniedException');
    expect(errorCode(() => kms.call(both, 'Encrypt', { KeyId: keyId, Plaintext: Buffer.from('x'), EncryptionContext: { a: '1' } }))).toBe('AccessDeniedException');
  });
});

describe('grant constraint logic (properties)', () => {
  // Keys that differ only by case: in a grant constraint AWS compares keys case-insensitively, values exactly
  // (API reference, GrantConstraints).
  const ctx = fc.dictionary(fc.constantFrom('a', 'A', 'b', 'c'), fc.constantFrom('1', '2', ''), { maxKeys: 4 });
  /**
   * The model: every pair of `sub` has a pair in `ctx` whose key is the same but for case, and every
   * such pair has its value (a context cannot pass with a case-variant key naming something else).
   */
  const includes = (c: Record<string, string>, sub: Record<string, string>) =>
    Object.entries(sub).every(([k, v]) => {
      const same = Object.entries(c).filter(([ck]) => ck.toLowerCase() === k.toLowerCase());
      return same.length > 0 && same.every(([, cv]) => cv === v);
    });

  it('EncryptionContextSubset permits exactly the contexts that contain every constrained pair (keys compared without case)', () => {
    fc.assert(
      fc.property(ctx, ctx, (constraint, request) => {
        expect(grantPermits({ operations: ['Decrypt'], constraints: { EncryptionContextSubset: constraint } }, 'Decrypt', request)).toBe(includes(request, constraint));
      }),
      { numRuns: 2000 },
    );
  });

  it('EncryptionContextEquals permits exactly the equal context (keys compared without case)', () => {
    fc.assert(
      fc.property(ctx, ctx, (constraint, request) => {
        const expected = Object.keys(request).length === Object.keys(constraint).length && includes(request, constraint) && includes(constraint, request);
        expect(grantPermits({ operations: ['Decrypt'], constraints: { EncryptionContextEquals: constraint } }, 'Decrypt', request)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('"__proto__" and "constructor" are ordinary constraint keys (JSON gives them as own keys)', () => {
    const parsed = (text: string) => JSON.parse(text) as Record<string, string>;
    const proto = { operations: ['Encrypt'], constraints: { EncryptionContextSubset: parsed('{"__proto__":"x"}') } };
    expect(grantPermits(proto, 'Encrypt', parsed('{"__proto__":"x"}'))).toBe(true);
    expect(grantPermits(proto, 'Encrypt', parsed('{"__proto__":"y"}'))).toBe(false);
    expect(grantPermits(proto, 'Encrypt', {})).toBe(false);
    expect(grantPermits({ operations: ['Encrypt'], constraints: { EncryptionContextEquals: parsed('{"constructor":"x"}') } }, 'Encrypt', {})).toBe(false);
    expect(grantPermits({ operations: ['Encrypt'], constraints: { EncryptionContextEquals: {} } }, 'Encrypt', parsed('{"constructor":"x"}'))).toBe(false);
  });

  it('a constraint key matches the request key whatever its case; the value must match exactly', () => {
    const g = { operations: ['Encrypt'], constraints: { EncryptionContextSubset: { Dept: 'IT' } } };
    expect(grantPermits(g, 'Encrypt', { dept: 'IT' })).toBe(true);
    expect(grantPermits(g, 'Encrypt', { DEPT: 'IT', other: 'x' })).toBe(true);
    expect(grantPermits(g, 'Encrypt', { Dept: 'it' })).toBe(false);
    expect(grantPermits({ operations: ['Encrypt'], constraints: { EncryptionContextEquals: { Dept: 'IT' } } }, 'Encrypt', { dept: 'IT' })).toBe(true);
    expect(grantPermits({ operations: ['Encrypt'], constraints: { EncryptionContextEquals: { Dept: 'IT' } } }, 'Encrypt', { dept: 'IT', x: '' })).toBe(false);
  });

  it('a context with the constrained key twice, but for case, passes only if both carry the constrained value', () => {
    // EBS's case: a grant bound to vol-A must not let a context name vol-B in the exact-case key.
    const sub = { operations: ['Encrypt'], constraints: { EncryptionContextSubset: { 'aws:ebs:id': 'vol-A' } } };
    expect(grantPermits(sub, 'Encrypt', { 'aws:ebs:id': 'vol-B', 'AWS:EBS:ID': 'vol-A' })).toBe(false);
    expect(grantPermits(sub, 'Encrypt', { 'aws:ebs:id': 'vol-A', 'AWS:EBS:ID': 'vol-A' })).toBe(true);
    // Equals allows no extra pair, even one that differs only by case.
    expect(grantPermits({ operations: ['Encrypt'], constraints: { EncryptionContextEquals: { a: '1' } } }, 'Encrypt', { a: '1', A: '1' })).toBe(false);
  });

  it('operations not granted are never permitted; DescribeKey and RetireGrant ignore constraints', () => {
    fc.assert(
      fc.property(ctx, ctx, (constraint, request) => {
        expect(grantPermits({ operations: ['Encrypt'], constraints: { EncryptionContextSubset: constraint } }, 'Decrypt', request)).toBe(false);
        expect(grantPermits({ operations: ['DescribeKey', 'RetireGrant'], constraints: { EncryptionContextEquals: constraint } }, 'DescribeKey', request)).toBe(true);
        expect(grantPermits({ operations: ['DescribeKey', 'RetireGrant'], constraints: { EncryptionContextEquals: constraint } }, 'RetireGrant', request)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('a narrower grant never permits what its parent does not (either constraint, both, or none, on either grant)', () => {
    const constraints = fc.record({ EncryptionContextSubset: ctx, EncryptionContextEquals: ctx }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.option(constraints, { nil: undefined }), fc.option(constraints, { nil: undefined }), ctx, (parentC, childC, request) => {
        const parent = { grantId: '', keyId: '', granteePrincipal: '', issuingAccount: '', createdAt: new Date(), state: 'live' as const, operations: ['Decrypt'], constraints: parentC };
        const child = { operations: ['Decrypt'], constraints: childC };
        if (grantNarrows(parent, child) && grantPermits(child, 'Decrypt', request)) {
          expect(grantPermits(parent, 'Decrypt', request)).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('grant tokens carry the grant ID and differ every time', () => {
    const id = 'ab'.repeat(32);
    const a = newGrantToken(id);
    expect(grantIdFromToken(a)).toBe(id);
    expect(newGrantToken(id)).not.toBe(a);
  });
});
