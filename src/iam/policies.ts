// Identity policies in the store: inline policies of users and roles, customer managed policies
// with their versions, and attachments of managed policies (customer or AWS) to users and roles.
// Documents are text, checked on the way in (documents.ts); the quotas and AWS's error words
// are here, in one place per rule.
import type { Db } from '../store/database.js';
import { immediate } from '../store/database.js';
import { DeleteConflict, EntityAlreadyExistsException, InvalidInput, LimitExceeded, NoSuchEntityException } from '../errors/index.js';
import { isoSeconds } from '../core/time.js';
import { awsManagedPolicies, awsManagedPolicy } from './aws-managed-policies.js';
import { checkManagedPolicySize, checkPolicyDocument, policySize, QUOTAS } from './documents.js';
import * as ids from './ids.js';

/** A user or role that policies are embedded in or attached to. */
export interface PolicyHolder {
  kind: 'user' | 'role';
  name: string;
  arn: string;
}

/** IAM's Policy shape (GetPolicy, CreatePolicy, ListPolicies). */
export interface ManagedPolicy {
  PolicyName: string;
  PolicyId: string;
  Arn: string;
  Path: '/';
  DefaultVersionId: string;
  AttachmentCount: number;
  PermissionsBoundaryUsageCount: 0;
  IsAttachable: true;
  Description?: string;
  CreateDate: string;
  UpdateDate: string;
}

/** IAM's PolicyVersion shape; Document is the text as stored (the operations URL-encode it). */
export interface PolicyVersion {
  Document?: string;
  VersionId: string;
  IsDefaultVersion: boolean;
  CreateDate: string;
}

export interface AttachedPolicy {
  PolicyName: string;
  PolicyArn: string;
}

interface PolicyRow {
  arn: string;
  account_id: string;
  name: string;
  policy_id: string;
  description: string | null;
  default_version: string;
  next_version: number;
  created_at: string;
  updated_at: string;
}

interface VersionRow {
  policy_arn: string;
  version_id: string;
  document: string;
  created_at: string;
}

const holderWords = (h: PolicyHolder) => (h.kind === 'user' ? 'user' : 'role');

export class PolicyStore {
  constructor(
    private readonly db: Db,
    private readonly accountId: () => string,
  ) {}

  // ---- inline policies ---------------------------------------------------------------

  /** PutUserPolicy / PutRolePolicy: adds or replaces; the holder's inline policies together stay within IAM's quota. */
  putInline(holder: PolicyHolder, policyName: string, text: string): void {
    checkPolicyDocument(text, 'identity');
    immediate(this.db, () => {
      const others = this.db
        .prepare('SELECT document FROM iam_inline_policies WHERE principal_arn = ? AND policy_name <> ?')
        .pluck()
        .all(holder.arn, policyName) as string[];
      const quota = holder.kind === 'user' ? QUOTAS.userInlineSize : QUOTAS.roleInlineSize;
      const total = others.reduce((n, d) => n + policySize(d), policySize(text));
      if (total > quota) throw new LimitExceeded(`Maximum policy size of ${quota} bytes exceeded for ${holderWords(holder)} ${holder.name}`);
      this.db
        .prepare('INSERT INTO iam_inline_policies VALUES (?, ?, ?) ON CONFLICT (principal_arn, policy_name) DO UPDATE SET document = excluded.document')
        .run(holder.arn, policyName, text);
    });
  }

  getInline(holder: PolicyHolder, policyName: string): string {
    const text = this.db.prepare('SELECT document FROM iam_inline_policies WHERE principal_arn = ? AND policy_name = ?').pluck().get(holder.arn, policyName) as
      | string
      | undefined;
    if (text === undefined) throw inlineNotFound(holder, policyName);
    return text;
  }

  listInline(holder: PolicyHolder): string[] {
    return this.db.prepare('SELECT policy_name FROM iam_inline_policies WHERE principal_arn = ? ORDER BY policy_name').pluck().all(holder.arn) as string[];
  }

  /** Inline policies with their documents, by name (for the accessors). */
  inlineDocuments(principalArn: string): { name: string; text: string }[] {
    return (this.db.prepare('SELECT policy_name AS name, document AS text FROM iam_inline_policies WHERE principal_arn = ? ORDER BY policy_name').all(principalArn) as {
      name: string;
      text: string;
    }[]);
  }

