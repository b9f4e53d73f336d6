// The IAM directory: the home's accounts, their users and access keys, their roles and
// assumed-role sessions, as stored. A directory acts in one account: the one it is scoped to
// (`inAccount`, chosen by the caller's principal), else the home's first account. The IAM and STS operations (operations.ts) act on it; resolving who signed
// a request or who `--as` names is not an AWS call and is not recorded.
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import { AccessDenied, EntityAlreadyExistsException, NoSuchEntityException, ValidationError, UserError } from '../errors/index.js';
import type { CallContext, Principal } from '../core/call-context.js';
import * as ids from './ids.js';
import { EC2_INFRASTRUCTURE_ROLE } from './ids.js';
import { isoSeconds } from '../core/time.js';
import { accountRootTrustPolicy, checkPolicyDocument, checkTrustPolicySize, QUOTAS } from './documents.js';
import { PolicyStore, type PolicyHolder } from './policies.js';
import { PoliciesOf, type NamedPolicyText } from './policies-of.js';
import { PolicySyntaxError, accessDeniedMessage, callerOf, evaluateCall, explainCall, formatExplanation, globalConditionKeys, parsedPolicy, type NamedPolicy, type PrincipalPolicies, type RequestContext } from '../policy/index.js';

/** Parsed identity policies by the (frozen, cached) list of their texts. */
const parsedLists = new WeakMap<readonly NamedPolicyText[], readonly NamedPolicy[]>();

export type { NamedPolicyText };

export const DEFAULT_ACCOUNT_ID = '123456789012';
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_USER = 'Alice';
export { EC2_INFRASTRUCTURE_ROLE };

const NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
const SESSION_PATTERN = /^[\w+=,.@-]{2,64}$/;

export interface Account {
  accountId: string;
  region: string;
}

export interface AccessKey {
  AccessKeyId: string;
  SecretAccessKey: string;
  UserName: string;
  Status: 'Active';
  CreateDate: string;
}

export interface IamUser {
  UserName: string;
  UserId: string;
  Arn: string;
  Path: '/';
  CreateDate: string;
}

export interface IamRole {
  RoleName: string;
  RoleId: string;
  Arn: string;
  Path: '/';
  CreateDate: string;
}

/** GetRole's Role: the trust policy as text (the operations URL-encode it, as IAM's API does). */
export interface IamRoleDetail extends IamRole {
  AssumeRolePolicyDocument: string;
  Description?: string;
  MaxSessionDuration: number;
}

export interface RoleOptions {
  description?: string;
  /** Seconds, 3600..43200 (the declaration bounds it); AWS's default is one hour. */
  maxSessionDuration?: number;
}

export interface SessionOptions {
  /** The AssumeRole call (its condition keys, and --explain), when it is one. */
  ctx?: CallContext;
  /** A session policy (identity-policy grammar): the session may do at most what it allows. */
  policy?: string;
  /** 900..43200 seconds, at most the role's MaxSessionDuration; one hour by default. */
  durationSeconds?: number;
}


const DEFAULT_SESSION_SECONDS = 3600;

export interface AssumedRole {
  Credentials: SessionCredentials;
  AssumedRoleUser: { AssumedRoleId: string; Arn: string };
}

export interface SessionCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

/** What an access key id stands for (lookupAccessKey). */
export interface AccessKeyEntry {
  principal: Principal;
  secret: string;
  /** Temporary credentials (AssumeRole, GetSessionToken) are valid only with their token. */
  sessionToken?: string;
  /** When temporary credentials expire (ISO 8601); long-term keys do not. */
  expiresAt?: string;
}

/** GetSessionToken: 900 seconds to 36 hours, 12 hours by default. */
export const SESSION_TOKEN_SECONDS = { min: 900, max: 129600, default: 43200 } as const;

interface PrincipalRow {
  arn: string;
  account_id: string;
  kind: 'user' | 'role';
  name: string;
  principal_id: string;
  created_at: string;
}

interface KeyRow {
  access_key_id: string;
  secret_access_key: string;
  principal_arn: string;
  session_name: string | null;
  session_token: string | null;
  expires_at: string | null;
  created_at: string;
}

export class IamDirectory {
  /** Inline and managed policies and their attachments (policies.ts). */
  readonly policies: PolicyStore;
  private readonly documents: PoliciesOf;

  /** `scope`: the account this directory acts in; without one, the home's first account. */
  constructor(
    protected readonly db: Db,
    private readonly scope?: string,
  ) {
    this.policies = new PolicyStore(db, () => this.accountId());
    this.documents = new PoliciesOf(db, this.policies);
  }

