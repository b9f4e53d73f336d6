// RetireGrant (by the grant's token, or key and grant ID; by its retiring principal, a grantee
// allowed RetireGrant, or the account) and RevokeGrant (by the key's administrators).
import { AccessDeniedException, InvalidGrantIdException, InvalidGrantTokenException, NotFoundException, ValidationException } from '../../errors/index.js';
import { grantIdFromToken, granteeMatches } from '../grants.js';
import { identityPoliciesAllow } from '../authorize.js';
import { kmsOperation } from '../operation.js';
import { touch, usableKey } from '../usable-key.js';
import { GRANT_ID, KEY_ID_OR_ARN } from './members.js';

export const RetireGrant = kmsOperation({
  name: 'RetireGrant',
  description: 'Retire a grant (by token, or key and grant ID)',
  readOnly: false,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: true, crossAccount: true },
  input: {
    GrantToken: { kind: 'string', min: 1, max: 8192, secret: true },
    KeyId: { kind: 'string', min: 1, max: 2048, doc: 'key ID or key ARN' },
    GrantId: GRANT_ID,
  },
  // As the KMS developer guide's RetireGrant record shows: requestParameters null, the grant's ID
  // in additionalEventData (named by GrantId, or found in the token, which is never logged).
  requestParameters: () => null,
  additionalEventData: (p) => {
    const grantId = typeof p.GrantId === 'string' ? p.GrantId : typeof p.GrantToken === 'string' ? grantIdFromToken(p.GrantToken) : undefined;
    return grantId ? { grantId } : undefined;
  },
  run(ctx, input, call) {
    const { keys, grants } = call.env;
    let grantId: string;
    if (input.GrantToken !== undefined) {
      const fromToken = grantIdFromToken(input.GrantToken);
      if (!fromToken) throw new InvalidGrantTokenException('The grant token is not valid.');
      grantId = fromToken;
    } else if (input.KeyId !== undefined && input.GrantId !== undefined) {
      grantId = input.GrantId;
    } else {
      throw new ValidationException('Either GrantToken, or both KeyId and GrantId must be specified.');
    }
    const grant = grants.get(grantId);
    const key = input.KeyId !== undefined ? keys.resolve(input.KeyId, false, true) : grant && keys.getInHome(grant.keyId);
    if (key) touch(call, key);
    if (!grant || grant.state !== 'live' || !key || grant.keyId !== key.keyId) throw new NotFoundException(`Grant ID ${grantId} not found`);
    const p = ctx.principal;
    // An account named as retiring principal (its root ARN, as EBS's grants name one) stands for
    // those of its principals its IAM policies delegate kms:RetireGrant to, as a key policy's root
    // principal does: not for every role of the account (an instance's, say).
    const retiringAccount = /^arn:aws:iam::(\d{12}):root$/.exec(grant.retiringPrincipal ?? '')?.[1];
    const mayRetire =
      (grant.retiringPrincipal !== undefined && granteeMatches(grant.retiringPrincipal, p)) ||
      (retiringAccount === p.accountId && identityPoliciesAllow(call.env, ctx, key, 'RetireGrant')) ||
      (granteeMatches(grant.granteePrincipal, p) && grant.operations.includes('RetireGrant')) ||
      (p.type === 'IAMUser' && p.accountId === key.accountId);
    if (!mayRetire) throw new AccessDeniedException(`User: ${p.arn} is not authorized to perform: kms:RetireGrant on resource: ${key.arn}`);
    grants.end(grant.grantId, 'retired');
    return { response: {} };
  },
});

export const RevokeGrant = kmsOperation({
  name: 'RevokeGrant',
  description: 'Revoke a grant',
  readOnly: false,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: false, crossAccount: true },
  input: { KeyId: KEY_ID_OR_ARN, GrantId: { ...GRANT_ID, required: true } },
  run(ctx, input, call) {
    const key = usableKey(ctx, call, input.KeyId);
    const grant = call.env.grants.get(input.GrantId);
    if (!grant || grant.keyId !== key.keyId) throw new InvalidGrantIdException(`Grant ID ${input.GrantId} is not valid for ${key.arn}`);
    if (grant.state !== 'live') throw new NotFoundException(`Grant ID ${input.GrantId} not found`);
    call.env.grants.end(grant.grantId, 'revoked');
    return { response: {} };
  },
});
