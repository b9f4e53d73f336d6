// ListKeys: the keys of the account and Region, a page at a time, by keyset (as ListGrants): the
// marker names the last key returned, so each page is one index range however deep it starts.
import { InvalidMarkerException } from '../../errors/index.js';
import { pageToken, readPageToken } from '../../core/page-token.js';
import { authorizeAccountAction } from '../authorize.js';
import type { KeyCursor } from '../keys.js';
import { kmsOperation } from '../operation.js';
import { LIMIT, MARKER } from './members.js';

/** As the other List operations (paginate.ts). */
const DEFAULT_LIMIT = 100;
const MARKER_TEXT = /^ebsim:key:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([A-Za-z0-9/-]{1,100})$/;

export const ListKeys = kmsOperation({
  name: 'ListKeys',
  description: 'List the keys of the account and Region',
  readOnly: true,
  ext: { grantable: false },
  input: { Limit: LIMIT, Marker: MARKER },
  run(ctx, input, call) {
    const { keys } = call.env;
    authorizeAccountAction(call.env, ctx, 'ListKeys');
    const page = keys.page(cursorFrom(input.Marker), input.Limit ?? DEFAULT_LIMIT);
    const tail = page.next ? { NextMarker: pageToken(`ebsim:key:${page.next.createdAt} ${page.next.keyId}`), Truncated: true } : { Truncated: false };
    return { response: { Keys: page.keys.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), ...tail } };
  },
});

function cursorFrom(marker: string | undefined): KeyCursor | undefined {
  if (marker === undefined) return undefined;
  const m = readPageToken(marker, MARKER_TEXT);
  if (!m) throw new InvalidMarkerException('Marker is invalid');
  return { createdAt: m[1]!, keyId: m[2]! };
}
