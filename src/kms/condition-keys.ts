// The kms: condition keys of one request, as "AWS KMS condition keys" defines them
// (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html): what a key policy
// or IAM policy condition can test. Pure: the caller hands in the request's facts (the
// operations pass them to usableKey/authorize) and the key. The global aws:* keys are the
// policy engine's.
//
// Values are strings as IAM sees them (booleans "true"/"false", numbers in decimal); multivalued
// keys are lists. A key the request does not have is absent, not empty. Condition key names are
// case-insensitive to IAM: the engine compares them so (RequestContext.keys), and
// kms:EncryptionContext:KEY keeps the context key's own spelling. (Two context keys that differ
// only by case therefore give two entries the engine cannot tell apart; AWS warns against such
// contexts in GrantConstraints and conditions-kms.html#conditions-kms-encryption-context-case.)
import type { CallContext } from '../core/call-context.js';
import type { EncryptionContext } from './context.js';
import type { GrantConstraints } from './grants.js';
import type { KmsKey } from './keys.js';
import { isMultiRegionKeyId } from './multi-region.js';

/** What an operation tells authorization about its request, beyond the caller and the key. */
export interface KmsRequestFacts {
  /** The encryption context of a cryptographic operation (ReEncryptFrom: the source's, ReEncryptTo: the destination's). */
  context?: EncryptionContext;
  /** CreateGrant: the grant being asked for (through a grant, it must not widen the caller's). */
  newGrant?: { operations: string[]; constraints?: GrantConstraints };
  /** The KeyId parameter as sent (kms:RequestAlias when it names an alias). usableKey fills it in. */
  keyIdParam?: string;
  /** CreateGrant's GranteePrincipal and RetiringPrincipal. */
  granteePrincipal?: string;
  retiringPrincipal?: string;
  /** The encryption algorithm the operation uses (the request's, else SYMMETRIC_DEFAULT). */
  encryptionAlgorithm?: string;
  /** GenerateMac, VerifyMac: the request's MacAlgorithm (kms:MacAlgorithm). */
  macAlgorithm?: string;
  /** DeriveSharedSecret: the request's KeyAgreementAlgorithm (kms:KeyAgreementAlgorithm). */
  keyAgreementAlgorithm?: string;
  /** GenerateDataKeyPair*: the request's KeyPairSpec (kms:DataKeyPairSpec). */
  dataKeyPairSpec?: string;
  /** Sign and Verify: the request's SigningAlgorithm and MessageType (RAW when not sent). */
  signingAlgorithm?: string;
  messageType?: string;
  /** ReEncrypt: is the destination key the source key? */
  reEncryptOnSameKey?: boolean;
  /** CreateKey, PutKeyPolicy: the parameter, only when the request sent it. */
  bypassPolicyLockoutSafetyCheck?: boolean;
  /** EnableKeyRotation's RotationPeriodInDays, when sent. */
  rotationPeriodInDays?: number;
  /** ScheduleKeyDeletion's PendingWindowInDays, when sent. */
  pendingWindowInDays?: number;
  /** CreateKey's request: the key it would create (defaults filled in by kmsConditionKeys). */
  keySpec?: string;
  keyUsage?: string;
  origin?: string;
  multiRegion?: boolean;
  /** CreateKey's and TagResource's tags (aws:RequestTag/KEY), checked and without duplicates. */
  requestTags?: ReadonlyMap<string, string>;
  /** The tag keys of the request (aws:TagKeys): CreateKey's and TagResource's, UntagResource's TagKeys. */
  tagKeys?: readonly string[];
  /** ReplicateKey's ReplicaRegion (kms:ReplicaRegion) and UpdatePrimaryRegion's PrimaryRegion (kms:PrimaryRegion). */
  replicaRegion?: string;
  primaryRegion?: string;
  /** The aliases of the request's key (kms:ResourceAliases); filled in from the key store. */
  resourceAliases?: readonly string[];
}

export type ConditionKeys = Map<string, string | string[]>;

/** Operations whose request carries an encryption context (conditions-kms: kms:EncryptionContext:context-key). */
const WITH_CONTEXT = new Set(['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']);
/** kms:EncryptionAlgorithm's operations (ReEncrypt is authorized as ReEncryptFrom and ReEncryptTo). */
const WITH_ALGORITHM = WITH_CONTEXT;
/** kms:RequestAlias: cryptographic operations, DescribeKey and GetPublicKey. */
const WITH_REQUEST_ALIAS = new Set([
  ...WITH_CONTEXT, 'DescribeKey', 'GetPublicKey', 'Sign', 'Verify', 'GenerateMac', 'VerifyMac', 'DeriveSharedSecret',
]);
const GRANT_MANAGEMENT = new Set(['CreateGrant', 'ListGrants', 'RevokeGrant']);

const bool = (b: boolean) => (b ? 'true' : 'false');

/**
 * The kms: condition keys of a request for `action` ("Decrypt" or "kms:Decrypt") by `ctx` on `key`
 * (undefined for an action on no key, such as CreateKey).
 */
