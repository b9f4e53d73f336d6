// The condition operators, one table: each row an operator, the policy's values, the request's
// value for the key (undefined: absent) and whether the condition is met. The rules are IAM's
// ("Condition operators", "Set operators for multivalued context keys").
import { describe, expect, it } from 'vitest';
import { compileCondition, conditionMet, parseOperator } from '../../src/policy/conditions.js';
import { RequestKeys } from '../../src/policy/request-keys.js';
import type { ConditionValue } from '../../src/policy/index.js';

function met(operator: string, values: string[], value: ConditionValue | undefined, extra: Record<string, ConditionValue> = {}, key = 'test:Key'): boolean {
  const op = parseOperator(operator);
  if (!op) throw new Error(`no operator ${operator}`);
  const keys = new Map<string, ConditionValue>(Object.entries(extra));
  if (value !== undefined) keys.set(key, value);
  return conditionMet(compileCondition(op, key, values, true), new RequestKeys(keys));
}

type Row = [operator: string, policy: string[], request: ConditionValue | undefined, expected: boolean];

const rows: Row[] = [
  // strings
  ['StringEquals', ['a', 'b'], 'b', true],
  ['StringEquals', ['a'], 'A', false],
  ['StringEquals', ['a*'], 'ab', false], // no wildcards in StringEquals
  ['StringEquals', ['a'], undefined, false],
  ['StringNotEquals', ['a', 'b'], 'c', true],
  ['StringNotEquals', ['a', 'b'], 'a', false],
  ['StringNotEquals', ['a'], undefined, true], // negated: met when absent
  ['StringEqualsIgnoreCase', ['ABC'], 'abc', true],
  ['StringNotEqualsIgnoreCase', ['ABC'], 'abc', false],
  ['StringLike', ['ec2.*.amazonaws.com'], 'ec2.us-east-1.amazonaws.com', true],
  ['StringLike', ['vol-????'], 'vol-1234', true],
  ['StringLike', ['vol-????'], 'vol-12345', false],
  ['StringLike', ['*'], '', true],
  ['StringNotLike', ['ec2.*'], 'rds.us-east-1.amazonaws.com', true],
  ['StringNotLike', ['ec2.*'], undefined, true],
  // IfExists
  ['StringEqualsIfExists', ['a'], undefined, true],
  ['StringEqualsIfExists', ['a'], 'b', false],
  ['StringLikeIfExists', ['a*'], 'abc', true],
  // numbers
  ['NumericEquals', ['64'], '64', true],
  ['NumericEquals', ['64'], '64.0', true],
  ['NumericNotEquals', ['64'], '32', true],
  ['NumericLessThan', ['1024'], '512', true],
  ['NumericLessThan', ['1024'], '1024', false],
  ['NumericLessThanEquals', ['1024'], '1024', true],
  ['NumericGreaterThan', ['10'], '11', true],
  ['NumericGreaterThanEquals', ['10'], '9', false],
  ['NumericLessThan', ['10'], 'ten', false],
  ['NumericGreaterThanIfExists', ['10'], undefined, true],
  // dates: ISO 8601 and epoch seconds, either side
  ['DateLessThan', ['2026-12-01T00:00:00Z'], '2026-11-29T04:35:48Z', true],
  ['DateGreaterThan', ['2026-12-01T00:00:00Z'], '2026-11-29T04:35:48Z', false],
  ['DateEquals', ['2026-11-29T00:00:00Z'], '1795910400', true],
  ['DateLessThanEquals', ['1795910400'], '2026-11-29T00:00:00Z', true],
  ['DateNotEquals', ['2026-11-29T00:00:00Z'], '2026-11-30T00:00:00Z', true],
  ['DateGreaterThanEquals', ['2026-01-01'], '2026-11-29T04:35:48Z', true],
  ['DateLessThan', ['2026-12-01T00:00:00Z'], 'yesterday', false],
  // Bool and binary
  ['Bool', ['true'], 'true', true],
  ['Bool', ['true'], 'TRUE', true],
  ['Bool', ['true'], 'false', false],
  ['Bool', ['false'], undefined, false],
  ['BoolIfExists', ['false'], undefined, true],
  ['BinaryEquals', ['QmluYXJ5VmFsdWU='], 'QmluYXJ5VmFsdWU=', true],
  ['BinaryEquals', ['QmluYXJ5VmFsdWU='], 'QmluYXJ5', false],
  // IP addresses, IPv4 and IPv6
  ['IpAddress', ['203.0.113.0/24'], '203.0.113.7', true],
  ['IpAddress', ['203.0.113.0/24'], '203.0.114.7', false],
  ['IpAddress', ['203.0.113.7'], '203.0.113.7', true],
  ['IpAddress', ['0.0.0.0/0'], '8.8.8.8', true],
  ['IpAddress', ['2001:DB8:1234:5678::/64'], '2001:db8:1234:5678::1', true],
  ['IpAddress', ['2001:db8:1234:5678::/64'], '2001:db8:1234:5679::1', false],
  ['IpAddress', ['2001:db8::/32'], '2001:0db8:ffff:0000:0000:0000:0000:0001', true],
  ['IpAddress', ['::ffff:203.0.113.0/120'], '203.0.113.9', true],
  ['IpAddress', ['203.0.113.0/24'], '2001:db8::1', false],
  ['IpAddress', ['203.0.113.0/24'], 'AWS Internal', false],
  ['NotIpAddress', ['203.0.113.0/24'], '198.51.100.1', true],
  ['NotIpAddress', ['203.0.113.0/24'], '203.0.113.1', false],
  ['NotIpAddress', ['203.0.113.0/24'], undefined, true],
  // ARNs: component by component, a * does not cross a colon
  ['ArnEquals', ['arn:aws:iam::111122223333:role/R'], 'arn:aws:iam::111122223333:role/R', true],
  ['ArnLike', ['arn:aws:iam::*:role/R'], 'arn:aws:iam::111122223333:role/R', true],
  ['ArnLike', ['arn:aws:iam::111122223333:role/*'], 'arn:aws:iam::111122223333:role/path/R', true],
  ['ArnLike', ['arn:aws:*:us-*:111122223333:*'], 'arn:aws:kms:us-east-1:111122223333:key/k', true],
  ['ArnLike', ['arn:aws:iam::*'], 'arn:aws:iam::111122223333:role/R', true], // fewer than six components: matched as a whole (AWS does not document this case)
  ['ArnLike', ['arn:aws:kms:*:111122223333:key/*'], 'arn:aws:kms:us-east-1:444455556666:key/k', false],
  ['ArnLike', ['arn:aws:iam::111122223333:role/R'], 'not-an-arn', false],
  ['ArnNotLike', ['arn:aws:iam::111122223333:*'], 'arn:aws:iam::444455556666:user/U', true],
  ['ArnNotEquals', ['arn:aws:iam::111122223333:role/R'], undefined, true],
  // Null: presence only
  ['Null', ['true'], undefined, true],
  ['Null', ['true'], 'x', false],
  ['Null', ['false'], 'x', true],
  ['Null', ['false'], undefined, false],
  ['Null', ['true'], [], true],
];

