// The policies that decide what a principal may do, as authorization reads them on every call:
// pure reads, cached until this process or another one writes (store/read-cache.ts). Documents
// are text with the names explanations use; the policy domain parses them.
import type { Principal } from '../core/call-context.js';
import type { Db } from '../store/database.js';
import { ReadCache } from '../store/read-cache.js';
import { accountRootTrustPolicy } from './documents.js';
import { EC2_INFRASTRUCTURE_ROLE } from './ids.js';
import type { PolicyStore } from './policies.js';

/** An identity policy of a principal, by the name explanations use, as text (parsed by the policy domain). */
export interface NamedPolicyText {
  readonly name: string;
  readonly text: string;
}


export class PoliciesOf {
  private readonly identity: ReadCache<readonly NamedPolicyText[]>;
  private readonly session: ReadCache<string | undefined>;
  private readonly trust: ReadCache<string | undefined>;
  private readonly sessionStmt;
  private readonly trustStmt;

  constructor(
    db: Db,
    private readonly policies: PolicyStore,
  ) {
    this.identity = new ReadCache(db);
    this.session = new ReadCache(db);
    this.trust = new ReadCache(db);
    this.sessionStmt = db.prepare('SELECT document FROM sts_session_policies WHERE access_key_id = ?').pluck();
    this.trustStmt = db.prepare(
      "SELECT p.account_id, r.assume_role_policy FROM principals p LEFT JOIN iam_roles r ON r.role_arn = p.arn WHERE p.arn = ? AND p.kind = 'role'",
    );
  }

  /**
   * A user's inline policies, then the managed policies attached to it (each its default
   * version's document); for an assumed-role session, its role's. AWS's aws:ec2-infrastructure
   * role has none, nor does a principal that no longer exists. Frozen: the array is shared.
   */
  identityPoliciesOf(principal: Principal): readonly NamedPolicyText[] {
    const holder =
      principal.type === 'IAMUser'
        ? { kind: 'user', arn: principal.arn, name: principal.name }
        : principal.sessionIssuer && { kind: 'role', arn: principal.sessionIssuer.arn, name: principal.sessionIssuer.userName };
    if (!holder || holder.name === EC2_INFRASTRUCTURE_ROLE) return NONE;
    return this.identity.get(holder.arn, () =>
      Object.freeze([
        ...this.policies.inlineDocuments(holder.arn).map((p) => Object.freeze({ name: `inline policy ${p.name} of ${holder.kind} ${holder.name}`, text: p.text })),
        ...this.policies.attachedDocuments(holder.arn).map((p) => Object.freeze({ name: `${p.name} (attached to ${holder.kind} ${holder.name})`, text: p.text })),
      ]),
    );
  }

  /** The session policy an assumed-role session was started with (AssumeRole --policy), if any. */
  sessionPolicyOf(principal: Principal): string | undefined {
    const key = principal.accessKeyId;
    if (principal.type !== 'AssumedRole' || !key) return undefined;
    return this.session.get(key, () => this.sessionStmt.get(key) as string | undefined);
  }

  /**
   * A role's trust policy, by role ARN; undefined for a role that does not exist (another
   * account's, a role name instead of an ARN) and for AWS's aws:ec2-infrastructure role, which has
   * no IAM role: nobody assumes it. A role made before trust policies were stored trusts its own
   * account, as every role did then.
   */
  trustPolicyOf(roleArn: string): string | undefined {
    return this.trust.get(roleArn, () => {
      const row = this.trustStmt.get(roleArn) as { account_id: string; assume_role_policy: string | null } | undefined;
      return row && (row.assume_role_policy ?? accountRootTrustPolicy(row.account_id));
    });
  }
}

const NONE: readonly NamedPolicyText[] = Object.freeze([]);
