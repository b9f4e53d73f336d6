// ListGrants (the live grants of a key) and ListRetirableGrants (those a principal may retire).
import { authorizeAccountAction } from '../authorize.js';
import type { Grant } from '../grants.js';
import type { KmsKey } from '../keys.js';
import { kmsOperation } from '../operation.js';
import { paginate } from '../paginate.js';
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
    const grants = call.env.grants.live(key.keyId).filter((g) => (!grantId || g.grantId === grantId) && (!grantee || g.granteePrincipal === grantee));
    const page = paginate(grants, input);
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
    // An IAM-policy action (AWS: kms:ListRetirableGrants on "*"); being the retiring principal is not enough.
    authorizeAccountAction(call.env, ctx, 'ListRetirableGrants');
    const entries = grants.retirableBy(input.RetiringPrincipal).flatMap((g) => {
      // A grant of another account's key may name the caller as its retiring principal.
      const key = keys.getInHome(g.keyId);
      return key ? [grantListEntry(g, key)] : [];
    });
    const page = paginate(entries, input);
    return { response: { Grants: page.items, ...page.tail } };
  },
});
