// Condition keys built only when asked, one group at a time: the same decisions as a plain map,
// without building the groups no condition names.
import { describe, expect, it } from 'vitest';
import { evaluate, LazyConditionKeys, parsePolicy, type NamedPolicy, type RequestContext } from '../../src/policy/index.js';

const policy = (text: string, type: NamedPolicy['type'] = 'identity-based'): NamedPolicy => ({ name: 'p', type, document: parsePolicy(text, 'identity') });
const request = (keys: ReadonlyMap<string, string | readonly string[]>): RequestContext => ({
  action: 'kms:Decrypt', resource: '*', resourceAccount: '111122223333', principal: { arn: 'arn:aws:iam::111122223333:user/u', accountId: '111122223333' }, keys,
});

describe('LazyConditionKeys', () => {
  const conditioned = policy(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*', Condition: { StringEquals: { 'KMS:ViaService': 'ec2.us-east-1.amazonaws.com' } } }] }));
  const plain = policy(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }));

  it('decides as a plain map does, building only the group a condition names (case-insensitively)', () => {
    const built: string[] = [];
    const lazy = (via: string) => new LazyConditionKeys([
      { prefix: 'aws:', build: () => (built.push('aws'), new Map([['aws:SourceIp', '10.0.0.1']])) },
      { prefix: 'kms:', build: () => (built.push('kms'), new Map([['kms:ViaService', via]])) },
    ]);
    for (const via of ['ec2.us-east-1.amazonaws.com', 'rds.us-east-1.amazonaws.com']) {
      const plainMap = new Map([['aws:SourceIp', '10.0.0.1'], ['kms:ViaService', via]]);
      const expected = evaluate(request(plainMap), { identityPolicies: [conditioned], resourcePolicyRequired: false }).decision;
      built.length = 0;
      expect(evaluate(request(lazy(via)), { identityPolicies: [conditioned], resourcePolicyRequired: false }, { explain: false }).decision).toBe(expected);
      expect(built).toEqual(['kms']);
    }
    built.length = 0;
    expect(evaluate(request(lazy('x')), { identityPolicies: [plain], resourcePolicyRequired: false }, { explain: false }).decision).toBe('Allow');
    expect(built).toEqual([]);
  });

  it('is a whole map when iterated', () => {
    const keys = new LazyConditionKeys([{ prefix: 'aws:', build: () => new Map([['aws:username', 'u']]) }, { prefix: 'kms:', build: () => new Map([['kms:CallerAccount', '1']]) }]);
    expect([...keys]).toEqual([['aws:username', 'u'], ['kms:CallerAccount', '1']]);
    expect(keys.size).toBe(2);
    expect(keys.getLower('kms:calleraccount')).toBe('1');
    expect(keys.getLower('s3:prefix')).toBeUndefined();
  });
});
