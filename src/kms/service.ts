// The KMS service: one entry point for every operation, used alike by the CLI, the HTTP
// endpoint and EC2. It validates, authorizes (in the handlers), runs, and records the call in
// the trail whether it succeeded or failed.
import type { Db } from '../store/database.js';
import type { RootKey } from '../store/root-key.js';
import { AwsError, KMSInternalException, UnknownOperationException } from '../errors/index.js';
import type { CallContext } from '../core/call-context.js';
import type { Trail } from '../trail/trail.js';
import { buildRecord } from '../trail/record.js';
import { GrantStore } from './grants.js';
import { refreshFromDisk } from '../store/read-cache.js';
import { KeyStore } from './keys.js';
import { known, memberName as camel, type Params } from './params.js';
import type { CallState, KmsEnv, Operation } from './operation.js';
import { keyOperations } from './ops-keys.js';
import { aliasOperations } from './ops-aliases.js';
import { cryptoOperations } from './ops-crypto.js';
import { grantOperations } from './ops-grants.js';

export const KMS_OPERATIONS: Record<string, Operation> = {
  ...keyOperations,
  ...aliasOperations,
  ...cryptoOperations,
  ...grantOperations,
};

/** Never logged: secrets and opaque blobs. */
const UNLOGGED = new Set(['Plaintext', 'CiphertextBlob', 'GrantTokens', 'GrantToken', 'Policy']);

export class KmsService {
  readonly keys: KeyStore;
  readonly grants: GrantStore;
  private readonly env: KmsEnv;

  constructor(private readonly db: Db, rootKey: RootKey, private readonly trail: Trail, accountId: string, region: string) {
    this.keys = new KeyStore(db, rootKey, accountId, region);
    this.grants = new GrantStore(db);
    this.env = { keys: this.keys, grants: this.grants };
  }

  static operationNames(): string[] {
    return Object.keys(KMS_OPERATIONS);
  }

  call(ctx: CallContext, operation: string, params: Params = {}): Record<string, unknown> {
    const op = Object.prototype.hasOwnProperty.call(KMS_OPERATIONS, operation) ? KMS_OPERATIONS[operation] : undefined;
    const state: CallState = { keys: [] };
    const describe = (responseElements: unknown, error?: { code: string; message: string }) =>
      buildRecord(ctx, {
        eventSource: 'kms.amazonaws.com',
        eventName: operation,
        requestParameters: requestParametersOf(params),
        responseElements,
        readOnly: op?.readOnly ?? false,
        resources: uniqueKeys(state).map((k) => ({ ARN: k.arn, accountId: k.accountId })),
        error,
      });
    refreshFromDisk(this.db);
    let outcome;
    try {
      if (!op) throw new UnknownOperationException(`Operation ${operation} is not supported by ebsim's KMS.`);
      known(params, op.params);
      outcome = op.run(this.env, ctx, params, state);
    } catch (err) {
      const e = err instanceof AwsError ? err : new KMSInternalException(`Internal error: ${(err as Error).message}`);
      this.trail.append(describe(null, { code: e.code, message: e.message }), true);
      if (!(err instanceof AwsError)) throw err;
      e.operation ??= operation;
      throw e;
    }
    // Outside the try: if the trail itself fails here, the call did happen and must not be
    // recorded a second time as failed.
    this.trail.append(describe(outcome.responseElements ?? null), !op.readOnly);
    return outcome.response;
  }
}

function uniqueKeys(state: CallState) {
  const seen = new Set<string>();
  return state.keys.filter((k) => !seen.has(k.arn) && seen.add(k.arn));
}

/** AWS's camelCase parameter names, minus anything secret. Context keys keep their own spelling. */
export function requestParametersOf(params: Params): Record<string, unknown> | null {
  // No prototype: an unknown "__proto__" parameter is recorded as sent, not swallowed.
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(params)) {
    if (UNLOGGED.has(k) || v === undefined) continue;
    const name = camel(k);
    if (k === 'Constraints' && v && typeof v === 'object') {
      out[name] = Object.fromEntries(Object.entries(v).map(([ck, cv]) => [camel(ck), cv]));
    } else {
      out[name] = v instanceof Uint8Array ? undefined : v;
    }
  }
  return Object.keys(out).length ? out : null;
}
