// CreateGrant: let a principal use a key for some operations, optionally only with a given
// encryption context. Through a grant, the new grant may not widen the caller's.
import { kmsOperation } from '../operation.js';
import type { GrantConstraints } from '../grants.js';
import { GRANTS_PER_KEY_QUOTA, grantsPerGranteeQuota, newGrantToken } from '../grants.js';
import { usableKey } from '../usable-key.js';
import { assertGrantPrincipal } from '../grant-principals.js';
import { ENCRYPTION_CONTEXT, GRANT_NAME, GRANT_OPERATIONS, GRANT_TOKENS, KEY_ID_OR_ARN, PRINCIPAL } from './members.js';

export const CreateGrant = kmsOperation({
  name: 'CreateGrant',
  description: 'Let a principal use a key for some operations, optionally with constraints',
  readOnly: false,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingImport'], grantable: true, crossAccount: true },
  input: {
    KeyId: KEY_ID_OR_ARN,
    GranteePrincipal: { ...PRINCIPAL, required: true },
    RetiringPrincipal: PRINCIPAL,
    // The model sets no minimum; the service refuses an empty list.
    Operations: { kind: 'list', member: { kind: 'string', enum: GRANT_OPERATIONS }, required: true, min: 1, doc: 'space-separated operations the grant allows' },
    Constraints: {
      kind: 'structure',
      members: { EncryptionContextSubset: ENCRYPTION_CONTEXT, EncryptionContextEquals: ENCRYPTION_CONTEXT },
      doc: 'JSON, or EncryptionContextSubset={k=v}',
    },
    Name: GRANT_NAME,
    GrantTokens: GRANT_TOKENS,
  },
  run(ctx, input, call) {
    const operations = input.Operations;
    const constraints = constraintsOf(input.Constraints);
    const key = usableKey(ctx, call, input.KeyId, {
      allowAlias: false,
      newGrant: { operations, constraints },
      granteePrincipal: input.GranteePrincipal,
      retiringPrincipal: input.RetiringPrincipal,
    });
    // After the key's checks, so that a caller who may not grant cannot learn who exists.
    assertGrantPrincipal(call.env.principals, input.GranteePrincipal);
    if (input.RetiringPrincipal !== undefined) assertGrantPrincipal(call.env.principals, input.RetiringPrincipal);
    const wanted = {
      keyId: key.keyId, name: input.Name, granteePrincipal: input.GranteePrincipal, retiringPrincipal: input.RetiringPrincipal,
      operations: [...new Set(operations)], constraints,
    };
    const { grants } = call.env;
    // Retrying with the same Name and parameters returns the same grant, with a new token.
    // The grants-per-key quota applies to customer managed keys (AWS's resource quotas page); the
    // per-grantee one, when set, to every key (as the page listed it when it had one).
    const quotas = { keyArn: key.arn, perKey: key.keyManager === 'CUSTOMER' ? GRANTS_PER_KEY_QUOTA : undefined, perGrantee: grantsPerGranteeQuota() };
    // Issued under the caller's account, the key's or another (IssuingAccount: "grants issued by
    // accounts other than the owner of the key", Access Analyzer's KmsGrantConfiguration); that
    // account may retire it (authorizeRetire).
    const issued = { ...wanted, issuingAccount: `arn:aws:iam::${ctx.principal.accountId}:root` };
    const grant = grants.findSame(issued) ?? grants.insert(issued, quotas);
    return { response: { GrantToken: newGrantToken(grant.grantId), GrantId: grant.grantId }, responseElements: { grantId: grant.grantId } };
  },
});

function constraintsOf(c: GrantConstraints | undefined): GrantConstraints | undefined {
  if (!c) return undefined;
  const out: GrantConstraints = {};
  if (c.EncryptionContextSubset !== undefined) out.EncryptionContextSubset = c.EncryptionContextSubset;
  if (c.EncryptionContextEquals !== undefined) out.EncryptionContextEquals = c.EncryptionContextEquals;
  return Object.keys(out).length ? out : undefined;
}
