// parsePolicy: each syntax error with AWS's message (IAM's MalformedPolicyDocument texts, KMS's
// for principals), and user-supplied maps that are never plain objects.
import { describe, expect, it } from 'vitest';
import { parsePolicy, PolicySyntaxError, type PolicyKind } from '../../src/policy/index.js';

const stmt = (extra: Record<string, unknown> = {}) => ({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*', ...extra });
const keyStmt = (extra: Record<string, unknown> = {}) => stmt({ Principal: { AWS: 'arn:aws:iam::111122223333:root' }, ...extra });
const doc = (...Statement: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement });

function error(text: string, kind: PolicyKind): PolicySyntaxError {
  try {
    parsePolicy(text, kind);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicySyntaxError);
    return e as PolicySyntaxError;
  }
  throw new Error('parsePolicy accepted the document');
}

describe('parsePolicy: valid documents', () => {
  it('reads a single Statement object, string or list values, and defaults Version to 2008-10-17', () => {
    const d = parsePolicy(JSON.stringify({ Statement: stmt({ Sid: 'One', Action: ['kms:Encrypt', 'kms:Decrypt'] }) }), 'identity');
    expect(d.version).toBe('2008-10-17');
    expect(d.statements).toEqual([{ index: 0, sid: 'One', effect: 'Allow', action: ['kms:Encrypt', 'kms:Decrypt'], resource: ['*'] }]);
  });

  it('reads principals into a Map and conditions into Maps, booleans and numbers as strings', () => {
    const d = parsePolicy(
      doc(keyStmt({ Principal: { AWS: ['111122223333', 'arn:aws:iam::111122223333:role/path/R'], Service: 'ec2.amazonaws.com' }, Condition: { Bool: { 'aws:SecureTransport': true }, NumericLessThan: { 'kms:NumberOfBytes': 65 } } })),
      'key',
    );
    const s = d.statements[0]!;
    expect(s.principal).toEqual(new Map([['AWS', ['111122223333', 'arn:aws:iam::111122223333:role/path/R']], ['Service', ['ec2.amazonaws.com']]]));
    expect(s.condition!.get('Bool')!.get('aws:SecureTransport')).toEqual(['true']);
    expect(s.condition!.get('NumericLessThan')!.get('kms:NumberOfBytes')).toEqual(['65']);
  });

  it('a trust policy needs no Resource; a key policy\'s Sid may hold spaces', () => {
    expect(parsePolicy(doc({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: {} }), 'trust').statements[0]!.resource).toBeUndefined();
    expect(parsePolicy(doc(keyStmt({ Sid: 'Enable IAM User Permissions' })), 'key').statements[0]!.sid).toBe('Enable IAM User Permissions');
  });

  it('"__proto__" and "constructor" are just condition keys, kept in a Map, and leave Object.prototype alone', () => {
    const text = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"__proto__":"x","constructor":["y"]}}}}`;
    const cond = parsePolicy(text, 'identity').statements[0]!.condition!.get('StringEquals')!;
    expect(cond).toBeInstanceOf(Map);
    expect([...cond]).toEqual([['__proto__', ['x']], ['constructor', ['y']]]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('parsePolicy: syntax errors and their messages', () => {
  const cases: [string, string, PolicyKind, string, RegExp?][] = [
    ['not JSON', '{"Statement": [', 'identity', 'Syntax errors in policy.', /not valid JSON/],
    ['not an object', '[]', 'identity', 'Syntax errors in policy.'],
    ['an unknown top-level field', JSON.stringify({ Statement: stmt(), Extra: 1 }), 'identity', 'Syntax errors in policy.', /unknown field "Extra"/],
    ['an unknown statement field', doc(stmt({ Actions: 'x' })), 'identity', 'Syntax errors in policy.', /unknown field "Actions"/],
    ['a bad Version', JSON.stringify({ Version: '2020-01-01', Statement: stmt() }), 'identity', 'Syntax errors in policy.', /Version/],
    ['no Statement', JSON.stringify({ Version: '2012-10-17' }), 'identity', 'Syntax errors in policy.', /Missing required field Statement/],
    ['a bad Effect', doc(stmt({ Effect: 'allow' })), 'identity', 'Syntax errors in policy.', /Effect/],
    ['no Action', doc({ Effect: 'Allow', Resource: '*' }), 'identity', 'Policy statement must contain actions.'],
    ['an empty Action list', doc(stmt({ Action: [] })), 'identity', 'Syntax errors in policy.', /empty list/],
    ['Action and NotAction', doc(stmt({ NotAction: 'kms:Encrypt' })), 'identity', 'Syntax errors in policy.', /both Action and NotAction/],
    ['an Action of the wrong type', doc(stmt({ Action: { a: 1 } })), 'identity', 'Syntax errors in policy.'],
    ['an action without a vendor', doc(stmt({ Action: 'Decrypt' })), 'identity', 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.'],
    ['an action with two colons', doc(stmt({ Action: 'kms:Decrypt:x' })), 'identity', 'Actions/Condition can contain only one colon.'],
    ['no Resource in an identity policy', doc({ Effect: 'Allow', Action: '*' }), 'identity', 'Policy statement must contain resources.'],
    ['no Resource in a key policy', doc({ Effect: 'Allow', Principal: '*', Action: 'kms:*' }), 'key', 'Policy statement must contain resources.'],
    ['a Resource that is no ARN', doc(stmt({ Resource: 'my-key' })), 'identity', 'Resource my-key must be in ARN format or "*".'],
    ['a Principal in an identity policy', doc(stmt({ Principal: '*' })), 'identity', 'Policy document should not specify a principal.'],
    ['a NotPrincipal in a session policy', doc(stmt({ NotPrincipal: { AWS: '111122223333' } })), 'session', 'Policy document should not specify a principal.'],
    ['no Principal in a trust policy', doc({ Effect: 'Allow', Action: 'sts:AssumeRole' }), 'trust', 'Missing required field Principal'],
    // IAM User Guide, "NotPrincipal": not in an IAM role trust policy (an Allow with it would trust every other principal).
    ['a NotPrincipal in a trust policy', doc({ Effect: 'Allow', NotPrincipal: { AWS: '111122223333' }, Action: 'sts:AssumeRole' }), 'trust', 'Syntax errors in policy.', /NotPrincipal/],
    ['no Principal in a key policy', doc(stmt()), 'key', 'Policy contains a statement with one or more invalid principals.'],
    ['a wildcard inside a principal ARN (key policy)', doc(keyStmt({ Principal: { AWS: 'arn:aws:iam::111122223333:role/*' } })), 'key', 'Policy contains a statement with one or more invalid principals.'],
    ['a wildcard inside a principal ARN (trust policy)', doc({ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:user/*' }, Action: 'sts:AssumeRole' }), 'trust', 'Invalid principal in policy: "AWS":"arn:aws:iam::111122223333:user/*"'],
    ['an unknown principal type', doc(keyStmt({ Principal: { Amazon: 'x' } })), 'key', 'Policy contains a statement with one or more invalid principals.'],
    ['"__proto__" as a principal type', '{"Statement":{"Effect":"Allow","Principal":{"__proto__":"111122223333"},"Action":"kms:*","Resource":"*"}}', 'key', 'Policy contains a statement with one or more invalid principals.'],
    ['"constructor" as a principal type', '{"Statement":{"Effect":"Allow","Principal":{"constructor":"111122223333"},"Action":"sts:AssumeRole"}}', 'trust', 'Invalid principal in policy: "constructor":"111122223333"'],
    ['a principal that is no account or ARN', doc(keyStmt({ Principal: { AWS: 'alice' } })), 'key', 'Policy contains a statement with one or more invalid principals.'],
    ['an invalid service principal', doc(keyStmt({ Principal: { Service: 'ec2' } })), 'key', 'Policy contains a statement with one or more invalid principals.'],
    ['duplicate Sids', doc(stmt({ Sid: 'A' }), stmt({ Sid: 'A' })), 'identity', 'Statement IDs (SID) in a single policy must be unique.'],
    ['a Sid with spaces outside a key policy', doc(stmt({ Sid: 'A B' })), 'identity', 'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*'],
    ['an unknown condition operator', doc(stmt({ Condition: { StringEqualz: { 'aws:username': 'a' } } })), 'identity', 'Syntax errors in policy.', /unknown condition operator "StringEqualz"/],
    ['"__proto__" as a condition operator', '{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"__proto__":{"a":"b"}}}}', 'identity', 'Syntax errors in policy.', /unknown condition operator "__proto__"/],
    ['Null with IfExists', doc(stmt({ Condition: { NullIfExists: { 'aws:username': 'true' } } })), 'identity', 'Syntax errors in policy.'],
    ['a condition value that is an object', doc(stmt({ Condition: { StringEquals: { 'aws:username': { a: 1 } } } })), 'identity', 'Syntax errors in policy.'],
    ['an IpAddress that is no address', doc(stmt({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } } })), 'identity', 'Syntax errors in policy.', /not an IP address/],
  ];
  it.each(cases)('%s', (_what, text, kind, message, detail) => {
    const e = error(text, kind);
    expect(e.message).toBe(message);
    if (detail) expect(e.detail).toMatch(detail);
  });
});
