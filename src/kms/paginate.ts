// Limit/Marker paging shared by the List operations. Markers are opaque to callers.
import { InvalidMarkerException } from '../errors/index.js';
import { pageToken, readPageToken } from '../core/page-token.js';

/** A page's length when the caller gives no Limit. */
export const DEFAULT_LIMIT = 100;

const ISO_MS = '(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z)';

/**
 * Keyset paging (ListKeys, ListGrants): the marker names the last item returned, by its creation
 * time and ID, so the next page is one index range however deep it starts.
 */
export function keysetMarker(list: string, createdAt: string, id: string): string {
  return pageToken(`ebsim:${list}:${createdAt} ${id}`);
}

/** The place a keyset marker of `list` names (its ID matching `idPattern`); InvalidMarkerException for anything else. */
export function readKeysetMarker(list: string, marker: string, idPattern: string): { createdAt: string; id: string } {
  const m = readPageToken(marker, new RegExp(`^ebsim:${list}:${ISO_MS} (${idPattern})$`));
  if (!m) throw new InvalidMarkerException('Marker is invalid');
  return { createdAt: m[1]!, id: m[2]! };
}

export function paginate<T>(all: T[], page: { Limit?: number; Marker?: string }): { items: T[]; tail: { Truncated: boolean; NextMarker?: string } } {
  const limit = page.Limit ?? DEFAULT_LIMIT;
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
