// Values as the AWS CLI sees them: it is Python, so its formatters print str() of a value, test
// its truth and sort keys by code point. Shared by `--output table` and `--output text`.

/** A value printed as Python's str() prints it (the AWS CLI is Python): None, True, False. */
export function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Python's truth: None, False, 0, '', [] and {} are false. */
export function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

export const isScalar = (v: unknown) => v === null || typeof v !== 'object';
/** Keys in Python's sorted() order (code points, not locale). */
export const sorted = (keys: Iterable<string>) => [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
