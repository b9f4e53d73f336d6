// ListGrants (the live grants of a key) and ListRetirableGrants (those a principal may retire).
import { accountOfPrincipal, authorizeListRetirable } from '../authorize.js';
import { cursorOf, type Grant, type GrantCursor } from '../grants.js';
import type { KmsKey } from '../keys.js';
import { kmsOperation } from '../operation.js';
import { DEFAULT_LIMIT, keysetMarker, readKeysetMarker } from '../paginate.js';
import { usableKey } from '../usable-key.js';
import { GRANT_ID, KEY_ID_OR_ARN, LIMIT, MARKER, PRINCIPAL } from './members.js';

export function grantListEntry(g: Grant, key: KmsKey): Record<string, unknown> {
  const e: Record<string, unknown> = { KeyId: key.arn, GrantId: g.grantId };
  if (g.name) e.Name = g.name;
  e.CreationDate = g.createdAt;
  e.GranteePrincipal = g.granteePrincipal;
  if (g.retiringPrincipal) e.RetiringPrincipal = g.retiringPrincipal;
  e.IssuingAccount = g.issuingAccount;
  e.Operations = g.operations;
  if (g.constraints) e.Constraints = g.constraints;
  return e;
}

export const ListGrants = kmsOperation({
  name: 'ListGrants',
  description: 'List the live grants of a key',
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: false, crossAccount: true },
  input: { KeyId: KEY_ID_OR_ARN, Limit: LIMIT, Marker: MARKER, GrantId: GRANT_ID, GranteePrincipal: PRINCIPAL },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId);
    const { GrantId: grantId, GranteePrincipal: grantee } = input;
    const limit = input.Limit ?? DEFAULT_LIMIT;
    const rows = call.env.grants.page(key.keyId, { grantId: grantId || undefined, grantee: grantee || undefined, after: cursorFrom(input.Marker), limit });
    const page = pageOf(rows, limit);
    return { response: { Grants: page.items.map((g) => grantListEntry(g, key)), ...page.tail } };
  },
});

export const ListRetirableGrants = kmsOperation({
  name: 'ListRetirableGrants',
  description: 'List the grants a principal may retire',
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: false },
  input: { RetiringPrincipal: { ...PRINCIPAL, required: true }, Limit: LIMIT, Marker: MARKER },
  run(ctx, input, call) {
    const { keys, grants } = call.env;
    // An IAM-policy action on the retiring principal, of the caller's account; being it is not enough.
    authorizeListRetirable(call.env, ctx, input.RetiringPrincipal);
    const limit = input.Limit ?? DEFAULT_LIMIT;
    const page = pageOf(grants.retirableBy(input.RetiringPrincipal, { after: cursorFrom(input.Marker), limit }), limit);
    const entries = page.items.flatMap((g) => {
      // A grant of another account's key may name the caller as its retiring principal.
      const key = keys.getInHome(g.keyId);
      // A principal of no account (a service's) is the caller's account's to ask about, on its own keys.
      const mine = accountOfPrincipal(input.RetiringPrincipal) !== undefined || key?.accountId === ctx.principal.accountId;
      return key && mine ? [grantListEntry(g, key)] : [];
    });
    return { response: { Grants: entries, ...page.tail } };
  },
});

/**
 * Pages by keyset, not by offset: the marker names the last grant returned (its creation time and
 * ID), so each page is one index range read, however deep into 50,000 grants it starts.
 */
function pageOf(rows: Grant[], limit: number): { items: Grant[]; tail: { Truncated: boolean; NextMarker?: string } } {
  if (rows.length <= limit) return { items: rows, tail: { Truncated: false } };
  const items = rows.slice(0, limit);
  const last = cursorOf(items[items.length - 1]!);
  return { items, tail: { NextMarker: keysetMarker('grant', last.createdAt, last.grantId), Truncated: true } };
}

function cursorFrom(marker: string | undefined): GrantCursor | undefined {
  if (marker === undefined) return undefined;
  const { createdAt, id } = readKeysetMarker('grant', marker, '[0-9a-f]{64}');
  return { createdAt, grantId: id };
}
