// Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.
import { AccessDeniedException, InvalidGrantIdException, InvalidGrantTokenException, NotFoundException, ValidationException } from '../errors/index.js';
import { validateContext } from './context.js';
import { GRANT_OPERATIONS, grantIdFromToken, granteeMatches, newGrantToken, type Grant, type GrantConstraints } from './grants.js';
import type { KmsKey } from './keys.js';
import { requiredStr, str, strList, type Params, KEY_ID_PARAM } from './params.js';
import type { Operation } from './operation.js';
import { usableKey } from './usable-key.js';
import { authorizeAccountAction } from './authorize.js';
import { paginate } from './paginate.js';

const PRINCIPAL = { max: 256, pattern: /^[\w+=,.@:/-]+$/ };
const GRANT_NAME = { max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ };

function constraintsOf(p: Params): GrantConstraints | undefined {
  const c = p.Constraints;
  if (c === undefined || c === null) return undefined;
  if (typeof c !== 'object' || Array.isArray(c)) throw new ValidationException("1 validation error detected: Value at 'constraints' failed to satisfy constraint: Member must be a structure");
  const raw = c as Record<string, unknown>;
  for (const k of Object.keys(raw)) {
    if (k !== 'EncryptionContextSubset' && k !== 'EncryptionContextEquals') throw new ValidationException(`Unknown parameter in Constraints: '${k}'. Must be one of: EncryptionContextSubset, EncryptionContextEquals`);
  }
  const out: GrantConstraints = {};
  if (raw.EncryptionContextSubset !== undefined) out.EncryptionContextSubset = validateContext(raw.EncryptionContextSubset, 'constraints.encryptionContextSubset');
  if (raw.EncryptionContextEquals !== undefined) out.EncryptionContextEquals = validateContext(raw.EncryptionContextEquals, 'constraints.encryptionContextEquals');
  return Object.keys(out).length ? out : undefined;
}

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

