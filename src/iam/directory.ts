// The IAM directory: the account, its users and access keys, its roles and assumed-role
// sessions, as stored. The IAM and STS operations (operations.ts) act on it; resolving who signed
// a request or who `--as` names is not an AWS call and is not recorded.
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import { AccessDenied, EntityAlreadyExistsException, NoSuchEntityException, ValidationException, UserError } from '../errors/index.js';
import type { Principal } from '../core/call-context.js';
import * as ids from './ids.js';
import { isoSeconds } from '../core/time.js';

export const DEFAULT_ACCOUNT_ID = '123456789012';
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_USER = 'Alice';
/** The service role whose per-instance sessions decrypt EBS data keys (the seed's Decrypt caller). */
export const EC2_INFRASTRUCTURE_ROLE = 'aws:ec2-infrastructure';

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
  constructor(protected readonly db: Db) {}

  account(): Account | undefined {
    const row = this.db.prepare('SELECT account_id, region FROM accounts LIMIT 1').get() as
      | { account_id: string; region: string }
      | undefined;
    return row && { accountId: row.account_id, region: row.region };
  }

  requireAccount(): Account {
    const a = this.account();
    if (!a) throw new UserError('this ebsim home has no account yet: run `ebsim init` first');
    return a;
  }

  /** Creates the account on first use. Returns the account that exists afterwards. */
  ensureAccount(accountId: string, region: string): Account {
    if (!/^\d{12}$/.test(accountId)) throw new ValidationException(`Account ID '${accountId}' must be 12 digits.`);
    return immediate(this.db, () => {
      const existing = this.account();
      if (existing) return existing;
      this.db.prepare('INSERT INTO accounts VALUES (?, ?, ?)').run(accountId, region, isoSeconds());
      return { accountId, region };
    });
  }

  // ---- users -------------------------------------------------------------------------

  addUser(userName: string): IamUser {
    checkName(userName, 'userName');
    const { accountId } = this.requireAccount();
    const arn = ids.userArn(accountId, userName);
    return immediate(this.db, () => {
      if (this.findPrincipal(accountId, 'user', userName)) {
        throw new EntityAlreadyExistsException(`User with name ${userName} already exists.`);
      }
      const now = isoSeconds();
      const id = ids.newUserId();
      this.db.prepare('INSERT INTO principals VALUES (?, ?, ?, ?, ?, ?)').run(arn, accountId, 'user', userName, id, now);
      return { UserName: userName, UserId: id, Arn: arn, Path: '/' as const, CreateDate: now };
    });
  }

  users(): IamUser[] {
    const rows = this.db.prepare("SELECT * FROM principals WHERE kind = 'user' ORDER BY name").all() as PrincipalRow[];
    return rows.map((r) => ({ UserName: r.name, UserId: r.principal_id, Arn: r.arn, Path: '/' as const, CreateDate: r.created_at }));
  }

  addAccessKey(userName: string): AccessKey {
    const { accountId } = this.requireAccount();
    return immediate(this.db, () => {
      const user = this.findPrincipal(accountId, 'user', userName);
      if (!user) throw new NoSuchEntityException(`The user with name ${userName} cannot be found.`);
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

  addRole(roleName: string): IamRole {
    checkName(roleName, 'roleName');
    if (roleName.startsWith('aws:')) throw new ValidationException(`Role names beginning with 'aws:' are reserved for AWS services.`);
    const { accountId } = this.requireAccount();
    return immediate(this.db, () => {
      if (this.findPrincipal(accountId, 'role', roleName)) {
        throw new EntityAlreadyExistsException(`Role with name ${roleName} already exists.`);
      }
      return this.insertRole(accountId, roleName);
    });
  }

  roles(): IamRole[] {
    const rows = this.db.prepare("SELECT * FROM principals WHERE kind = 'role' ORDER BY name").all() as PrincipalRow[];
    return rows.map(roleOf);
  }

  /** A session of a role (STS AssumeRole), with temporary credentials stored for SigV4. */
  startSession(caller: Principal | undefined, roleArnOrName: string, sessionName: string): AssumedRole {
    if (!SESSION_PATTERN.test(sessionName)) {
      throw new ValidationException(`1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    }
    // Trust policies are not modelled: a role of this account trusts its account, and nothing
    // else (another account's role, AWS's own aws: roles, an ARN that is no role) trusts anyone.
    const roleName = ownRoleName(roleArnOrName, this.requireAccount().accountId);
    if (roleName === undefined || roleName.startsWith('aws:')) {
      throw new AccessDenied(`User: ${caller?.arn ?? 'ebsim'} is not authorized to perform: sts:AssumeRole on resource: ${roleArnOrName}`);
    }
    const session = this.sessionPrincipal(roleName, sessionName, ids.newSessionAccessKeyId());
    const creds: SessionCredentials = {
      AccessKeyId: session.accessKeyId,
      SecretAccessKey: ids.newSecretAccessKey(),
      SessionToken: ids.newSessionToken(),
      Expiration: isoSeconds(new Date(Date.now() + 3600_000)),
    };
    immediate(this.db, () =>
      this.db
        .prepare('INSERT INTO access_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(creds.AccessKeyId, creds.SecretAccessKey, session.sessionIssuer!.arn, sessionName, creds.SessionToken, creds.Expiration, 'Active', session.sessionCreationDate),
    );
    return { Credentials: creds, AssumedRoleUser: { AssumedRoleId: session.principalId, Arn: session.arn } };
  }

  // ---- resolving principals ----------------------------------------------------------

  /** The principal behind `--as`: an IAM user name, or role/ROLE[/SESSION]. */
  resolveAs(spec: string): Principal {
    const { accountId } = this.requireAccount();
    if (spec.startsWith('role/')) {
      const [, role, session] = spec.split('/');
      if (!role) throw new UserError(`--as ${spec}: expected role/ROLE[/SESSION]`);
      return this.sessionPrincipal(role, session || 'ebsim-cli', '');
    }
    const user = this.findPrincipal(accountId, 'user', spec);
    if (!user) throw new NoSuchEntityException(`The user with name ${spec} cannot be found.`);
    const key = this.db
      .prepare('SELECT * FROM access_keys WHERE principal_arn = ? AND session_name IS NULL ORDER BY created_at LIMIT 1')
      .get(user.arn) as KeyRow | undefined;
    return userPrincipal(user, key?.access_key_id ?? '', key?.created_at ?? user.created_at);
  }

  /** For SigV4: the principal and secret behind an access key id, or undefined if unknown or expired. */
  lookupAccessKey(accessKeyId: string): { principal: Principal; secret: string; sessionToken?: string } | undefined {
    const key = this.db.prepare("SELECT * FROM access_keys WHERE access_key_id = ? AND status = 'Active'").get(accessKeyId) as KeyRow | undefined;
    if (!key) return undefined;
    if (key.expires_at && new Date(key.expires_at) < new Date()) return undefined;
    const owner = this.db.prepare('SELECT * FROM principals WHERE arn = ?').get(key.principal_arn) as PrincipalRow | undefined;
    if (!owner) return undefined;
    const principal =
      owner.kind === 'user'
        ? userPrincipal(owner, key.access_key_id, key.created_at)
        : { ...this.sessionPrincipal(owner.name, key.session_name!, key.access_key_id), sessionCreationDate: key.created_at };
    return { principal, secret: key.secret_access_key, sessionToken: key.session_token ?? undefined };
  }

  /**
   * An assumed-role session. The EC2 infrastructure role is AWS's own: its principal IDs are
   * formed as in the seed ("ACCOUNT:aws:ec2-infrastructure:i-…"), and it needs no IAM role row.
   */
  sessionPrincipal(roleArnOrName: string, sessionName: string, accessKeyId: string): Principal {
    const { accountId } = this.requireAccount();
    const roleName = ownRoleName(roleArnOrName, accountId);
    if (roleName === undefined) throw new NoSuchEntityException(`The role with name ${roleArnOrName} cannot be found.`);
    const arn = ids.roleArn(accountId, roleName);
    let rolePrincipalId: string;
    if (roleName === EC2_INFRASTRUCTURE_ROLE) {
      rolePrincipalId = `${accountId}:${EC2_INFRASTRUCTURE_ROLE}`;
    } else {
      const role = this.findPrincipal(accountId, 'role', roleName);
      if (!role) throw new NoSuchEntityException(`The role with name ${roleName} cannot be found.`);
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
 * The role name behind a name or an IAM role ARN, if it is a role of this account; undefined for
 * an ARN of another account, partition or service, or one that names no role.
 */
function ownRoleName(roleArnOrName: string, accountId: string): string | undefined {
  if (!roleArnOrName.startsWith('arn:')) return roleArnOrName;
  const m = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(roleArnOrName);
  return m && m[1] === accountId ? m[2] : undefined;
}

function checkName(name: string, field: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new ValidationException(`1 validation error detected: Value '${name}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`);
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