  /** The account this directory acts in (its scope), if the home has it; unscoped, the home's first account. */
  account(): Account | undefined {
    if (this.scope !== undefined) return this.accountById(this.scope);
    const row = this.db.prepare('SELECT account_id, region FROM accounts ORDER BY rowid LIMIT 1').get() as
      | { account_id: string; region: string }
      | undefined;
    return row && { accountId: row.account_id, region: row.region };
  }

  /** The home's accounts, the first (the default of `--account` and of `ebsim init`'s profile `ebsim`) first. */
  accounts(): Account[] {
    return (this.db.prepare('SELECT account_id, region FROM accounts ORDER BY rowid').all() as { account_id: string; region: string }[]).map((r) => ({
      accountId: r.account_id,
      region: r.region,
    }));
  }

  accountById(accountId: string): Account | undefined {
    const row = this.db.prepare('SELECT account_id, region FROM accounts WHERE account_id = ?').get(accountId) as
      | { account_id: string; region: string }
      | undefined;
    return row && { accountId: row.account_id, region: row.region };
  }

  /**
   * The account this directory acts in (see `account`). Unscoped, that is the home's first account:
   * the one `ebsim` commands act in without `--account`, and ebsim's own setup without a caller.
   */
  requireAccount(): Account {
    const a = this.account();
    if (!a) {
      throw new UserError(this.scope !== undefined ? `this ebsim home has no account ${this.scope}: add it with \`ebsim init --account-id ${this.scope}\`` : 'this ebsim home has no account yet: run `ebsim init` first');
    }
    return a;
  }

  /** The ID of the account this directory acts in. A scoped directory needs no row for it (an unknown account is an empty one). */
  accountId(): string {
    return this.scope ?? this.requireAccount().accountId;
  }

  /** Adds the account if the home does not hold it yet. Returns the account as stored. */
  ensureAccount(accountId: string, region: string): Account {
    if (!/^\d{12}$/.test(accountId)) throw new ValidationError(`Account ID '${accountId}' must be 12 digits.`);
    return immediate(this.db, () => {
      const existing = this.accountById(accountId);
      if (existing) return existing;
      this.db.prepare('INSERT INTO accounts VALUES (?, ?, ?)').run(accountId, region, isoSeconds());
      return { accountId, region };
    });
  }

  // ---- users -------------------------------------------------------------------------

  addUser(userName: string): IamUser {
    checkName(userName, 'userName');
    const accountId = this.accountId();
    const arn = ids.userArn(accountId, userName);
    return immediate(this.db, () => {
      if (this.nameTaken(accountId, 'user', userName)) {
        throw new EntityAlreadyExistsException(`User with name ${userName} already exists.`);
      }
      const now = isoSeconds();
      const id = ids.newUserId();
      this.db.prepare('INSERT INTO principals VALUES (?, ?, ?, ?, ?, ?)').run(arn, accountId, 'user', userName, id, now);
      return { UserName: userName, UserId: id, Arn: arn, Path: '/' as const, CreateDate: now };
    });
  }

  /** The users of this directory's account (ListUsers). */
  users(): IamUser[] {
    const rows = this.db.prepare("SELECT * FROM principals WHERE kind = 'user' AND account_id = ? ORDER BY name").all(this.accountId()) as PrincipalRow[];
    return rows.map((r) => ({ UserName: r.name, UserId: r.principal_id, Arn: r.arn, Path: '/' as const, CreateDate: r.created_at }));
  }

  addAccessKey(userName: string): AccessKey {
    const accountId = this.accountId();
    return immediate(this.db, () => {
      const user = this.findPrincipal(accountId, 'user', userName);
      if (!user) throw userNotFound(userName);
      const key: AccessKey = {
        AccessKeyId: ids.newAccessKeyId(),
        SecretAccessKey: ids.newSecretAccessKey(),
        UserName: userName,
        Status: 'Active',
        CreateDate: isoSeconds(),
      };
      this.db
        .prepare('INSERT INTO access_keys (access_key_id, secret_access_key, principal_arn, created_at) VALUES (?, ?, ?, ?)')
        .run(key.AccessKeyId, key.SecretAccessKey, user.arn, key.CreateDate);
      return key;
    });
  }

  // ---- roles and sessions ------------------------------------------------------------

