// Aliases: friendly names for customer managed keys. `alias/aws/` names belong to AWS.
import { AlreadyExistsException, InvalidAliasNameException, NotFoundException, ValidationException } from '../errors/index.js';
import { aliasArnOf } from './keys.js';
import { KEY_ID_PARAM, requiredStr, str, type Params } from './params.js';
import type { CallState, KmsEnv, Operation } from './operation.js';
import type { CallContext } from '../core/call-context.js';
import { usableKey } from './usable-key.js';
import { authorizeAccountAction } from './authorize.js';
import { paginate } from './paginate.js';

const ALIAS = { max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ };

function checkAliasName(name: string): void {
  if (!name.startsWith('alias/') || name.length <= 'alias/'.length) {
    throw new ValidationException(`Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html`);
  }
  if (name.startsWith('alias/aws/')) {
    throw new InvalidAliasNameException(`Alias ${name} must not begin with alias/aws/, which is reserved for AWS managed keys.`);
  }
}

/** An alias can point only at a customer managed key, never at an alias or an AWS managed key. */
function targetKey(env: KmsEnv, ctx: CallContext, target: string, op: string, state: CallState) {
  if (target.startsWith('alias/') || target.includes(':alias/')) {
    throw new ValidationException('Aliases must refer to keys. Not aliases');
  }
  const key = usableKey(env, ctx, target, { action: op, operation: op }, state);
  if (key.keyManager === 'AWS') throw new ValidationException(`Cannot create an alias for an AWS managed key: ${key.arn}`);
  return key;
}

/** AliasName and TargetKeyId of Create/UpdateAlias, checked. */
function aliasAndTarget(p: Params): { aliasName: string; target: string } {
  const aliasName = requiredStr(p, 'AliasName', ALIAS);
  const target = requiredStr(p, 'TargetKeyId', KEY_ID_PARAM);
  checkAliasName(aliasName);
  return { aliasName, target };
}

function aliasNotFound(env: KmsEnv, aliasName: string) {
  return new NotFoundException(`Alias ${aliasArnOf(env.keys.region, env.keys.accountId, aliasName)} is not found.`);
}

export const aliasOperations: Record<string, Operation> = {
  CreateAlias: {
    readOnly: false,
    params: ['AliasName', 'TargetKeyId'],
    run(env, ctx, p, state) {
      const { aliasName, target } = aliasAndTarget(p);
      const key = targetKey(env, ctx, target, 'CreateAlias', state);
      env.keys.createAlias(aliasName, key.keyId, () => {
        throw new AlreadyExistsException(`An alias with the name ${aliasArnOf(env.keys.region, env.keys.accountId, aliasName)} already exists`);
      });
      return { response: {} };
    },
  },

  UpdateAlias: {
    readOnly: false,
    params: ['AliasName', 'TargetKeyId'],
    run(env, ctx, p, state) {
      const { aliasName, target } = aliasAndTarget(p);
      if (!env.keys.aliasTargetOf(aliasName)) throw aliasNotFound(env, aliasName);
      const key = targetKey(env, ctx, target, 'UpdateAlias', state);
      env.keys.retargetAlias(aliasName, key.keyId);
      return { response: {} };
    },
  },

  DeleteAlias: {
    readOnly: false,
    params: ['AliasName'],
    run(env, ctx, p, state) {
      const aliasName = requiredStr(p, 'AliasName', ALIAS);
      checkAliasName(aliasName);
      const current = env.keys.aliasTargetOf(aliasName);
      if (!current) throw aliasNotFound(env, aliasName);
      usableKey(env, ctx, current, { action: 'DeleteAlias', operation: 'DeleteAlias' }, state);
      env.keys.deleteAlias(aliasName);
      return { response: {} };
    },
  },

  ListAliases: {
    readOnly: true,
    params: ['KeyId', 'Limit', 'Marker'],
    run(env, ctx, p, state) {
      const keyIdParam = str(p, 'KeyId', KEY_ID_PARAM);
      // With a KeyId the key's policy decides; without one it is an account-level action.
      const key = keyIdParam ? usableKey(env, ctx, keyIdParam, { action: 'ListAliases', operation: 'ListAliases', allowAlias: false }, state) : undefined;
      if (!key) authorizeAccountAction(ctx, env.keys.accountId, 'ListAliases');
      const page = paginate(env.keys.listAliases(key?.keyId), p);
      return { response: { Aliases: page.items, ...page.tail } };
    },
  },
};
