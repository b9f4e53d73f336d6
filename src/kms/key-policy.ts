// Key policies as documents: the one check a new policy goes through (checkKeyPolicy), the
// lockout safety check (lockoutCheck), and the store of policy texts, kept exactly as given.
//
// Sources: PutKeyPolicy and CreateKey in the KMS API Reference (a policy "must allow the calling
// principal to make a subsequent PutKeyPolicy request", "each statement … must contain one or more
// principals"; statements missing Action or Resource are accepted and have no effect), and "AWS KMS
// condition keys" for the OverlyPermissiveCondition refusal:
// https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
import { PolicySyntaxError, parsedPolicy } from '../policy/index.js';
import { MalformedPolicyDocumentException } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import { ReadCache } from '../store/read-cache.js';
import { policyWhenNoneStored } from './default-policies.js';
import { storageKeyId } from './multi-region.js';

/** "The key policy size quota is 32 kilobytes (32768 bytes)" (PutKeyPolicy, Policy), counted in UTF-8 bytes. */
export const KEY_POLICY_MAX_BYTES = 32768;

/** AWS's only key policy name. */
export const DEFAULT_POLICY_NAME = 'default';

/**
 * Messages of MalformedPolicyDocumentException. `lockout`, `principals` and `overlyPermissive` are
 * AWS's words; AWS does not document its words for the other three, so those are ebsim's.
 */
export const POLICY_MESSAGES = {
  lockout: 'The new key policy will not allow you to update the key policy in the future.',
  principals: 'Policy contains a statement with one or more invalid principals.',
  overlyPermissive:
    'OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.',
  tooLarge: `The key policy exceeds the maximum size of ${KEY_POLICY_MAX_BYTES} bytes.`,
  notJson: 'The key policy is not valid JSON.',
  shape: (what: string) => `The key policy is not a valid policy document: ${what}.`,
} as const;

const malformed = (message: string) => new MalformedPolicyDocumentException(message);
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The one check of a key policy document before it is stored (CreateKey, PutKeyPolicy): size,
 * JSON, and the shape of a policy (statements with an Effect and a principal; string or list
 * elements; conditions as operator → key → values). The policy engine's parser takes over the
 * grammar when it is merged (parsePolicy(text, 'key')); this function stays the one entry point.
 */
export function checkKeyPolicy(text: string): void {
  if (Buffer.byteLength(text, 'utf8') > KEY_POLICY_MAX_BYTES) throw malformed(POLICY_MESSAGES.tooLarge);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformed(POLICY_MESSAGES.notJson);
  }
  if (!isObject(doc)) throw malformed(POLICY_MESSAGES.shape('the document must be a JSON object'));
  for (const k of Object.keys(doc)) if (!['Version', 'Id', 'Statement'].includes(k)) throw malformed(POLICY_MESSAGES.shape(`unknown element ${JSON.stringify(k)}`));
  if (own(doc, 'Version') && doc.Version !== '2012-10-17' && doc.Version !== '2008-10-17') throw malformed(POLICY_MESSAGES.shape('Version must be "2012-10-17" or "2008-10-17"'));
  if (own(doc, 'Id') && typeof doc.Id !== 'string') throw malformed(POLICY_MESSAGES.shape('Id must be a string'));
  statementsOf(doc).forEach(checkStatement);
  // Then the policy grammar itself (actions, ARNs, condition operators and values).
  try {
    parsedPolicy(text, 'key');
  } catch (err) {
    if (err instanceof PolicySyntaxError) throw malformed(err.message);
    throw err;
  }
}

/** The Statement element as a list (one statement may be written without the list). */
function statementsOf(doc: Record<string, unknown>): Record<string, unknown>[] {
  if (!own(doc, 'Statement')) throw malformed(POLICY_MESSAGES.shape('Statement is missing'));
  const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  if (!list.length) throw malformed(POLICY_MESSAGES.shape('Statement is empty'));
  if (!list.every(isObject)) throw malformed(POLICY_MESSAGES.shape('each statement must be a JSON object'));
  return list as Record<string, unknown>[];
}

