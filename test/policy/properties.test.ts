// Properties of evaluation over random small policies and requests (fast-check):
//   (a) adding a Deny statement never turns a non-Allow into Allow, nor ExplicitDeny into anything else;
//   (b) removing an Allow statement never turns a denial into Allow;
//   (c) evaluation is deterministic and independent of statement and policy order (the trace aside);
// and the fast path (explain: false) always decides as the traced path does.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, parsePolicy, type ConditionValue, type Evaluation, type NamedPolicy, type PolicyDocument, type RequestContext, type Statement } from '../../src/policy/index.js';
import type { PolicySources } from '../../src/policy/evaluate.js';
import { ACCT, KEY_ARN, OTHER, session, user } from './helpers.js';

const ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:CreateKey', 'kms:DescribeKey'];
const ACTION_PATTERNS = ['kms:Decrypt', 'kms:Encrypt', 'kms:*', 'kms:De*', '*', 'kms:Generate*', 'kms:?ncrypt'];
const RESOURCE_PATTERNS = ['*', KEY_ARN, `arn:aws:kms:*:${ACCT}:key/*`, `arn:aws:kms:us-west-2:${OTHER}:key/*`];
const PRINCIPALS: unknown[] = ['*', { AWS: '*' }, { AWS: `arn:aws:iam::${ACCT}:root` }, { AWS: ACCT }, { AWS: `arn:aws:iam::${ACCT}:user/Alice` }, { AWS: `arn:aws:iam::${ACCT}:role/App` }, { AWS: `arn:aws:iam::${OTHER}:root` }, { AWS: [`arn:aws:iam::${OTHER}:user/Bob`, `arn:aws:iam::${ACCT}:user/Alice`] }];
const CONDITIONS: unknown[] = [
  { StringEquals: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' } },
  { StringNotEquals: { 'kms:ViaService': 'ec2.us-west-2.amazonaws.com' } },
  { StringLikeIfExists: { 'aws:username': 'A*' } },
  { 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['aws:ebs:id'] } },
  { 'ForAnyValue:StringLike': { 'kms:EncryptionContextKeys': ['aws:*'] } },
  { Null: { 'kms:EncryptionContext:aws:ebs:id': 'false' } },
  { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
  { StringEquals: { 'aws:PrincipalAccount': '${aws:PrincipalAccount}' } },
];

const oneOrMore = <T>(xs: readonly T[]) => fc.uniqueArray(fc.constantFrom(...xs), { minLength: 1, maxLength: 3 });

const statement = (withPrincipal: boolean, effect?: 'Allow' | 'Deny') =>
  fc.record({
    Effect: effect ? fc.constant(effect) : fc.constantFrom('Allow', 'Deny'),
    ...(withPrincipal ? { Principal: fc.constantFrom(...PRINCIPALS) } : {}),
    Action: oneOrMore(ACTION_PATTERNS),
    Resource: oneOrMore(RESOURCE_PATTERNS),
    Condition: fc.option(fc.constantFrom(...CONDITIONS), { nil: undefined }),
  });

const doc = (withPrincipal: boolean, min: number) => fc.array(statement(withPrincipal), { minLength: min, maxLength: 4 }).map((Statement) => JSON.stringify({ Version: '2012-10-17', Statement }));

const arbSources = fc.record({
  resource: fc.option(doc(true, 1), { nil: undefined }),
  identities: fc.array(doc(false, 1), { maxLength: 2 }),
  sessions: fc.array(doc(false, 1), { maxLength: 1 }),
  required: fc.boolean(),
}).map(({ resource, identities, sessions, required }): PolicySources => ({
  resourcePolicy: resource === undefined ? undefined : { name: 'key policy', type: 'resource-based', document: parsePolicy(resource, 'key') },
  identityPolicies: identities.map((t, i) => ({ name: `identity ${i}`, type: 'identity-based', document: parsePolicy(t, 'identity') })),
  sessionPolicies: sessions.map((t, i) => ({ name: `session ${i}`, type: 'session', document: parsePolicy(t, 'session') })),
  resourcePolicyRequired: required,
}));

const arbRequest = fc.record({
  caller: fc.constantFrom(user('Alice'), user('Carol'), session('App', 'worker'), user('Bob', OTHER)),
  action: fc.constantFrom(...ACTIONS),
  resource: fc.constantFrom(KEY_ARN, '*'),
  via: fc.boolean(),
  contextKeys: fc.option(fc.subarray(['aws:ebs:id', 'department']), { nil: undefined }),
  grantForAws: fc.option(fc.constantFrom('true', 'false'), { nil: undefined }),
}).map(({ caller, action, resource, via, contextKeys, grantForAws }): RequestContext => {
  const keys = new Map<string, ConditionValue>([['aws:PrincipalAccount', caller.accountId], ['kms:CallerAccount', caller.accountId]]);
  if (!caller.arn.includes('assumed-role')) keys.set('aws:username', caller.arn.split('/').pop()!);
  if (via) keys.set('kms:ViaService', 'ec2.us-west-2.amazonaws.com');
  if (contextKeys) {
    keys.set('kms:EncryptionContextKeys', contextKeys);
    for (const k of contextKeys) keys.set(`kms:EncryptionContext:${k}`, 'v');
  }
  if (grantForAws) keys.set('kms:GrantIsForAWSResource', grantForAws);
  return { action, resource, resourceAccount: ACCT, principal: caller, keys };
});

const arbDenyStatement = (withPrincipal: boolean) => statement(withPrincipal, 'Deny');

function decision(e: Evaluation) {
  return { decision: e.decision, deniedBy: e.deniedBy };
}

/** Evaluates both ways and checks that they agree. */
function both(req: RequestContext, sources: PolicySources): Evaluation {
  const full = evaluate(req, sources);
  expect(decision(evaluate(req, sources, { explain: false }))).toEqual(decision(full));
  return full;
}

const withStatements = (p: NamedPolicy, statements: readonly Statement[]): NamedPolicy => ({ ...p, document: { ...p.document, statements } as PolicyDocument });

/** One statement parsed as a policy of its own, re-indexed to follow `p`'s. */
function appended(p: NamedPolicy, statementJson: unknown, kind: 'key' | 'identity'): NamedPolicy {
  const extra = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [statementJson] }), kind).statements[0]!;
  return withStatements(p, [...p.document.statements, { ...extra, index: p.document.statements.length }]);
}