describe('condition operators', () => {
  it.each(rows)('%s %j with request %j → %s', (operator, policy, request, expected) => {
    expect(met(operator, policy, request)).toBe(expected);
  });

  it('operator names are read case-insensitively and spelled canonically', () => {
    expect(parseOperator('stringequalsifexists')?.name).toBe('StringEqualsIfExists');
    expect(parseOperator('forallvalues:StringLike')?.name).toBe('ForAllValues:StringLike');
    expect(parseOperator('ForAnyValue:Null')).toBeUndefined();
    expect(parseOperator('StringEqualz')).toBeUndefined();
  });
});

describe('multivalued keys and the set operators', () => {
  const tags = ['env', 'team'];
  const multi: Row[] = [
    // ForAllValues: every request value matches some policy value; absent or empty → true
    ['ForAllValues:StringEquals', ['env', 'team', 'cost'], tags, true],
    ['ForAllValues:StringEquals', ['env'], tags, false],
    ['ForAllValues:StringEquals', ['env'], undefined, true],
    ['ForAllValues:StringEquals', ['env'], [], true],
    ['ForAllValues:StringLike', ['e*', 't*'], tags, true],
    // ForAnyValue: some request value matches; absent or empty → false
    ['ForAnyValue:StringEquals', ['team'], tags, true],
    ['ForAnyValue:StringEquals', ['cost'], tags, false],
    ['ForAnyValue:StringEquals', ['env'], undefined, false],
    ['ForAnyValue:StringEquals', ['env'], [], false],
    ['ForAnyValue:StringEqualsIfExists', ['env'], undefined, true],
    // negated with set operators
    ['ForAllValues:StringNotEquals', ['secret'], tags, true],
    ['ForAllValues:StringNotEquals', ['team'], tags, false],
    ['ForAnyValue:StringNotEquals', ['env'], tags, true],
    ['ForAnyValue:StringNotEquals', ['env', 'team'], tags, false],
    ['ForAnyValue:StringNotEquals', ['env'], undefined, false],
    // single-valued operators on a multivalued key: a positive one matches if any value does,
    // a negated one only if none does
    ['StringEquals', ['team'], tags, true],
    ['StringEquals', ['cost'], tags, false],
    ['StringNotEquals', ['team'], tags, false],
    ['StringNotEquals', ['cost'], tags, true],
    ['StringEquals', ['x'], [], false],
    ['StringNotEquals', ['x'], [], true],
    ['ForAnyValue:IpAddress', ['10.0.0.0/8'], ['192.0.2.1', '10.1.2.3'], true],
  ];
  it.each(multi)('%s %j with request %j → %s', (operator, policy, request, expected) => {
    expect(met(operator, policy, request)).toBe(expected);
  });
});