const STATEMENT_ELEMENTS = ['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];

function checkStatement(s: Record<string, unknown>): void {
  for (const k of Object.keys(s)) if (!STATEMENT_ELEMENTS.includes(k)) throw malformed(POLICY_MESSAGES.shape(`unknown statement element ${JSON.stringify(k)}`));
  if (own(s, 'Sid') && typeof s.Sid !== 'string') throw malformed(POLICY_MESSAGES.shape('Sid must be a string'));
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw malformed(POLICY_MESSAGES.shape('Effect must be "Allow" or "Deny"'));
  if (own(s, 'Principal') === own(s, 'NotPrincipal')) throw malformed(POLICY_MESSAGES.principals);
  checkPrincipal(own(s, 'Principal') ? s.Principal : s.NotPrincipal);
  for (const [a, b] of [['Action', 'NotAction'], ['Resource', 'NotResource']] as const) {
    if (own(s, a) && own(s, b)) throw malformed(POLICY_MESSAGES.shape(`a statement has both ${a} and ${b}`));
    for (const k of [a, b]) if (own(s, k) && !isStrings(s[k])) throw malformed(POLICY_MESSAGES.shape(`${k} must be a string or a list of strings`));
  }
  if (own(s, 'Condition')) checkCondition(s.Condition);
}

const isStrings = (v: unknown) => typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'));

/** "*", or { AWS | Service | Federated | CanonicalUser: string or list }. AWS principals: "*", an account ID or an IAM/STS ARN. */
function checkPrincipal(p: unknown): void {
  if (p === '*') return;
  if (!isObject(p) || !Object.keys(p).length) throw malformed(POLICY_MESSAGES.principals);
  for (const [kind, v] of Object.entries(p)) {
    if (!['AWS', 'Service', 'Federated', 'CanonicalUser'].includes(kind) || !isStrings(v)) throw malformed(POLICY_MESSAGES.principals);
    const values = typeof v === 'string' ? [v] : (v as string[]);
    if (kind === 'AWS' && !values.every((x) => x === '*' || /^\d{12}$/.test(x) || /^arn:aws:(iam|sts)::\d{12}:\S+$/.test(x))) throw malformed(POLICY_MESSAGES.principals);
  }
}

function checkCondition(c: unknown): void {
  if (!isObject(c)) throw malformed(POLICY_MESSAGES.shape('Condition must be a JSON object'));
  for (const [operator, block] of Object.entries(c)) {
    if (!isObject(block)) throw malformed(POLICY_MESSAGES.shape(`Condition ${operator} must map condition keys to values`));
    for (const [key, values] of Object.entries(block)) {
      const list = Array.isArray(values) ? values : [values];
      if (!list.every((x) => ['string', 'boolean', 'number'].includes(typeof x))) throw malformed(POLICY_MESSAGES.shape(`Condition ${operator} ${key}: values must be strings, booleans or numbers`));
      if (/^ForAllValues:/i.test(operator) && /^kms:EncryptionContext:/i.test(key)) throw malformed(POLICY_MESSAGES.overlyPermissive);
    }
  }
}

/** The key a lockout check is about: for CreateKey, the key about to be created. */
export interface PolicyTarget {
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
}

/** The key a lockout check is about: for CreateKey, the key about to be created. */
export interface PolicyTarget {
  keyId: string;
  arn: string;
  accountId: string;
  region: string;
}

export function lockoutRefusal(): Error {
  return malformed(POLICY_MESSAGES.lockout);
}

// ---- the store -------------------------------------------------------------------------------

/** Inserts or replaces a key's policy text; call inside a write transaction (KeyStore.create) or through KeyPolicyStore.put. */
export function writeKeyPolicy(db: Db, keyId: string, text: string, at = new Date()): void {
  db.prepare(
    `INSERT INTO kms_key_policies (key_id, policy_name, document, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (key_id, policy_name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
  ).run(keyId, DEFAULT_POLICY_NAME, text, at.toISOString());
}

/** Policy texts as they were given, of the keys of one Region. A key without one has the default for its kind (default-policies.ts). */
export class KeyPolicyStore {
  private readonly byKey;
  private readonly cache: ReadCache<string | undefined>;
  private readonly parsedCache: ReadCache<unknown>;

  constructor(
    private readonly db: Db,
    private readonly region: string,
  ) {
    this.byKey = db.prepare('SELECT document FROM kms_key_policies WHERE key_id = ? AND policy_name = ?').pluck();
    this.cache = new ReadCache(db);
    this.parsedCache = new ReadCache(db);
  }

  /** The stored text, if the key's policy was ever given (CreateKey with Policy, PutKeyPolicy). */
  stored(keyId: string): string | undefined {
    return this.cache.get(keyId, () => this.byKey.get(storageKeyId(keyId, this.region), DEFAULT_POLICY_NAME) as string | undefined);
  }

  /** The key's policy: as stored, else the default for its kind (an AWS managed key's by its `alias/aws/…` alias). */
  text(key: { keyId: string; accountId: string; region: string; keyManager: 'CUSTOMER' | 'AWS' }, aliasNames: () => readonly string[]): string {
    return this.stored(key.keyId) ?? policyWhenNoneStored(key, key.keyManager === 'AWS' ? aliasNames() : []);
  }

  /**
   * The key's policy parsed, cached like the text (until this process or another one writes):
   * authorization reads it on every call. `cacheKey` names a key not yet created (an AWS managed
   * key before its first use) by its alias.
   */
  parsed<T>(key: { keyId: string; accountId: string; region: string; keyManager: 'CUSTOMER' | 'AWS' }, aliasNames: () => readonly string[], parse: (text: string) => T): T {
    const cacheKey = key.keyId || `alias:${aliasNames().join(',')}`;
    return this.parsedCache.get(cacheKey, () => parse(this.text(key, aliasNames))) as T;
  }

  put(keyId: string, text: string): void {
    immediate(this.db, () => writeKeyPolicy(this.db, storageKeyId(keyId, this.region), text));
  }
}
