// Limit/Marker paging shared by the List operations. Markers are opaque to callers.
import { InvalidMarkerException } from '../errors/index.js';
import { int, str, type Params } from './params.js';

export function paginate<T>(all: T[], p: Params): { items: T[]; tail: { Truncated: boolean; NextMarker?: string } } {
  const limit = int(p, 'Limit', { min: 1, max: 1000 }) ?? 100;
  const marker = str(p, 'Marker', { max: 1024 });
  let start = 0;
  if (marker !== undefined) {
    const decoded = Buffer.from(marker, 'base64url').toString();
    start = Number(decoded.slice('ebsim:'.length));
    if (!decoded.startsWith('ebsim:') || !Number.isInteger(start) || start < 0) {
      throw new InvalidMarkerException('Marker is invalid');
    }
  }
  const items = all.slice(start, start + limit);
  const truncated = start + limit < all.length;
  return {
    items,
    tail: truncated ? { Truncated: true, NextMarker: Buffer.from(`ebsim:${start + limit}`).toString('base64url') } : { Truncated: false },
  };
}
