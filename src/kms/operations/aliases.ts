// Aliases: friendly names for customer managed keys. `alias/aws/` names belong to AWS.
import type { CallContext } from '../../core/call-context.js';
import { AlreadyExistsException, InvalidAliasNameException, NotFoundException, ValidationException } from '../../errors/index.js';
import { authorizeAccountAction } from '../authorize.js';
import { aliasArnOf, type KeyStore, type KmsKey } from '../keys.js';
import { isHmac } from '../key-specs.js';
import { kmsOperation, type KmsCall } from '../operation.js';
import { paginate } from '../paginate.js';
import { usableKey } from '../usable-key.js';
import { ALIAS_NAME, KEY_ID, LIMIT, MARKER, OPTIONAL_KEY_ID } from './members.js';

function checkAliasName(name: string): void {
  if (!name.startsWith('alias/') || name.length <= 'alias/'.length) {
    throw new ValidationException(`Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`);
  }
  // The model's pattern admits ':', the service does not (the developer guide: letters, digits, '/', '_', '-').
  if (name.includes(':')) throw new ValidationException(`${name} contains invalid characters for an alias`);
  if (name.startsWith('alias/aws/')) {
    throw new InvalidAliasNameException(`Alias ${name} must not begin with alias/aws/, which is reserved for AWS managed keys.`);
  }
}

/** The kinds UpdateAlias keeps apart. */
function keyClass(key: KmsKey): 'symmetric' | 'HMAC' | 'asymmetric' {
  return key.keySpec === 'SYMMETRIC_DEFAULT' ? 'symmetric' : isHmac(key.keySpec) ? 'HMAC' : 'asymmetric';
}

/** An alias can point only at a customer managed key, never at an alias or an AWS managed key. */
function targetKey(ctx: CallContext, call: KmsCall, target: string) {
  if (target.startsWith('alias/') || target.includes(':alias/')) throw new ValidationException('Aliases must refer to keys. Not aliases');
  const key = usableKey(ctx, call, target);
  if (key.keyManager === 'AWS') throw new ValidationException(`Cannot create an alias for an AWS managed key: ${key.arn}`);
  return key;
}

function aliasNotFound(keys: KeyStore, aliasName: string) {
  return new NotFoundException(`Alias ${aliasArnOf(keys.region, keys.accountId, aliasName)} is not found.`);
}

const ext = { keyStates: ['Enabled', 'Disabled', 'PendingImport'], grantable: false } as const;
const aliasAndTarget = { AliasName: ALIAS_NAME, TargetKeyId: { ...KEY_ID, doc: 'key ID or key ARN of a customer managed key' } } as const;

export const CreateAlias = kmsOperation({
  name: 'CreateAlias',
  description: 'Give a customer managed key a friendly name',
  readOnly: false,
  ext,
  input: aliasAndTarget,
  run(ctx, input, call) {
    const { keys } = call.env;
    checkAliasName(input.AliasName);
    const key = targetKey(ctx, call, input.TargetKeyId);
    keys.createAlias(input.AliasName, key.keyId, () => {
      throw new AlreadyExistsException(`An alias with the name ${aliasArnOf(keys.region, keys.accountId, input.AliasName)} already exists`);
    });
    return { response: {} };
  },
});

export const UpdateAlias = kmsOperation({
  name: 'UpdateAlias',
  description: 'Point an alias at another key',
  readOnly: false,
  ext,
  input: aliasAndTarget,
  run(ctx, input, call) {
    const { keys } = call.env;
    checkAliasName(input.AliasName);
    if (!keys.aliasTargetOf(input.AliasName)) throw aliasNotFound(keys, input.AliasName);
    const key = targetKey(ctx, call, input.TargetKeyId);
    // "the new target KMS key must be the same type as the current target KMS key (both symmetric or
    // both asymmetric or both HMAC) and they must have the same key usage" (UpdateAlias, TargetKeyId)
    const current = keys.resolve(input.AliasName);
    if (keyClass(current) !== keyClass(key) || current.keyUsage !== key.keyUsage) {
      throw new ValidationException(
        `${input.AliasName} points at a ${keyClass(current)} ${current.keyUsage} key; the new target ${key.arn} is a ${keyClass(key)} ${key.keyUsage} key. An alias can only be moved to a key of the same type and key usage.`,
      );
    }
    keys.retargetAlias(input.AliasName, key.keyId);
    return { response: {} };
  },
});

export const DeleteAlias = kmsOperation({
  name: 'DeleteAlias',
  description: 'Delete an alias',
  readOnly: false,
  ext: { ...ext, keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'] },
  input: { AliasName: ALIAS_NAME },
  run(ctx, input, call) {
    const { keys } = call.env;
    checkAliasName(input.AliasName);
    const current = keys.aliasTargetOf(input.AliasName);
    if (!current) throw aliasNotFound(keys, input.AliasName);
    usableKey(ctx, call, current);
    keys.deleteAlias(input.AliasName);
    return { response: {} };
  },
});

export const ListAliases = kmsOperation({
  name: 'ListAliases',
  description: 'List aliases',
  readOnly: true,
  ext: { keyStates: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'], grantable: false },
  input: { KeyId: { ...OPTIONAL_KEY_ID, doc: 'only the aliases of this key (key ID or key ARN)' }, Limit: LIMIT, Marker: MARKER },
  run(ctx, input, call) {
    const { keys } = call.env;
    // With a KeyId the key's policy decides; without one it is an account-level action.
    const key = input.KeyId ? usableKey(ctx, call, input.KeyId, { allowAlias: false }) : undefined;
    if (!key) authorizeAccountAction(call.env, ctx, 'ListAliases');
    const page = paginate(keys.listAliases(key?.keyId), input);
    return { response: { Aliases: page.items, ...page.tail } };
  },
});
