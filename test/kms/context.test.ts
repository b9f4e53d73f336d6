import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { contextEquals, contextIncludes, encodeContext, validateContext } from '../../src/kms/context.js';

const ctxArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 5 });

describe('encryption context encoding', () => {
  it('does not let {"ab":"c"} and {"a":"bc"} collide (the bug of delimiter-free encodings)', () => {
    expect(encodeContext({ ab: 'c' }).equals(encodeContext({ a: 'bc' }))).toBe(false);
    expect(encodeContext({ a: 'b', c: '' }).equals(encodeContext({ a: 'bc' }))).toBe(false);
  });

  it('is independent of key order', () => {
    expect(encodeContext({ x: '1', y: '2' }).equals(encodeContext({ y: '2', x: '1' }))).toBe(true);
  });

  it('is injective: different contexts never encode to the same bytes', () => {
    fc.assert(
      fc.property(ctxArb, ctxArb, (a, b) => {
        const same = encodeContext(a).equals(encodeContext(b));
        expect(same).toBe(contextEquals(a, b));
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects non-string values and oversized contexts with ValidationException', () => {
    expect(() => validateContext({ a: 1 })).toThrow(/Member must be a string/);
    expect(() => validateContext({ k: 'x'.repeat(9000) })).toThrow(/maximum size/);
    expect(() => validateContext(['a'])).toThrow(/map of string to string/);
  });

  it('subset and equality follow the grant constraint definitions', () => {
    expect(contextIncludes({ a: '1', b: '2' }, { a: '1' })).toBe(true);
    expect(contextIncludes({ a: '1' }, { a: '1', b: '2' })).toBe(false);
    expect(contextIncludes({ a: '2' }, { a: '1' })).toBe(false);
    expect(contextEquals({ a: '1' }, { a: '1', b: '2' })).toBe(false);
  });
});