describe('policy variables in condition values', () => {
  const who = { 'aws:username': 'Alice', 'aws:PrincipalAccount': '111122223333' };
  it('are replaced by the request\'s values, looked up case-insensitively', () => {
    expect(met('StringEquals', ['home/${aws:username}'], 'home/Alice', who)).toBe(true);
    expect(met('StringEquals', ['home/${AWS:UserName}'], 'home/Alice', who)).toBe(true);
    expect(met('StringLike', ['arn:aws:s3:::b/${aws:username}/*'], 'arn:aws:s3:::b/Alice/x', who)).toBe(true);
    expect(met('ArnLike', ['arn:aws:iam::${aws:PrincipalAccount}:role/*'], 'arn:aws:iam::111122223333:role/R', who)).toBe(true);
  });

  it('a variable with no value makes that value not match (and a negated operator then holds)', () => {
    expect(met('StringEquals', ['${aws:username}'], 'Alice', {})).toBe(false);
    expect(met('StringEquals', ['${aws:username}', 'Bob'], 'Bob', {})).toBe(true);
    expect(met('StringNotEquals', ['${aws:username}'], 'Alice', {})).toBe(true);
  });

  it('a default applies when the key is absent', () => {
    expect(met('StringEquals', ["${aws:username, 'nobody'}"], 'nobody', {})).toBe(true);
  });

  it('${*}, ${?} and ${$} are the literal characters, not wildcards', () => {
    expect(met('StringLike', ['a${*}'], 'a*', {})).toBe(true);
    expect(met('StringLike', ['a${*}'], 'abc', {})).toBe(false);
    expect(met('StringLike', ['a${?}'], 'a?', {})).toBe(true);
    expect(met('StringEquals', ['${$}5'], '$5', {})).toBe(true);
  });

  it('a variable\'s value is literal even under StringLike', () => {
    expect(met('StringLike', ['${aws:username}'], 'Alice', { 'aws:username': 'A*' })).toBe(false);
    expect(met('StringLike', ['${aws:username}'], 'A*', { 'aws:username': 'A*' })).toBe(true);
  });

  it('a Version 2008-10-17 document has no variables: "${" is literal', () => {
    const op = parseOperator('StringEquals')!;
    const keys = new RequestKeys(new Map<string, ConditionValue>([['test:Key', '${aws:username}'], ['aws:username', 'Alice']]));
    expect(conditionMet(compileCondition(op, 'test:Key', ['${aws:username}'], false), keys)).toBe(true);
  });
});

describe('odd condition keys', () => {
  it('"__proto__" and "constructor" are keys like any other', () => {
    expect(met('StringEquals', ['x'], 'x', {}, '__proto__')).toBe(true);
    expect(met('StringEquals', ['x'], undefined, {}, 'constructor')).toBe(false);
    expect(met('Null', ['true'], undefined, {}, '__proto__')).toBe(true);
  });
});
