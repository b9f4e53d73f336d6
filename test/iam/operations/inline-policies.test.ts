// Inline policies of users and roles through the one invoke path: AWS's answers and errors, and
// one trail record per call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../../src/core/call-context.js';
import { errorCode, makeHome, type TestHome } from '../../helpers/home.js';
import { lastRecord, recordsOf } from '../trail.js';

let h: TestHome;
let alice: CallContext;
const doc = (action = 'kms:Decrypt') => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }] });
const call = (op: string, params: Record<string, unknown>) => h.app.iam.call(alice, op, params);

beforeAll(() => {
  h = makeHome();
  alice = h.app.as('Alice');
  h.app.iam.createUser(alice, 'Bob');
  h.app.iam.createRole(alice, 'App');
});
afterAll(() => h.cleanup());

describe('PutUserPolicy, GetUserPolicy, ListUserPolicies, DeleteUserPolicy', () => {
  it('a put policy is listed and returned URL-encoded, as IAM returns it; a second put replaces it', () => {
    expect(call('PutUserPolicy', { UserName: 'Bob', PolicyName: 'decrypt', PolicyDocument: doc() })).toEqual({});
    call('PutUserPolicy', { UserName: 'Bob', PolicyName: 'decrypt', PolicyDocument: doc('kms:Encrypt') });
    expect(call('ListUserPolicies', { UserName: 'Bob' })).toEqual({ PolicyNames: ['decrypt'] });
    const got = call('GetUserPolicy', { UserName: 'Bob', PolicyName: 'decrypt' });
    expect(got).toEqual({ UserName: 'Bob', PolicyName: 'decrypt', PolicyDocument: encodeURIComponent(doc('kms:Encrypt')).replace(/\*/g, '%2A') });
    expect(decodeURIComponent(got.PolicyDocument as string)).toBe(doc('kms:Encrypt'));
  });

  it('the trail records the document in requestParameters, as IAM records do', () => {
    const rec = lastRecord(h, 'PutUserPolicy');
    expect(rec).toMatchObject({ eventSource: 'iam.amazonaws.com', requestParameters: { userName: 'Bob', policyName: 'decrypt', policyDocument: doc('kms:Encrypt') }, responseElements: null });
  });

  it('NoSuchEntity for an unknown user or policy, in IAM words', () => {
    expect(() => call('PutUserPolicy', { UserName: 'Nobody', PolicyName: 'p', PolicyDocument: doc() })).toThrow('The user with name Nobody cannot be found.');
    expect(() => call('GetUserPolicy', { UserName: 'Bob', PolicyName: 'missing' })).toThrow('The user policy with name missing cannot be found.');
    expect(errorCode(() => call('DeleteUserPolicy', { UserName: 'Bob', PolicyName: 'missing' }))).toBe('NoSuchEntity');
    expect(errorCode(() => call('ListUserPolicies', { UserName: 'Nobody' }))).toBe('NoSuchEntity');
  });

  it('MalformedPolicyDocument for text that is not JSON or has no Statement; nothing is stored', () => {
    expect(errorCode(() => call('PutUserPolicy', { UserName: 'Bob', PolicyName: 'bad', PolicyDocument: 'not json' }))).toBe('MalformedPolicyDocument');
    expect(() => call('PutUserPolicy', { UserName: 'Bob', PolicyName: 'bad', PolicyDocument: '{"Version":"2012-10-17"}' })).toThrow('Missing required field Statement');
    expect(call('ListUserPolicies', { UserName: 'Bob' })).toEqual({ PolicyNames: ['decrypt'] });
  });

  it("a user's inline policies together stay within 2048 characters (LimitExceeded)", () => {
    const big = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: Array.from({ length: 200 }, (_, i) => `kms:Action${i}`), Resource: '*' }] });
    expect(() => call('PutUserPolicy', { UserName: 'Bob', PolicyName: 'big', PolicyDocument: big })).toThrow('Maximum policy size of 2048 bytes exceeded for user Bob');
  });

  it('a name or document member the model refuses is ValidationError (not ValidationException)', () => {
    expect(errorCode(() => call('PutUserPolicy', { UserName: 'Bob', PolicyName: 'a b', PolicyDocument: doc() }))).toBe('ValidationError');
    expect(() => call('GetUserPolicy', { UserName: 'Bob' })).toThrow("1 validation error detected: Value null at 'policyName' failed to satisfy constraint: Member must not be null");
    expect(errorCode(() => call('PutUserPolicy', { UserName: 'Bob', PolicyName: 'p', PolicyDocument: '{"Statement":"\u0100"}' }))).toBe('ValidationError');
  });

  it('deleting removes it; a second delete is NoSuchEntity', () => {
    call('PutUserPolicy', { UserName: 'Bob', PolicyName: 'temp', PolicyDocument: doc() });
    expect(call('DeleteUserPolicy', { UserName: 'Bob', PolicyName: 'temp' })).toEqual({});
    expect(errorCode(() => call('DeleteUserPolicy', { UserName: 'Bob', PolicyName: 'temp' }))).toBe('NoSuchEntity');
  });

  it('__proto__ is just a policy name, and a key in a document is just data', () => {
    const text = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"__proto__":"x"}}}]}';
    call('PutUserPolicy', { UserName: 'Bob', PolicyName: '__proto__', PolicyDocument: text });
    expect((call('ListUserPolicies', { UserName: 'Bob' }).PolicyNames as string[]).sort()).toEqual(['__proto__', 'decrypt']);
    expect(decodeURIComponent(call('GetUserPolicy', { UserName: 'Bob', PolicyName: '__proto__' }).PolicyDocument as string)).toBe(text);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    call('DeleteUserPolicy', { UserName: 'Bob', PolicyName: '__proto__' });
  });
});