  /** A role with its trust policy (the assume-role policy document), checked as IAM checks it. */
  addRole(roleName: string, trustPolicy: string, opts: RoleOptions = {}): IamRoleDetail {
    checkName(roleName, 'roleName');
    if (roleName.startsWith('aws:')) throw new ValidationError(`Role names beginning with 'aws:' are reserved for AWS services.`);
    checkPolicyDocument(trustPolicy, 'trust');
    checkTrustPolicySize(trustPolicy);
    const accountId = this.accountId();
    return immediate(this.db, () => {
      if (this.nameTaken(accountId, 'role', roleName)) {
        throw new EntityAlreadyExistsException(`Role with name ${roleName} already exists.`);
      }
      const role = this.insertRole(accountId, roleName);
      const max = opts.maxSessionDuration ?? DEFAULT_SESSION_SECONDS;
      this.db.prepare('INSERT INTO iam_roles VALUES (?, ?, ?, ?)').run(role.Arn, trustPolicy, opts.description ?? null, max);
      return { ...role, AssumeRolePolicyDocument: trustPolicy, ...(opts.description !== undefined ? { Description: opts.description } : {}), MaxSessionDuration: max };
    });
  }

  /** GetRole. A role made before trust policies were stored trusts its own account (accountRootTrustPolicy). */
  role(roleName: string, accountId = this.accountId()): IamRoleDetail {
    const row = this.findPrincipal(accountId, 'role', roleName);
    if (!row) throw roleNotFound(roleName);
    return this.roleDetail(row);
  }

  /** UpdateAssumeRolePolicy. */
  setTrustPolicy(roleName: string, trustPolicy: string): void {
    checkPolicyDocument(trustPolicy, 'trust');
    checkTrustPolicySize(trustPolicy);
    const accountId = this.accountId();
    immediate(this.db, () => {
      const row = this.findPrincipal(accountId, 'role', roleName);
      if (!row) throw roleNotFound(roleName);
      this.db
        .prepare('INSERT INTO iam_roles (role_arn, assume_role_policy) VALUES (?, ?) ON CONFLICT (role_arn) DO UPDATE SET assume_role_policy = excluded.assume_role_policy')
        .run(row.arn, trustPolicy);
    });
  }

  /** The user or role that policies are put in or attached to; NoSuchEntity in IAM's words. */
  holder(kind: 'user' | 'role', name: string): PolicyHolder {
    const row = this.findPrincipal(this.accountId(), kind, name);
    if (!row) throw kind === 'user' ? userNotFound(name) : roleNotFound(name);
    return { kind, name, arn: row.arn };
  }

  /** The roles of this directory's account. */
  roles(): IamRole[] {
    return this.roleRows().map(roleOf);
  }

  /** The roles of this directory's account with their trust policies (ListRoles). */
  roleDetails(): IamRoleDetail[] {
    return this.roleRows().map((r) => this.roleDetail(r));
  }

  private roleRows(): PrincipalRow[] {
    return this.db.prepare("SELECT * FROM principals WHERE kind = 'role' AND account_id = ? ORDER BY name").all(this.accountId()) as PrincipalRow[];
  }

  private roleDetail(row: PrincipalRow): IamRoleDetail {
    const extra = this.db.prepare('SELECT * FROM iam_roles WHERE role_arn = ?').get(row.arn) as
      | { assume_role_policy: string; description: string | null; max_session_duration: number }
      | undefined;
    return {
      ...roleOf(row),
      AssumeRolePolicyDocument: extra?.assume_role_policy ?? accountRootTrustPolicy(row.account_id),
      ...(extra?.description != null ? { Description: extra.description } : {}),
      MaxSessionDuration: extra?.max_session_duration ?? DEFAULT_SESSION_SECONDS,
    };
  }

