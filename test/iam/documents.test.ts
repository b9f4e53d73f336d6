// Policy documents on the way in: IAM's MalformedPolicyDocument words, sizes without white space.
import { describe, expect, it } from 'vitest';
import { accountRootTrustPolicy, checkPolicyDocument, policySize, urlEncodeDocument } from '../../src/iam/documents.js';
import { errorCode } from '../helpers/home.js';

const allowAll = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}';

function malformed(text: string, kind: 'identity' | 'trust' = 'identity'): string {
  try {
    checkPolicyDocument(text, kind);
  } catch (err) {
    expect((err as { code: string }).code).toBe('MalformedPolicyDocument');
    return (err as Error).message;
  }
  throw new Error('expected MalformedPolicyDocument');
}

describe('checkPolicyDocument', () => {
  it('accepts an identity policy, one statement or a list, and the trust policy ebsim gives by default', () => {
    expect(() => checkPolicyDocument(allowAll, 'identity')).not.toThrow();
    expect(() => checkPolicyDocument('{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"kms:*","NotResource":"*"}}', 'identity')).not.toThrow();
    expect(() => checkPolicyDocument(accountRootTrustPolicy('123456789012'), 'trust')).not.toThrow();
  });

  it('text that is not JSON, or not an object, is "Syntax errors in policy."', () => {
    for (const t of ['not json', '[]', '"x"', '{"Version":"2012-10-17","Statement":[1]}', '{"Statement":[],"Extra":1}']) expect(malformed(t), t).toBe('Syntax errors in policy.');
  });

  it('a document without Statement says which field is missing', () => {
    expect(malformed('{"Version":"2012-10-17"}')).toBe('Missing required field Statement');
    expect(malformed('{"Version":"2012-10-17","Statement":{"Action":"*","Resource":"*"}}')).toBe('Missing required field Effect');
  });

  it('an identity policy names no principal and needs resources; a trust policy is the other way round', () => {
    expect(malformed('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}')).toBe('Policy document should not specify a principal.');
    expect(malformed('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}')).toBe('Policy statement must contain resources.');
    expect(malformed(allowAll, 'trust')).toBe('Missing required field Principal');
    expect(malformed('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}', 'trust')).toBe('Has prohibited field Resource');
  });

  it('an unknown Version fails', () => {
    expect(malformed('{"Version":"2020-01-01","Statement":[]}')).toBe('The policy failed legacy parsing');
  });

  it('__proto__ in a document is just a key of the data', () => {
    expect(() => checkPolicyDocument('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"__proto__":"x"}}}]}', 'identity')).not.toThrow();
    expect(malformed('{"__proto__":{"Statement":[]},"Version":"2012-10-17"}')).toBe('Syntax errors in policy.');
    expect(({} as Record<string, unknown>).Statement).toBeUndefined();
  });
});

describe('sizes and encoding', () => {
  it('IAM counts characters other than white space', () => {
    expect(policySize(' {\n\t"a" : 1 }\r\n')).toBe(7);
  });

  it('URL-encodes as RFC 3986 (what IAM returns), and decodeURIComponent gives the text back', () => {
    const t = '{"a": "b*(c)!\'"}';
    expect(urlEncodeDocument(t)).toBe('%7B%22a%22%3A%20%22b%2A%28c%29%21%27%22%7D');
    expect(decodeURIComponent(urlEncodeDocument(t))).toBe(t);
    expect(errorCode(() => checkPolicyDocument('', 'identity'))).toBe('MalformedPolicyDocument');
  });
});
