// ListKeys: the keys of the account and Region, a page at a time, by keyset (as ListGrants): the
// marker names the last key returned, so each page is one index range however deep it starts.
import { authorizeAccountAction } from '../authorize.js';
import type { KeyCursor } from '../keys.js';
import { kmsOperation } from '../operation.js';
import { DEFAULT_LIMIT, keysetMarker, readKeysetMarker } from '../paginate.js';
import { LIMIT, MARKER } from './members.js';

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
    const tail = page.next ? { NextMarker: keysetMarker('key', page.next.createdAt, page.next.keyId), Truncated: true } : { Truncated: false };
    return { response: { Keys: page.keys.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), ...tail } };
  },
});

function cursorFrom(marker: string | undefined): KeyCursor | undefined {
  if (marker === undefined) return undefined;
  const { createdAt, id } = readKeysetMarker('key', marker, '[A-Za-z0-9/-]{1,100}');
  return { createdAt, keyId: id };
}
