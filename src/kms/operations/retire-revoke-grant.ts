// RetireGrant (by the grant's token, or key and grant ID; who may is the grant's to say, see
// authorizeRetire) and RevokeGrant (by the key's administrators, through the policies).
import { InvalidGrantIdException, InvalidGrantTokenException, NotFoundException, ValidationException } from '../../errors/index.js';
import { grantIdFromToken } from '../grants.js';
import { authorizeRetire } from '../authorize.js';
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
    authorizeRetire(call.env, ctx, key, grant);
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
