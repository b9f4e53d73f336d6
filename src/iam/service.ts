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

export class IamService extends IamDirectory {
  private readonly iamApi: Invoker<IamDirectory, undefined>;
  private readonly stsApi: Invoker<IamDirectory, undefined>;

  constructor(db: Db, trail: Trail) {
    super(db);
    const recorder = new Recorder(trail);
    this.iamApi = new Invoker({ service: IAM_SERVICE, env: this, recorder, db, principals: this });
    this.stsApi = new Invoker({ service: STS_SERVICE, env: this, recorder, db });
  }

  /** One IAM call, validated, run and recorded. */
  call(ctx: CallContext, operation: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    return this.iamApi.invoke(ctx, operation, params);
  }

  /** One STS call, validated, run and recorded. */
  callSts(ctx: CallContext, operation: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    return this.stsApi.invoke(ctx, operation, params);
  }

  // Typed calls for the domain's own callers. Without a caller (`ebsim init` setting up the
  // account, before any principal exists) nothing is attributable, so nothing is recorded.

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
    const trust = assumeRolePolicyDocument ?? accountRootTrustPolicy(this.requireAccount().accountId);
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