  /**
   * A session of a role (STS AssumeRole), with temporary credentials stored for SigV4, and its
   * session policy, if any, stored by the session's access key.
   */
  startSession(caller: Principal | undefined, roleArnOrName: string, sessionName: string, opts: SessionOptions = {}): AssumedRole {
    if (!SESSION_PATTERN.test(sessionName)) {
      throw new ValidationError(`1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    }
    const { accountId, roleName } = this.assumableRole(caller, roleArnOrName, opts.ctx);
    if (opts.policy !== undefined) {
      checkPolicyDocument(opts.policy, 'identity');
      // AWS: the plain text of a session policy may not exceed 2,048 characters (the length as sent).
      if (opts.policy.length > QUOTAS.sessionPolicySize) {
        throw new ValidationError(`1 validation error detected: Value '${opts.policy}' at 'policy' failed to satisfy constraint: Member must have length less than or equal to ${QUOTAS.sessionPolicySize}`);
      }
    }
    const session = this.sessionPrincipal(ids.roleArn(accountId, roleName), sessionName, ids.newSessionAccessKeyId());
    const seconds = opts.durationSeconds ?? DEFAULT_SESSION_SECONDS;
    if (seconds > this.role(roleName, accountId).MaxSessionDuration) {
      throw new ValidationError('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    }
    const creds: SessionCredentials = {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: ids.newSecretAccessKey(),
      SessionToken: ids.newSessionToken(),
      Expiration: isoSeconds(new Date(Date.now() + seconds * 1000)),
    };
    immediate(this.db, () => {
      this.db
        .prepare('INSERT INTO access_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(creds.AccessKeyId, creds.SecretAccessKey, session.sessionIssuer!.arn, sessionName, creds.SessionToken, creds.Expiration, 'Active', session.sessionCreationDate);
      if (opts.policy !== undefined) this.db.prepare('INSERT INTO sts_session_policies VALUES (?, ?)').run(creds.AccessKeyId, opts.policy);
    });
    return { Credentials: creds, AssumedRoleUser: { AssumedRoleId: session.principalId, Arn: session.arn } };
  }

  /**
   * The one place AssumeRole is decided: the role `caller` may assume, or AccessDenied.
   * The role's trust policy must allow sts:AssumeRole by the caller, directly or by trusting the
   * caller's account, in which case the caller's identity policies must allow it too (AWS's
   * evaluation logic for a resource-based policy). The role may be in another account of the
   * home (named by its ARN; a bare name is a role of the caller's account): the evaluation then
   * is cross-account, with the role's account as the resource's, so the caller's identity
   * policies must allow it whatever the trust policy names. AWS's own aws: roles trust no one
   * here. Without a caller (ebsim's own setup, not an AWS call) a role of the account is assumable.
   */
  protected assumableRole(caller: Principal | undefined, roleArnOrName: string, ctx?: CallContext): { accountId: string; roleName: string } {
    const ref = roleRef(roleArnOrName, caller?.accountId ?? this.accountId());
    const refuse = (why: string) => new AccessDenied(`User: ${caller?.arn ?? 'ebsim'} is not authorized to perform: sts:AssumeRole on resource: ${roleArnOrName}${why}`);
    if (ref === undefined || ref.roleName.startsWith('aws:')) throw refuse('');
    const { accountId, roleName } = ref;
    if (!caller) {
      if (accountId !== this.accountId()) throw refuse('');
      return ref;
    }
    const roleArn = ids.roleArn(accountId, roleName);
    const trust = this.trustPolicyOf(roleArn);
    if (trust === undefined) throw refuse('');
    const request: RequestContext = {
      action: 'sts:AssumeRole',
      resource: roleArn,
      resourceAccount: accountId,
      principal: callerOf(caller),
      keys: ctx ? globalConditionKeys(ctx) : new Map<string, string>(),
    };
    let document;
    try {
      document = parsedPolicy(trust, 'trust');
    } catch (err) {
      // A trust policy stored by an older ebsim that this one refuses (NotPrincipal): it trusts no one.
      if (err instanceof PolicySyntaxError) throw new AccessDenied(`User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
      throw err;
    }
    const trustPolicy: NamedPolicy = { name: `trust policy of role ${roleName}`, type: 'resource-based', document };
    const evaluation = evaluateCall(ctx, request, this.policiesOf(caller), trustPolicy);
    const allowed = evaluation.decision === 'Allow';
    explainCall(ctx, request, allowed, () => formatExplanation(evaluation));
    if (!allowed) throw new AccessDenied(accessDeniedMessage(caller.arn, 'sts:AssumeRole', roleArn, evaluation));
    return ref;
  }

  // ---- policies of principals (authorization reads them on every call: policies-of.ts) ----

  identityPoliciesOf(principal: Principal): readonly NamedPolicyText[] {
    return this.documents.identityPoliciesOf(principal);
  }

  sessionPolicyOf(principal: Principal): string | undefined {
    return this.documents.sessionPolicyOf(principal);
  }

  /** The principal's identity and session policies, parsed (once per text), for evaluation. */
  policiesOf(principal: Principal): PrincipalPolicies {
    const texts = this.documents.identityPoliciesOf(principal);
    let identityPolicies = parsedLists.get(texts);
    if (!identityPolicies) {
      identityPolicies = Object.freeze(texts.map((p) => Object.freeze({ name: p.name, type: 'identity-based' as const, document: parsedPolicy(p.text, 'identity') })));
      parsedLists.set(texts, identityPolicies);
    }
    const session = this.documents.sessionPolicyOf(principal);
    if (session === undefined) return { identityPolicies };
    return { identityPolicies, sessionPolicies: [{ name: `session policy of ${principal.arn}`, type: 'session', document: parsedPolicy(session, 'session') }] };
  }

  trustPolicyOf(roleArn: string): string | undefined {
    return this.documents.trustPolicyOf(roleArn);
  }

  // ---- temporary credentials of a user ----------------------------------------------

  /**
   * STS GetSessionToken: temporary credentials (an ASIA key with a session token) that act as the
   * IAM user who asked, stored like a session's. Only a user's long-term key may ask: AWS refuses
   * session credentials, a role's or the user's own temporary ones.
   */
  startUserSession(caller: Principal, seconds: number = SESSION_TOKEN_SECONDS.default): SessionCredentials {
    if (caller.type !== 'IAMUser' || caller.accessKeyId.startsWith('ASIA')) {
      throw new AccessDenied('Cannot call GetSessionToken with session credentials');
    }
    const creds: SessionCredentials = {
      AccessKeyId: ids.newSessionAccessKeyId(),
      SecretAccessKey: ids.newSecretAccessKey(),
      SessionToken: ids.newSessionToken(),
      Expiration: isoSeconds(new Date(Date.now() + seconds * 1000)),
    };
    immediate(this.db, () => {
      if (!this.db.prepare("SELECT 1 FROM principals WHERE arn = ? AND kind = 'user'").get(caller.arn)) throw userNotFound(caller.name);
      this.db
        .prepare('INSERT INTO access_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(creds.AccessKeyId, creds.SecretAccessKey, caller.arn, null, creds.SessionToken, creds.Expiration, 'Active', isoSeconds());
    });
    return creds;
  }

  // ---- resolving principals ----------------------------------------------------------

  /** The principal behind `--as`: an IAM user name, or role/ROLE[/SESSION], of `accountId` (default: this directory's account). */
  resolveAs(spec: string, accountId = this.accountId()): Principal {
    if (spec.startsWith('role/')) {
      const [, role, session] = spec.split('/');
      if (!role) throw new UserError(`--as ${spec}: expected role/ROLE[/SESSION]`);
      return this.sessionPrincipal(ids.roleArn(accountId, role), session || 'ebsim-cli', '');
    }
    const user = this.findPrincipal(accountId, 'user', spec);
    if (!user) throw userNotFound(spec);
    const key = this.db
      .prepare('SELECT * FROM access_keys WHERE principal_arn = ? AND session_name IS NULL AND session_token IS NULL ORDER BY created_at LIMIT 1')
      .get(user.arn) as KeyRow | undefined;
    return userPrincipal(user, key?.access_key_id ?? '', key?.created_at ?? user.created_at);
  }

  /**
   * For SigV4: the principal and secret behind an access key id, or undefined if unknown or
   * expired. With `includeExpired`, temporary credentials past their expiry are returned too, with
   * their `expiresAt`, so that the server can answer ExpiredToken rather than "unknown key".
   */
  lookupAccessKey(accessKeyId: string, opts: { includeExpired?: boolean } = {}): AccessKeyEntry | undefined {
    const key = this.db.prepare("SELECT * FROM access_keys WHERE access_key_id = ? AND status = 'Active'").get(accessKeyId) as KeyRow | undefined;
    if (!key) return undefined;
    if (!opts.includeExpired && key.expires_at && new Date(key.expires_at) < new Date()) return undefined;
    const owner = this.db.prepare('SELECT * FROM principals WHERE arn = ?').get(key.principal_arn) as PrincipalRow | undefined;
    if (!owner) return undefined;
    const principal =
      owner.kind === 'user'
        ? userPrincipal(owner, key.access_key_id, key.created_at)
        : { ...this.sessionPrincipal(owner.arn, key.session_name!, key.access_key_id), sessionCreationDate: key.created_at };
    return { principal, secret: key.secret_access_key, sessionToken: key.session_token ?? undefined, ...(key.expires_at ? { expiresAt: key.expires_at } : {}) };
  }

  /**
   * An assumed-role session of a role named by its ARN (of any account of the home) or by its
   * name (a role of this directory's account). The EC2 infrastructure role is AWS's own: its
   * principal IDs are formed as in the seed ("ACCOUNT:aws:ec2-infrastructure:i-…"), and it needs
   * no IAM role row.
   */
  sessionPrincipal(roleArnOrName: string, sessionName: string, accessKeyId: string): Principal {
    const ref = roleRef(roleArnOrName, this.accountId());
    if (ref === undefined) throw new NoSuchEntityException(`The role with name ${roleArnOrName} cannot be found.`);
    const { accountId, roleName } = ref;
    const arn = ids.roleArn(accountId, roleName);
    let rolePrincipalId: string;
    if (roleName === EC2_INFRASTRUCTURE_ROLE) {
      rolePrincipalId = `${accountId}:${EC2_INFRASTRUCTURE_ROLE}`;
    } else {
      const role = this.findPrincipal(accountId, 'role', roleName);
      if (!role) throw roleNotFound(roleName);
      rolePrincipalId = role.principal_id;
    }
    return {
      type: 'AssumedRole',
      arn: ids.assumedRoleArn(accountId, roleName, sessionName),
      principalId: `${rolePrincipalId}:${sessionName}`,
      accountId,
      accessKeyId,
      name: sessionName,
      sessionCreationDate: isoSeconds(),
      sessionIssuer: { type: 'Role', principalId: rolePrincipalId, arn, accountId, userName: roleName },
    };
  }

  /**
   * Does the home hold a user or role with this ARN or unique ID (AIDA…, AROA…)? For KMS, which
   * refuses a grant to a principal that does not exist (CreateGrant's InvalidArnException).
   */
  hasPrincipal(arnOrId: string): boolean {
    return this.db.prepare('SELECT 1 FROM principals WHERE arn = ? OR principal_id = ?').get(arnOrId, arnOrId) !== undefined;
  }

  /**
   * Is the name taken, but for case? IAM names "aren't distinguished by case" (IAM User Guide, "IAM
   * identifiers"): a user "alice" beside "Alice" would be a second principal that a policy or grant
   * naming one of them could be mistaken for. Names are ASCII ([\w+=,.@-]), which NOCASE folds.
   */
  private nameTaken(accountId: string, kind: 'user' | 'role', name: string): boolean {
    return this.db.prepare('SELECT 1 FROM principals WHERE account_id = ? AND kind = ? AND name = ? COLLATE NOCASE').get(accountId, kind, name) !== undefined;
  }

  private findPrincipal(accountId: string, kind: 'user' | 'role', name: string): PrincipalRow | undefined {
    return this.db.prepare('SELECT * FROM principals WHERE account_id = ? AND kind = ? AND name = ?').get(accountId, kind, name) as
      | PrincipalRow
      | undefined;
  }

  private insertRole(accountId: string, roleName: string): IamRole {
    const now = isoSeconds();
    const role = { RoleName: roleName, RoleId: ids.newRoleId(), Arn: ids.roleArn(accountId, roleName), Path: '/' as const, CreateDate: now };
    this.db.prepare('INSERT INTO principals VALUES (?, ?, ?, ?, ?, ?)').run(role.Arn, accountId, 'role', roleName, role.RoleId, now);
    return role;
  }
}

/**
 * The account and role name behind an IAM role ARN, or behind a bare name (a role of
 * `defaultAccount`); undefined for an ARN of another partition or service, or one that names no role.
 */
function roleRef(roleArnOrName: string, defaultAccount: string): { accountId: string; roleName: string } | undefined {
  if (!roleArnOrName.startsWith('arn:')) return { accountId: defaultAccount, roleName: roleArnOrName };
  const m = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(roleArnOrName);
  return m ? { accountId: m[1]!, roleName: m[2]! } : undefined;
}

const userNotFound = (name: string) => new NoSuchEntityException(`The user with name ${name} cannot be found.`);
const roleNotFound = (name: string) => new NoSuchEntityException(`The role with name ${name} cannot be found.`);

function checkName(name: string, field: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new ValidationError(`1 validation error detected: Value '${name}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`);
  }
}

function roleOf(r: PrincipalRow): IamRole {
  return { RoleName: r.name, RoleId: r.principal_id, Arn: r.arn, Path: '/', CreateDate: r.created_at };
}

function userPrincipal(user: PrincipalRow, accessKeyId: string, since: string): Principal {
  return {
    type: 'IAMUser',
    arn: user.arn,
    principalId: user.principal_id,
    accountId: user.account_id,
    accessKeyId,
    name: user.name,
    sessionCreationDate: since,
  };
}

