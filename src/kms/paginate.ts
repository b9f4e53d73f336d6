// Limit/Marker paging shared by the List operations. Markers are opaque to callers.
import { InvalidMarkerException } from '../errors/index.js';

export function paginate<T>(all: T[], page: { Limit?: number; Marker?: string }): { items: T[]; tail: { Truncated: boolean; NextMarker?: string } } {
  const limit = page.Limit ?? 100;
  let start = 0;
  if (page.Marker !== undefined) {
    const decoded = Buffer.from(page.Marker, 'base64url').toString();
    start = Number(decoded.slice('ebsim:'.length));
    if (!decoded.startsWith('ebsim:') || !Number.isInteger(start) || start < 0) {
      throw new InvalidMarkerException('Marker is invalid');
    }
  }
  const items = all.slice(start, start + limit);
  const truncated = start + limit < all.length;
  return {
    items,
    tail: truncated ? { NextMarker: Buffer.from(`ebsim:${start + limit}`).toString('base64url'), Truncated: true } : { Truncated: false },
  };
}