describe('PutRolePolicy, GetRolePolicy, ListRolePolicies, DeleteRolePolicy', () => {
  it('the same for a role, with the role words in errors and a 10240-character quota', () => {
    call('PutRolePolicy', { RoleName: 'App', PolicyName: 'decrypt', PolicyDocument: doc() });
    expect(call('ListRolePolicies', { RoleName: 'App' })).toEqual({ PolicyNames: ['decrypt'] });
    expect(decodeURIComponent(call('GetRolePolicy', { RoleName: 'App', PolicyName: 'decrypt' }).PolicyDocument as string)).toBe(doc());
    expect(() => call('GetRolePolicy', { RoleName: 'App', PolicyName: 'x' })).toThrow('The role policy with name x cannot be found.');
    expect(() => call('PutRolePolicy', { RoleName: 'Nope', PolicyName: 'x', PolicyDocument: doc() })).toThrow('The role with name Nope cannot be found.');
    const big = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: Array.from({ length: 200 }, (_, i) => `kms:Action${i}`), Resource: '*' }] });
    call('PutRolePolicy', { RoleName: 'App', PolicyName: 'big', PolicyDocument: big });
    call('DeleteRolePolicy', { RoleName: 'App', PolicyName: 'big' });
    expect(call('ListRolePolicies', { RoleName: 'App' })).toEqual({ PolicyNames: ['decrypt'] });
  });
});

describe('the trail', () => {
  it('records each call once, success or failure', () => {
    const before = recordsOf(h, 'GetRolePolicy').length;
    call('GetRolePolicy', { RoleName: 'App', PolicyName: 'decrypt' });
    expect(errorCode(() => call('GetRolePolicy', { RoleName: 'App', PolicyName: 'nope' }))).toBe('NoSuchEntity');
    const recs = recordsOf(h, 'GetRolePolicy').slice(before);
    expect(recs.map((r) => r.errorCode ?? 'ok')).toEqual(['ok', 'NoSuchEntity']);
    expect(recs[1]).toMatchObject({ errorMessage: 'The role policy with name nope cannot be found.', readOnly: true });
  });
});