const RUNS = { numRuns: 400 };

it('the generators reach every decision (else the properties would prove little)', () => {
  const seen = new Map<string, number>();
  for (const [req, sources] of fc.sample(fc.tuple(arbRequest, arbSources), { numRuns: 2000, seed: 42 })) {
    const d = evaluate(req, sources, { explain: false }).decision;
    seen.set(d, (seen.get(d) ?? 0) + 1);
  }
  for (const d of ['Allow', 'ExplicitDeny', 'ImplicitDeny']) expect(seen.get(d) ?? 0).toBeGreaterThan(100);
});

describe('evaluation properties', () => {
  it('(a) adding a Deny statement never widens access', () => {
    fc.assert(
      fc.property(arbRequest, arbSources, arbDenyStatement(true), arbDenyStatement(false), fc.nat(), (req, sources, keyDeny, idDeny, where) => {
        const before = both(req, sources).decision;
        // Into the resource policy, or into one identity policy (or a new one).
        let after: PolicySources;
        if (sources.resourcePolicy && where % 2 === 0) after = { ...sources, resourcePolicy: appended(sources.resourcePolicy, keyDeny, 'key') };
        else if (sources.identityPolicies.length > 0) {
          const i = where % sources.identityPolicies.length;
          after = { ...sources, identityPolicies: sources.identityPolicies.map((p, j) => (j === i ? appended(p, idDeny, 'identity') : p)) };
        } else after = { ...sources, identityPolicies: [{ name: 'deny', type: 'identity-based', document: parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: idDeny }), 'identity') }] };
        const now = both(req, after).decision;
        if (before !== 'Allow') expect(now).not.toBe('Allow');
        if (before === 'ExplicitDeny') expect(now).toBe('ExplicitDeny');
      }),
      RUNS,
    );
  });

  it('(b) removing an Allow statement never turns a denial into Allow', () => {
    fc.assert(
      fc.property(arbRequest, arbSources, fc.nat(), (req, sources, pick) => {
        const before = both(req, sources).decision;
        const all = [sources.resourcePolicy, ...sources.identityPolicies, ...(sources.sessionPolicies ?? [])].filter((p): p is NamedPolicy => p !== undefined);
        const allows = all.flatMap((p) => p.document.statements.filter((s) => s.effect === 'Allow').map((s) => [p, s] as const));
        fc.pre(allows.length > 0);
        const [policy, removed] = allows[pick % allows.length]!;
        const without = (p: NamedPolicy) => (p === policy ? withStatements(p, p.document.statements.filter((s) => s !== removed)) : p);
        const after: PolicySources = {
          ...sources,
          resourcePolicy: sources.resourcePolicy && without(sources.resourcePolicy),
          identityPolicies: sources.identityPolicies.map(without),
          sessionPolicies: sources.sessionPolicies?.map(without),
        };
        if (before !== 'Allow') expect(both(req, after).decision).not.toBe('Allow');
      }),
      RUNS,
    );
  });

  it('(c) deterministic, and independent of statement and policy order except for the trace\'s order', () => {
    fc.assert(
      fc.property(arbRequest, arbSources, fc.nat(), (req, sources, seed) => {
        const first = both(req, sources);
        expect(both(req, sources)).toEqual(first);
        const shuffle = <T>(xs: readonly T[], s: number): T[] => {
          const out = [...xs];
          for (let i = out.length - 1; i > 0; i--) {
            const j = (s + i * 7919) % (i + 1);
            [out[i], out[j]] = [out[j]!, out[i]!];
          }
          return out;
        };
        const reorder = (p: NamedPolicy) => withStatements(p, shuffle(p.document.statements, seed));
        const shuffled: PolicySources = {
          ...sources,
          resourcePolicy: sources.resourcePolicy && reorder(sources.resourcePolicy),
          identityPolicies: shuffle(sources.identityPolicies.map(reorder), seed + 1),
          sessionPolicies: sources.sessionPolicies?.map(reorder),
        };
        const second = both(req, shuffled);
        expect(decision(second)).toEqual(decision(first));
        const key = (t: Evaluation['trace'][number]) => `${t.policy}#${t.index}`;
        const sorted = (e: Evaluation) => [...e.trace].sort((a, b) => key(a).localeCompare(key(b)));
        expect(sorted(second)).toEqual(sorted(first));
      }),
      RUNS,
    );
  });
});