export const grantOperations: Record<string, Operation> = {
  CreateGrant: {
    readOnly: false,
    params: ['KeyId', 'GranteePrincipal', 'RetiringPrincipal', 'Operations', 'Constraints', 'GrantTokens', 'Name'],
    run(env, ctx, p, state) {
      const keyId = requiredStr(p, 'KeyId', KEY_ID_PARAM);
      const grantee = requiredStr(p, 'GranteePrincipal', PRINCIPAL);
      const retiring = str(p, 'RetiringPrincipal', PRINCIPAL);
      const operations = strList(p, 'Operations', { required: true, min: 1, allowed: GRANT_OPERATIONS })!;
      const constraints = constraintsOf(p);
      const name = str(p, 'Name', GRANT_NAME);
      strList(p, 'GrantTokens', { max: 10 });
      const key = usableKey(env, ctx, keyId, { action: 'CreateGrant', operation: 'CreateGrant', allowAlias: false, newGrant: { operations, constraints } }, state);
      const wanted = { keyId: key.keyId, name, granteePrincipal: grantee, retiringPrincipal: retiring, operations: [...new Set(operations)], constraints };
      // Retrying with the same Name and parameters returns the same grant, with a new token.
      const grant = env.grants.findSame(wanted) ?? env.grants.insert({ ...wanted, issuingAccount: `arn:aws:iam::${key.accountId}:root` });
      return { response: { GrantToken: newGrantToken(grant.grantId), GrantId: grant.grantId }, responseElements: { grantId: grant.grantId } };
    },
  },

  ListGrants: {
    readOnly: true,
    params: ['KeyId', 'Limit', 'Marker', 'GrantId', 'GranteePrincipal'],
    run(env, ctx, p, state) {
      const key = usableKey(env, ctx, requiredStr(p, 'KeyId', KEY_ID_PARAM), { action: 'ListGrants', operation: 'ListGrants', allowAlias: false }, state);
      const grantId = str(p, 'GrantId', { max: 128 });
      const grantee = str(p, 'GranteePrincipal', PRINCIPAL);
      const grants = env.grants.live(key.keyId).filter((g) => (!grantId || g.grantId === grantId) && (!grantee || g.granteePrincipal === grantee));
      const page = paginate(grants, p);
      return { response: { Grants: page.items.map((g) => grantListEntry(g, key)), ...page.tail } };
    },
  },

  ListRetirableGrants: {
    readOnly: true,
    params: ['RetiringPrincipal', 'Limit', 'Marker'],
    run(env, ctx, p) {
      const principal = requiredStr(p, 'RetiringPrincipal', PRINCIPAL);
      // An IAM-policy action (AWS: kms:ListRetirableGrants on "*"); being the retiring principal is not enough.
      authorizeAccountAction(ctx, env.keys.accountId, 'ListRetirableGrants');
      const grants = env.grants.retirableBy(principal).flatMap((g) => {
        const key = env.keys.get(g.keyId);
        return key ? [grantListEntry(g, key)] : [];
      });
      const page = paginate(grants, p);
      return { response: { Grants: page.items, ...page.tail } };
    },
  },

  RetireGrant: {
    readOnly: false,
    params: ['GrantToken', 'KeyId', 'GrantId'],
    run(env, ctx, p, state) {
      const token = str(p, 'GrantToken', { max: 8192 });
      const keyIdParam = str(p, 'KeyId', KEY_ID_PARAM);
      const grantIdParam = str(p, 'GrantId', { max: 128 });
      let grantId: string;
      if (token !== undefined) {
        const fromToken = grantIdFromToken(token);
        if (!fromToken) throw new InvalidGrantTokenException('The grant token is not valid.');
        grantId = fromToken;
      } else if (keyIdParam !== undefined && grantIdParam !== undefined) {
        grantId = grantIdParam;
      } else {
        throw new ValidationException('Either GrantToken, or both KeyId and GrantId must be specified.');
      }
      const grant = env.grants.get(grantId);
      const key = keyIdParam !== undefined ? env.keys.resolve(keyIdParam, false) : grant && env.keys.get(grant.keyId);
      if (key) state.keys.push(key);
      if (!grant || grant.state !== 'live' || !key || grant.keyId !== key.keyId) {
        throw new NotFoundException(`Grant ID ${grantId} not found`);
      }
      // Who may retire: the retiring principal, a grantee allowed RetireGrant, or the account's IAM users.
      const p2 = ctx.principal;
      const mayRetire =
        (grant.retiringPrincipal !== undefined && granteeMatches(grant.retiringPrincipal, p2)) ||
        (granteeMatches(grant.granteePrincipal, p2) && grant.operations.includes('RetireGrant')) ||
        (p2.type === 'IAMUser' && p2.accountId === key.accountId);
      if (!mayRetire) {
        throw new AccessDeniedException(`User: ${p2.arn} is not authorized to perform: kms:RetireGrant on resource: ${key.arn}`);
      }
      env.grants.end(grant.grantId, 'retired');
      return { response: {} };
    },
  },

  RevokeGrant: {
    readOnly: false,
    params: ['KeyId', 'GrantId'],
    run(env, ctx, p, state) {
      const key = usableKey(env, ctx, requiredStr(p, 'KeyId', KEY_ID_PARAM), { action: 'RevokeGrant', operation: 'RevokeGrant', allowAlias: false }, state);
      const grantId = requiredStr(p, 'GrantId', { max: 128 });
      const grant = env.grants.get(grantId);
      if (!grant || grant.keyId !== key.keyId) throw new InvalidGrantIdException(`Grant ID ${grantId} is not valid for ${key.arn}`);
      if (grant.state !== 'live') throw new NotFoundException(`Grant ID ${grantId} not found`);
      env.grants.end(grant.grantId, 'revoked');
      return { response: {} };
    },
  },
};
