// Limit/Marker paging: a marker is good only in the form NextMarker gives it.
import { describe, expect, it } from 'vitest';
import { paginate } from '../../src/kms/paginate.js';

const items = Array.from({ length: 10 }, (_, i) => i);
const marker = (text: string) => Buffer.from(text).toString('base64url');
const codeOf = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('paginate', () => {
  it('walks every item once, page by page, with the markers it hands out', () => {
    const seen: number[] = [];
    let m: string | undefined;
    do {
      const { items: page, tail } = paginate(items, { Limit: 3, Marker: m });
      seen.push(...page);
      m = tail.NextMarker;
    } while (m);
    expect(seen).toEqual(items);
  });

  // Found by the h21 sweep: Number() read all of these as positions.
  it('refuses markers it never hands out: InvalidMarkerException', () => {
    for (const text of ['ebsim:', 'ebsim: 1', 'ebsim:0x10', 'ebsim:1e9', 'ebsim:1.5', 'ebsim:-1', 'ebsim:01', 'ebsim:99999999999999999999', 'ebsim:1\n', 'garbage']) {
      expect(codeOf(() => paginate(items, { Marker: marker(text) })), text).toBe('InvalidMarkerException');
    }
    // The same bytes in another spelling of base64 (padding, the standard alphabet's "+/") are not ours either.
    const good = paginate(items, { Limit: 3 }).tail.NextMarker!;
    expect(codeOf(() => paginate(items, { Marker: good }))).toBe('ok');
    expect(codeOf(() => paginate(items, { Marker: `${good}==` }))).toBe('InvalidMarkerException');
    expect(codeOf(() => paginate(items, { Marker: `${good.slice(0, 4)}!${good.slice(4)}` }))).toBe('InvalidMarkerException');
  });

  it('a marker past the end (items gone since) is an empty last page', () => {
    expect(paginate(items.slice(0, 2), { Marker: marker('ebsim:6') })).toEqual({ items: [], tail: { Truncated: false } });
  });
});
