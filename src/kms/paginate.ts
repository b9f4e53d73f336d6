// Limit/Marker paging shared by the List operations. Markers are opaque to callers.
import { InvalidMarkerException } from '../errors/index.js';
import { pageToken, readPageToken } from '../core/page-token.js';

export function paginate<T>(all: T[], page: { Limit?: number; Marker?: string }): { items: T[]; tail: { Truncated: boolean; NextMarker?: string } } {
  const limit = page.Limit ?? 100;
  let start = 0;
  if (page.Marker !== undefined) {
    // Only the form NextMarker takes: Number() alone took "ebsim:", "ebsim: 1", "ebsim:0x10", "ebsim:1e9".
    const m = readPageToken(page.Marker, /^ebsim:(0|[1-9]\d{0,14})$/);
    if (!m) throw new InvalidMarkerException('Marker is invalid');
    start = Number(m[1]);
  }
  const items = all.slice(start, start + limit);
  const truncated = start + limit < all.length;
  return {
    items,
    tail: truncated ? { NextMarker: pageToken(`ebsim:${start + limit}`), Truncated: true } : { Truncated: false },
  };
}
