// Wildcard matching against a tiny reference (a RegExp built from the pattern), on random
// patterns and strings over a small alphabet, and ARN component matching.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arnMatch, compileGlob, globMatch } from '../../src/policy/glob.js';
import { cidrContains, parseCidr, parseIp } from '../../src/policy/ip.js';

/** The reference: `*` → `.*`, `?` → `.`, everything else literal, anchored. */
function reference(pattern: string, text: string, ignoreCase = false): boolean {
  const body = [...pattern].map((c) => (c === '*' ? '[^]*' : c === '?' ? '[^]' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'i' : '').test(text);
}

describe('globMatch', () => {
  it('agrees with the RegExp reference on random patterns', () => {
    const alphabet = fc.constantFrom('a', 'b', ':', '/', '*', '?');
    const text = fc.constantFrom('a', 'b', ':', '/', 'A');
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 8 }), fc.string({ unit: text, maxLength: 10 }), (p, t) => {
        expect(globMatch(compileGlob(p), t)).toBe(reference(p, t));
        expect(globMatch(compileGlob(p, { ignoreCase: true }), t.toLowerCase())).toBe(reference(p, t, true));
      }),
      { numRuns: 3000 },
    );
  });

  it('fast paths: "*", a prefix, a literal', () => {
    expect(globMatch(compileGlob('*'), '')).toBe(true);
    expect(globMatch(compileGlob('kms:*'), 'kms:Decrypt')).toBe(true);
    expect(globMatch(compileGlob('kms:*'), 'km')).toBe(false);
    expect(globMatch(compileGlob('kms:Decrypt'), 'kms:Decrypt')).toBe(true);
    expect(globMatch(compileGlob('kms:Decrypt'), 'kms:DecryptX')).toBe(false);
  });

  it('a pattern with a variable never matches without a lookup', () => {
    expect(globMatch(compileGlob('a/${aws:username}', { variables: true }), 'a/Alice')).toBe(false);
    expect(globMatch(compileGlob('a/${aws:username}', { variables: true }), 'a/Alice', { single: () => 'Alice' })).toBe(true);
  });
});

describe('arnMatch', () => {
  it('a * stays within its component', () => {
    expect(arnMatch(compileGlob('arn:aws:kms:*:111122223333:key/*'), 'arn:aws:kms:us-east-1:111122223333:key/k')).toBe(true);
    expect(arnMatch(compileGlob('arn:aws:kms:*:111122223333:key/*'), 'arn:aws:kms:us-east-1:extra:111122223333:key/k')).toBe(false);
    expect(globMatch(compileGlob('arn:aws:kms:*:111122223333:key/*'), 'arn:aws:kms:us-east-1:extra:111122223333:key/k')).toBe(true);
    // the sixth component keeps its colons
    expect(arnMatch(compileGlob('arn:aws:logs:us-east-1:111122223333:log-group:*'), 'arn:aws:logs:us-east-1:111122223333:log-group:g:*')).toBe(true);
  });
});

describe('IP addresses', () => {
  it('parses IPv4, IPv6, compressed and embedded forms; refuses the rest', () => {
    expect([...parseIp('::1')!]).toEqual([...new Array(15).fill(0), 1]);
    expect(parseIp('2001:db8::8a2e:370:7334')).toEqual(parseIp('2001:0db8:0000:0000:0000:8a2e:0370:7334'));
    expect(parseIp('::ffff:192.0.2.1')).toEqual(parseIp('192.0.2.1'));
    for (const bad of ['256.1.1.1', '1.2.3', '1::2::3', '12345::', 'abc', '1:2:3:4:5:6:7:8:9', '']) expect(parseIp(bad)).toBeUndefined();
  });

  it('CIDR blocks: prefix bits, bare addresses, bad lengths', () => {
    expect(cidrContains(parseCidr('10.0.0.0/8')!, parseIp('10.255.0.1')!)).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/9')!, parseIp('10.128.0.1')!)).toBe(false);
    expect(cidrContains(parseCidr('2001:db8::/33')!, parseIp('2001:db8:8000::1')!)).toBe(false);
    expect(cidrContains(parseCidr('::/0')!, parseIp('10.0.0.1')!)).toBe(true);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('2001:db8::/129')).toBeUndefined();
    expect(parseCidr('10.0.0.0/x')).toBeUndefined();
  });
});
