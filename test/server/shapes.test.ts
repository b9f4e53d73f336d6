// Decoding by shape at the wire edge: types checked, maps and structures as null-prototype
// objects whose keys (even __proto__) survive, depth bounded without recursion.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeBody, MAX_BODY_DEPTH } from '../../src/server/json-protocol.js';
import { KMS_SHAPES } from '../../src/server/kms-handler.js';
import { deeperThan } from '../../src/server/shapes.js';

const decode = (text: string) => decodeBody(Buffer.from(text), KMS_SHAPES);
const SPECIAL = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

describe('decodeBody', () => {
  it('keeps __proto__ and other Object.prototype names as ordinary keys, in maps, structures and at the top', () => {
    const p = decode('{"EncryptionContext":{"__proto__":"a","constructor":"b"},"Constraints":{"EncryptionContextSubset":{"__proto__":"c"}},"__proto__":{"x":1}}');
    expect(Object.getPrototypeOf(p)).toBeNull();
    expect(Object.keys(p)).toEqual(['EncryptionContext', 'Constraints', '__proto__']);
    const ctx = p.EncryptionContext as Record<string, unknown>;
    expect(Object.getPrototypeOf(ctx)).toBeNull();
    expect(Object.entries(ctx)).toEqual([['__proto__', 'a'], ['constructor', 'b']]);
    expect(Object.entries((p.Constraints as Record<string, Record<string, unknown>>).EncryptionContextSubset!)).toEqual([['__proto__', 'c']]);
  });

  it('property: any map of strings decodes to the same entries, whatever its keys', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...SPECIAL)), fc.string(), { maxKeys: 20 }), fc.constantFrom(...SPECIAL, 'k'), (map, extra) => {
        // fc.dictionary builds a plain object: add the special key as an own property explicitly.
        Object.defineProperty(map, extra, { value: 'v', enumerable: true, configurable: true, writable: true });
        const text = JSON.stringify({ EncryptionContext: map });
        const ctx = decode(text).EncryptionContext as Record<string, unknown>;
        expect(Object.entries(ctx)).toEqual(Object.entries(JSON.parse(text).EncryptionContext));
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('refuses bodies nested deeper than the bound, up to 100,000 levels, without overflowing the stack', () => {
    for (const depth of [MAX_BODY_DEPTH, 50_000, 100_000]) {
      const body = `{"Junk":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      expect(() => decode(body), String(depth)).toThrow(expect.objectContaining({ code: 'SerializationException', message: `Request body is nested more than ${MAX_BODY_DEPTH} levels deep.` }));
    }
    // The deepest KMS shape is well within the bound.
    expect(() => decode('{"Constraints":{"EncryptionContextEquals":{"a":"b"}},"Tags":[{"TagKey":"k","TagValue":"v"}]}')).not.toThrow();
    expect(deeperThan({ a: { b: {} } }, 3)).toBe(false);
    expect(deeperThan({ a: { b: { c: {} } } }, 3)).toBe(true);
  });

  it('converts blobs to bytes and keeps null as absent', () => {
    const p = decode('{"CiphertextBlob":"aGk=","Plaintext":null,"GrantTokens":null}');
    expect(p.CiphertextBlob).toEqual(new Uint8Array(Buffer.from('hi')));
    expect(p.Plaintext).toBeNull();
  });
});
