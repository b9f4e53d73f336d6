// IAM and STS as services: the directory (directory.ts) with the declared operations on the one
// invoke path, so every call is validated and recorded (iam.amazonaws.com / sts.amazonaws.com).
import { Invoker, Recorder } from '../api/index.js';
import type { CallContext } from '../core/call-context.js';
import type { Db } from '../store/database.js';
import type { Trail } from '../trail/trail.js';
import { IamDirectory, type AccessKey, type AssumedRole, type IamRole, type IamUser, type SessionOptions } from './directory.js';
import { accountRootTrustPolicy } from './documents.js';
import { IAM_SERVICE, STS_SERVICE } from './operations/index.js';

export * from './directory.js';

interface AccountApis {
  directory: IamDirectory;
  iam: Invoker<IamDirectory, undefined>;
  sts: Invoker<IamDirectory, undefined>;
}

export class IamService extends IamDirectory {
  private readonly recorder: Recorder;
  /** Per account: a directory scoped to it and the invokers acting on it (see `apisOf`). */
  private readonly apis = new Map<string, AccountApis>();

  constructor(db: Db, trail: Trail) {
    super(db);
    this.recorder = new Recorder(trail);
  }

  /** The directory of one account of the home: its users, roles and policies. */
  inAccount(accountId: string): IamDirectory {
    return this.apisOf(accountId).directory;
  }

  /**
   * An IAM or STS call acts in the caller's account, as at AWS: the account of the principal that
   * signed it (or that `--as`/`--account` named), never "the" home's.
   */
  private apisOf(accountId: string): AccountApis {
    let apis = this.apis.get(accountId);
    if (!apis) {
      const directory = new IamDirectory(this.db, accountId);
      apis = {
        directory,
        iam: new Invoker({ service: IAM_SERVICE, env: directory, recorder: this.recorder, db: this.db, principals: directory }),
        sts: new Invoker({ service: STS_SERVICE, env: directory, recorder: this.recorder, db: this.db }),
      };
      this.apis.set(accountId, apis);
    }
    return apis;
  }

  /** One IAM call in the caller's account, validated, run and recorded. */
  call(ctx: CallContext, operation: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    return this.apisOf(ctx.principal.accountId).iam.invoke(ctx, operation, params);
  }

  /** One STS call in the caller's account, validated, run and recorded. */
  callSts(ctx: CallContext, operation: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    return this.apisOf(ctx.principal.accountId).sts.invoke(ctx, operation, params);
  }

  // Typed calls for the domain's own callers. Without a caller (`ebsim init` setting up the
  // account, before any principal exists) nothing is attributable, so nothing is recorded, and
  // they act in the home's first account (`inAccount(id)` for another).

  createUser(ctx: CallContext | undefined, userName: string): IamUser {
    return ctx ? (this.call(ctx, 'CreateUser', { UserName: userName }).User as IamUser) : this.addUser(userName);
  }

  createAccessKey(ctx: CallContext | undefined, userName: string): { AccessKey: AccessKey } {
    return ctx ? (this.call(ctx, 'CreateAccessKey', { UserName: userName }) as { AccessKey: AccessKey }) : { AccessKey: this.addAccessKey(userName) };
  }

  listUsers(ctx: CallContext | undefined): { Users: IamUser[] } {
    return ctx ? (this.call(ctx, 'ListUsers') as { Users: IamUser[] }) : { Users: this.users() };
  }

  /**
   * CreateRole. AWS requires a trust policy; ebsim's own callers (tests, the walkthrough) that name
   * none get the one that trusts the role's own account (`arn:aws:iam::ACCOUNT:root` may
   * sts:AssumeRole), which is what every role of the account allowed before trust policies were
   * stored, so they keep working unchanged.
   */
  createRole(ctx: CallContext | undefined, roleName: string, assumeRolePolicyDocument?: string): { Role: IamRole } {
    const trust = assumeRolePolicyDocument ?? accountRootTrustPolicy(ctx?.principal.accountId ?? this.accountId());
    return ctx
      ? (this.call(ctx, 'CreateRole', { RoleName: roleName, AssumeRolePolicyDocument: trust }) as { Role: IamRole })
      : { Role: this.addRole(roleName, trust) };
  }

  listRoles(ctx: CallContext | undefined): { Roles: IamRole[] } {
    return ctx ? (this.call(ctx, 'ListRoles') as { Roles: IamRole[] }) : { Roles: this.roles() };
  }

  assumeRole(ctx: CallContext | undefined, roleArnOrName: string, sessionName: string, opts: SessionOptions = {}): AssumedRole {
    return ctx
      ? (this.callSts(ctx, 'AssumeRole', { RoleArn: roleArnOrName, RoleSessionName: sessionName, Policy: opts.policy, DurationSeconds: opts.durationSeconds }) as unknown as AssumedRole)
      : this.startSession(undefined, roleArnOrName, sessionName, opts);
  }

  /** AttachUserPolicy (`ebsim init` gives Alice AdministratorAccess this way, before any caller exists). */
  attachUserPolicy(ctx: CallContext | undefined, userName: string, policyArn: string): void {
    if (ctx) this.call(ctx, 'AttachUserPolicy', { UserName: userName, PolicyArn: policyArn });
    else this.policies.attach(this.holder('user', userName), policyArn);
  }

  getCallerIdentity(ctx: CallContext): { UserId: string; Account: string; Arn: string } {
    return this.callSts(ctx, 'GetCallerIdentity') as { UserId: string; Account: string; Arn: string };
  }
}