export function kmsConditionKeys(ctx: CallContext, key: KmsKey | undefined, action: string, input: KmsRequestFacts = {}): ConditionKeys {
  const op = action.startsWith('kms:') ? action.slice(4) : action;
  const keys: ConditionKeys = new Map();
  const set = (name: string, value: string | string[] | undefined) => {
    if (value !== undefined) keys.set(name, value);
  };

  // Who calls, and through which service.
  if (key) set('kms:CallerAccount', ctx.principal.accountId);
  set('kms:ViaService', ctx.viaService);

  // The key used, or for CreateKey the key asked for. kms:CustomerMasterKeySpec and
  // kms:CustomerMasterKeyUsage are the deprecated names AWS still honours.
  const spec = key ? key.keySpec : op === 'CreateKey' ? (input.keySpec ?? 'SYMMETRIC_DEFAULT') : undefined;
  const usage = key ? key.keyUsage : op === 'CreateKey' ? (input.keyUsage ?? 'ENCRYPT_DECRYPT') : undefined;
  set('kms:KeySpec', spec);
  set('kms:CustomerMasterKeySpec', spec);
  set('kms:KeyUsage', usage);
  set('kms:CustomerMasterKeyUsage', usage);
  set('kms:KeyOrigin', key ? key.origin : op === 'CreateKey' ? (input.origin ?? 'AWS_KMS') : undefined);
  set('kms:MultiRegion', key ? bool(isMultiRegionKeyId(key.keyId)) : op === 'CreateKey' ? bool(input.multiRegion ?? false) : undefined);
  if (key && input.resourceAliases) set('kms:ResourceAliases', [...input.resourceAliases]);

  // The request's parameters.
  if (WITH_CONTEXT.has(op)) addContext(keys, input.context);
  if (WITH_ALGORITHM.has(op)) set('kms:EncryptionAlgorithm', input.encryptionAlgorithm ?? 'SYMMETRIC_DEFAULT');
  if (WITH_REQUEST_ALIAS.has(op)) set('kms:RequestAlias', requestAlias(input.keyIdParam));
  if (op === 'GenerateMac' || op === 'VerifyMac') set('kms:MacAlgorithm', input.macAlgorithm);
  if (op === 'DeriveSharedSecret') set('kms:KeyAgreementAlgorithm', input.keyAgreementAlgorithm);
  if (op === 'GenerateDataKeyPair' || op === 'GenerateDataKeyPairWithoutPlaintext') set('kms:DataKeyPairSpec', input.dataKeyPairSpec);
  if (op === 'Sign' || op === 'Verify') {
    set('kms:SigningAlgorithm', input.signingAlgorithm);
    set('kms:MessageType', input.messageType);
  }
  if (op === 'ReEncryptFrom' || op === 'ReEncryptTo') set('kms:ReEncryptOnSameKey', input.reEncryptOnSameKey === undefined ? undefined : bool(input.reEncryptOnSameKey));
  if (op === 'CreateKey' || op === 'PutKeyPolicy') {
    set('kms:BypassPolicyLockoutSafetyCheck', input.bypassPolicyLockoutSafetyCheck === undefined ? undefined : bool(input.bypassPolicyLockoutSafetyCheck));
  }
  if (op === 'EnableKeyRotation' && input.rotationPeriodInDays !== undefined) set('kms:RotationPeriodInDays', String(input.rotationPeriodInDays));
  if (op === 'ScheduleKeyDeletion' && input.pendingWindowInDays !== undefined) set('kms:ScheduleKeyDeletionPendingWindowInDays', String(input.pendingWindowInDays));
  if (op === 'ReplicateKey') set('kms:ReplicaRegion', input.replicaRegion);
  if (op === 'UpdatePrimaryRegion') set('kms:PrimaryRegion', input.primaryRegion);

  // Grants. kms:GrantIsForAWSResource is true when an AWS service integrated with KMS makes the
  // call on the principal's behalf (ebsim: EC2, which sets ctx.viaService).
  if (GRANT_MANAGEMENT.has(op)) set('kms:GrantIsForAWSResource', bool(ctx.viaService !== undefined));
  if (op === 'CreateGrant') {
    const grant = input.newGrant;
    if (grant) set('kms:GrantOperations', [...grant.operations]);
    set('kms:GranteePrincipal', input.granteePrincipal);
    set('kms:RetiringPrincipal', input.retiringPrincipal);
    const c = grant?.constraints;
    const types = c ? (['EncryptionContextEquals', 'EncryptionContextSubset'] as const).filter((t) => c[t] !== undefined) : [];
    if (types.length) set('kms:GrantConstraintType', types.length === 1 ? types[0] : [...types]);
    // For CreateGrant, the encryption context keys test the grant's constraint.
    addContext(keys, c?.EncryptionContextEquals ?? c?.EncryptionContextSubset);
  }
  return keys;
}

/** kms:EncryptionContext:KEY per pair and kms:EncryptionContextKeys; none for an empty context. */
function addContext(keys: ConditionKeys, context: EncryptionContext | undefined): void {
  const names = context ? Object.keys(context) : [];
  if (!names.length) return;
  for (const k of names) keys.set(`kms:EncryptionContext:${k}`, context![k]!);
  keys.set('kms:EncryptionContextKeys', names);
}

/** The alias name a KeyId parameter names (an alias name, or an alias ARN reduced to its name); else none. */
function requestAlias(keyIdParam: string | undefined): string | undefined {
  if (keyIdParam === undefined) return undefined;
  if (keyIdParam.startsWith('alias/')) return keyIdParam;
  const at = keyIdParam.indexOf(':alias/');
  return keyIdParam.startsWith('arn:') && at >= 0 ? keyIdParam.slice(at + 1) : undefined;
}