  deleteInline(holder: PolicyHolder, policyName: string): void {
    immediate(this.db, () => {
      const r = this.db.prepare('DELETE FROM iam_inline_policies WHERE principal_arn = ? AND policy_name = ?').run(holder.arn, policyName);
      if (r.changes === 0) throw inlineNotFound(holder, policyName);
    });
  }

  // ---- customer managed policies and their versions ----------------------------------

  createPolicy(policyName: string, text: string, description?: string): ManagedPolicy {
    checkPolicyDocument(text, 'identity');
    checkManagedPolicySize(text);
    const accountId = this.accountId();
    const arn = ids.policyArn(accountId, policyName);
    return immediate(this.db, () => {
      if (this.db.prepare('SELECT 1 FROM iam_policies WHERE account_id = ? AND name = ?').get(accountId, policyName)) {
        throw new EntityAlreadyExistsException(`A policy called ${policyName} already exists. Duplicate names are not allowed.`);
      }
      const now = isoSeconds();
      this.db.prepare('INSERT INTO iam_policies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(arn, accountId, policyName, ids.newPolicyId(), description ?? null, 'v1', 2, now, now);
      this.db.prepare('INSERT INTO iam_policy_versions VALUES (?, ?, ?, ?)').run(arn, 'v1', text, now);
      return this.getPolicy(arn);
    });
  }

  /** A customer managed policy of this account or one of AWS's; NoSuchEntity otherwise. */
  getPolicy(arn: string): ManagedPolicy {
    const aws = this.awsPolicy(arn);
    if (aws) return aws;
    const row = this.customerRow(arn);
    if (!row) throw new NoSuchEntityException(`Policy ${arn} was not found.`);
    return this.policyOf(row, true);
  }

  deletePolicy(arn: string): void {
    immediate(this.db, () => {
      const row = this.requireCustomer(arn);
      if (this.attachmentCount(arn) > 0) throw new DeleteConflict('Cannot delete a policy attached to entities.');
      const versions = this.db.prepare('SELECT count(*) FROM iam_policy_versions WHERE policy_arn = ?').pluck().get(arn) as number;
      if (versions > 1) {
        throw new DeleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.");
      }
      this.db.prepare('DELETE FROM iam_policy_versions WHERE policy_arn = ?').run(row.arn);
      this.db.prepare('DELETE FROM iam_policies WHERE arn = ?').run(row.arn);
    });
  }

  /** ListPolicies: AWS's first (by name), then this account's; OnlyAttached keeps those attached to someone. */
  listPolicies(scope: 'All' | 'AWS' | 'Local' = 'All', onlyAttached = false): ManagedPolicy[] {
    const out: ManagedPolicy[] = [];
    if (scope !== 'Local') for (const p of awsManagedPolicies()) out.push(this.awsPolicy(p.arn, false)!);
    if (scope !== 'AWS') {
      const rows = this.db.prepare('SELECT * FROM iam_policies WHERE account_id = ? ORDER BY name').all(this.accountId()) as PolicyRow[];
      for (const r of rows) out.push(this.policyOf(r, false));
    }
    return onlyAttached ? out.filter((p) => p.AttachmentCount > 0) : out;
  }

  createVersion(arn: string, text: string, setAsDefault: boolean): PolicyVersion {
    checkPolicyDocument(text, 'identity');
    checkManagedPolicySize(text);
    return immediate(this.db, () => {
      const row = this.requireCustomer(arn);
      const count = this.db.prepare('SELECT count(*) FROM iam_policy_versions WHERE policy_arn = ?').pluck().get(arn) as number;
      if (count >= QUOTAS.versionsPerPolicy) {
        throw new LimitExceeded(`A managed policy can have up to ${QUOTAS.versionsPerPolicy} versions. Before you create a new version, you must delete an existing version.`);
      }
      const versionId = `v${row.next_version}`;
      const now = isoSeconds();
      this.db.prepare('INSERT INTO iam_policy_versions VALUES (?, ?, ?, ?)').run(arn, versionId, text, now);
      this.db
        .prepare('UPDATE iam_policies SET next_version = next_version + 1, updated_at = ?, default_version = CASE WHEN ? THEN ? ELSE default_version END WHERE arn = ?')
        .run(now, setAsDefault ? 1 : 0, versionId, arn);
      return { VersionId: versionId, IsDefaultVersion: setAsDefault, CreateDate: now };
    });
  }

  /** One version with its document. An AWS managed policy has only its default version here. */
  getVersion(arn: string, versionId: string): PolicyVersion {
    const aws = awsManagedPolicy(arn);
    if (aws) {
      if (versionId !== aws.defaultVersionId) throw versionNotFound(arn, versionId);
      return { Document: aws.document, VersionId: versionId, IsDefaultVersion: true, CreateDate: aws.updateDate };
    }
    const row = this.requireCustomer(arn);
    const v = this.db.prepare('SELECT * FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?').get(arn, versionId) as VersionRow | undefined;
    if (!v) throw versionNotFound(arn, versionId);
    return { Document: v.document, VersionId: v.version_id, IsDefaultVersion: v.version_id === row.default_version, CreateDate: v.created_at };
  }

  /** ListPolicyVersions: newest first, as AWS lists them; without documents. */
  listVersions(arn: string): PolicyVersion[] {
    const aws = awsManagedPolicy(arn);
    if (aws) return [{ VersionId: aws.defaultVersionId, IsDefaultVersion: true, CreateDate: aws.updateDate }];
    const row = this.requireCustomer(arn);
    const rows = this.db.prepare('SELECT * FROM iam_policy_versions WHERE policy_arn = ?').all(arn) as VersionRow[];
    return rows
      .sort((a, b) => versionNumber(b.version_id) - versionNumber(a.version_id))
      .map((v) => ({ VersionId: v.version_id, IsDefaultVersion: v.version_id === row.default_version, CreateDate: v.created_at }));
  }

  deleteVersion(arn: string, versionId: string): void {
    immediate(this.db, () => {
      const row = this.requireCustomer(arn);
      if (versionId === row.default_version) throw new DeleteConflict('Cannot delete the default version of a policy.');
      const r = this.db.prepare('DELETE FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?').run(arn, versionId);
      if (r.changes === 0) throw versionNotFound(arn, versionId);
    });
  }

  setDefaultVersion(arn: string, versionId: string): void {
    immediate(this.db, () => {
      this.requireCustomer(arn);
      if (!this.db.prepare('SELECT 1 FROM iam_policy_versions WHERE policy_arn = ? AND version_id = ?').get(arn, versionId)) throw versionNotFound(arn, versionId);
      this.db.prepare('UPDATE iam_policies SET default_version = ?, updated_at = ? WHERE arn = ?').run(versionId, isoSeconds(), arn);
    });
  }

  // ---- attachments -------------------------------------------------------------------

  /** AttachUserPolicy / AttachRolePolicy: idempotent, as AWS's; at most 10 managed policies per holder. */
  attach(holder: PolicyHolder, arn: string): void {
    immediate(this.db, () => {
      const policy = this.attachable(arn);
      if (this.db.prepare('SELECT 1 FROM iam_attachments WHERE principal_arn = ? AND policy_arn = ?').get(holder.arn, policy)) return;
      const n = this.db.prepare('SELECT count(*) FROM iam_attachments WHERE principal_arn = ?').pluck().get(holder.arn) as number;
      if (n >= QUOTAS.attachmentsPerPrincipal) {
        throw new LimitExceeded(`Cannot exceed quota for ${holder.kind === 'user' ? 'PoliciesPerUser' : 'PoliciesPerRole'}: ${QUOTAS.attachmentsPerPrincipal}`);
      }
      this.db.prepare('INSERT INTO iam_attachments VALUES (?, ?, ?)').run(holder.arn, policy, isoSeconds());
    });
  }

  detach(holder: PolicyHolder, arn: string): void {
    checkPolicyArn(arn);
    immediate(this.db, () => {
      const r = this.db.prepare('DELETE FROM iam_attachments WHERE principal_arn = ? AND policy_arn = ?').run(holder.arn, arn);
      if (r.changes === 0) throw new NoSuchEntityException(`Policy ${arn} was not found.`);
    });
  }

  /** ListAttachedUserPolicies / ListAttachedRolePolicies, by policy name. */
  listAttached(holder: PolicyHolder): AttachedPolicy[] {
    const arns = this.db.prepare('SELECT policy_arn FROM iam_attachments WHERE principal_arn = ?').pluck().all(holder.arn) as string[];
    return arns.map((a) => ({ PolicyName: a.slice(a.indexOf(':policy/') + ':policy/'.length), PolicyArn: a })).sort((x, y) => (x.PolicyName < y.PolicyName ? -1 : x.PolicyName > y.PolicyName ? 1 : 0));
  }

  /** The default version's document of each managed policy attached to `principalArn` (for the accessors). */
  attachedDocuments(principalArn: string): { name: string; arn: string; text: string }[] {
    return this.listAttached({ kind: 'user', name: '', arn: principalArn }).flatMap(({ PolicyName, PolicyArn }) => {
      const aws = awsManagedPolicy(PolicyArn);
      if (aws) return [{ name: PolicyName, arn: PolicyArn, text: aws.document }];
      const text = this.db
        .prepare('SELECT v.document FROM iam_policies p JOIN iam_policy_versions v ON v.policy_arn = p.arn AND v.version_id = p.default_version WHERE p.arn = ?')
        .pluck()
        .get(PolicyArn) as string | undefined;
      return text === undefined ? [] : [{ name: PolicyName, arn: PolicyArn, text }];
    });
  }

  // ---- helpers -----------------------------------------------------------------------

  private attachmentCount(arn: string): number {
    return this.db.prepare('SELECT count(*) FROM iam_attachments WHERE policy_arn = ?').pluck().get(arn) as number;
  }

  private awsPolicy(arn: string, withDescription = true): ManagedPolicy | undefined {
    const p = awsManagedPolicy(arn);
    if (!p) return undefined;
    return {
      PolicyName: p.name,
      PolicyId: p.policyId,
      Arn: p.arn,
      Path: '/',
      DefaultVersionId: p.defaultVersionId,
      AttachmentCount: this.attachmentCount(p.arn),
      PermissionsBoundaryUsageCount: 0,
      IsAttachable: true,
      ...(withDescription ? { Description: p.description } : {}),
      CreateDate: p.createDate,
      UpdateDate: p.updateDate,
    };
  }

  private policyOf(r: PolicyRow, withDescription: boolean): ManagedPolicy {
    return {
      PolicyName: r.name,
      PolicyId: r.policy_id,
      Arn: r.arn,
      Path: '/',
      DefaultVersionId: r.default_version,
      AttachmentCount: this.attachmentCount(r.arn),
      PermissionsBoundaryUsageCount: 0,
      IsAttachable: true,
      ...(withDescription && r.description !== null ? { Description: r.description } : {}),
      CreateDate: r.created_at,
      UpdateDate: r.updated_at,
    };
  }

  private customerRow(arn: string): PolicyRow | undefined {
    checkPolicyArn(arn);
    return this.db.prepare('SELECT * FROM iam_policies WHERE arn = ? AND account_id = ?').get(arn, this.accountId()) as PolicyRow | undefined;
  }

  private requireCustomer(arn: string): PolicyRow {
    const row = this.customerRow(arn);
    if (!row) throw new NoSuchEntityException(`Policy ${arn} was not found.`);
    return row;
  }

  /** The ARN of a policy that may be attached: AWS's or this account's. */
  private attachable(arn: string): string {
    checkPolicyArn(arn);
    if (awsManagedPolicy(arn) || this.customerRow(arn)) return arn;
    throw new NoSuchEntityException(`Policy ${arn} does not exist or is not attachable.`);
  }
}

/** An ARN IAM would parse as a policy's: arn:aws:iam::ACCOUNT|aws:policy/NAME. */
export function checkPolicyArn(arn: string): void {
  if (!/^arn:aws:iam::(\d{12}|aws):policy\/.+$/.test(arn)) throw new InvalidInput(`ARN ${arn} is not valid.`);
}

function inlineNotFound(holder: PolicyHolder, policyName: string) {
  return new NoSuchEntityException(`The ${holderWords(holder)} policy with name ${policyName} cannot be found.`);
}

function versionNotFound(arn: string, versionId: string) {
  return new NoSuchEntityException(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);
}

const versionNumber = (v: string) => Number.parseInt(v.slice(1), 10);
