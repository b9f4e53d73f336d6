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

  // Found by the h21 sweep: "\ud800" and "\udfff" both became U+FFFD's bytes, so a blob sealed
  // under one context opened under the other.
  it('refuses lone UTF-16 surrogates, so validated contexts stay injective over any UTF-16', () => {
    for (const ctx of [{ '\ud800': 'x' }, { a: '\udfff' }, { a: 'ok\udc00' }]) expect(() => validateContext(ctx)).toThrow(/well-formed Unicode/);
    expect(validateContext({ '🔑': '𝄞 clé' })).toEqual({ '🔑': '𝄞 clé' }); // pairs are fine
    // Any context, and the same with each unit swapped for another that UTF-8 cannot tell apart from
    // it (lone surrogates and U+FFFD all encode as EF BF BD): equal bytes only for equal contexts.
    const unit = fc.constantFrom('a', '\ud800', '\udfff', '\udc00', '\ud83d\udd11', '\ufffd');
    const ctx = fc.dictionary(fc.string({ unit, minLength: 1, maxLength: 3 }), fc.string({ unit, maxLength: 3 }), { maxKeys: 3 });
    const blur = (t: string) => t.replace(/\p{Cs}|\ufffd/gu, (c) => (c === '\ud800' ? '\ufffd' : '\ud800'));
    const valid = (c: Record<string, string>) => {
      try {
        return validateContext(c);
      } catch {
        return undefined;
      }
    };
    fc.assert(
      fc.property(ctx, (a) => {
        const va = valid(a);
        const vb = valid(Object.fromEntries(Object.entries(a).map(([k, v]) => [blur(k), blur(v)])));
        if (va && vb) expect(encodeContext(va).equals(encodeContext(vb))).toBe(contextEquals(va, vb));
      }),
      { numRuns: 2000 },
    );
  });

  it('encodeContext itself refuses lone surrogates (ValidationException), so no caller that skips validateContext gets U+FFFD\'s bytes', () => {
    for (const ctx of [{ '\ud800': 'x' }, { a: '\udfff' }, { a: 'ok\udc00' }, { '\udbff\udbff': '' }]) {
      let err: unknown;
      try {
        encodeContext(ctx);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string } | undefined)?.code, JSON.stringify(ctx)).toBe('ValidationException');
      expect((err as Error).message).toMatch(/well-formed Unicode/);
    }
    // U+FFFD itself, and surrogate pairs, are characters like any other.
    expect(encodeContext({ a: '\ufffd' }).equals(encodeContext({ a: '\ufffd' }))).toBe(true);
    expect(encodeContext({ '🔑': '𝄞' }).length).toBe(4 + 4 + 4 + 4 + 4);
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
