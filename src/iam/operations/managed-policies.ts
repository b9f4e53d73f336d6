// Managed policies: customer managed ones with their versions, AWS's built in
// (aws-managed-policies.ts), and their attachments to users and roles.
import type { CallContext } from '../../core/call-context.js';
import { AccessDenied } from '../../errors/index.js';
import { AWS_MANAGED_POLICY_PREFIX } from '../aws-managed-policies.js';
import { urlEncodeDocument } from '../documents.js';
import type { ManagedPolicy } from '../policies.js';
import { iamOperation, policyArn, policyDocument, policyName, roleName, userName, versionId } from './members.js';

/** AWS's policies are AWS's to change: IAM refuses every caller, who has no permission on AWS's resource. */
function refuseAwsManaged(ctx: CallContext, arn: string, operation: string): void {
  if (arn.startsWith(AWS_MANAGED_POLICY_PREFIX)) {
    throw new AccessDenied(`User: ${ctx.principal.arn} is not authorized to perform: iam:${operation} on resource: policy ${arn}`);
  }
}

const policyElements = (p: ManagedPolicy) => ({
  policyName: p.PolicyName,
  policyId: p.PolicyId,
  arn: p.Arn,
  path: p.Path,
  defaultVersionId: p.DefaultVersionId,
  attachmentCount: p.AttachmentCount,
  permissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount,
  isAttachable: p.IsAttachable,
  createDate: p.CreateDate,
  updateDate: p.UpdateDate,
});

export const MANAGED_POLICY_OPERATIONS = [
  iamOperation({
    name: 'CreatePolicy',
    description: 'Create a customer managed policy (version v1, the default)',
    readOnly: false,
    input: {
      PolicyName: policyName,
      PolicyDocument: policyDocument,
      Description: { kind: 'string', max: 1000, doc: 'what the policy is for (it cannot be changed later)' },
    },
    run(_ctx, input, { env }) {
      const p = env.policies.createPolicy(input.PolicyName, input.PolicyDocument, input.Description);
      // CreatePolicy's Policy has no Description (GetPolicy's has).
      const { Description: _d, ...created } = p;
      return { response: { Policy: created }, responseElements: { policy: policyElements(p) } };
    },
  }),
  iamOperation({
    name: 'GetPolicy',
    description: 'Show a managed policy (customer or AWS)',
    readOnly: true,
    input: { PolicyArn: policyArn },
    run: (_ctx, input, { env }) => ({ response: { Policy: env.policies.getPolicy(input.PolicyArn) } }),
  }),
  iamOperation({
    name: 'DeletePolicy',
    description: 'Delete a customer managed policy (detach it and delete its other versions first)',
    readOnly: false,
    input: { PolicyArn: policyArn },
    run(ctx, input, { env }) {
      refuseAwsManaged(ctx, input.PolicyArn, 'DeletePolicy');
      env.policies.deletePolicy(input.PolicyArn);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'ListPolicies',
    description: "List managed policies: AWS's and this account's",
    readOnly: true,
    input: {
      Scope: { kind: 'string', enum: ['All', 'AWS', 'Local'], doc: 'All (default) | AWS | Local' },
      OnlyAttached: { kind: 'boolean', doc: 'only the policies attached to a user or role' },
    },
    run: (_ctx, input, { env }) => ({ response: { Policies: env.policies.listPolicies(input.Scope ?? 'All', input.OnlyAttached ?? false) } }),
  }),
  iamOperation({
    name: 'CreatePolicyVersion',
    description: 'Add a version to a customer managed policy (at most 5)',
    readOnly: false,
    input: { PolicyArn: policyArn, PolicyDocument: policyDocument, SetAsDefault: { kind: 'boolean', doc: 'make it the version in effect' } },
    run(ctx, input, { env }) {
      refuseAwsManaged(ctx, input.PolicyArn, 'CreatePolicyVersion');
      const v = env.policies.createVersion(input.PolicyArn, input.PolicyDocument, input.SetAsDefault ?? false);
      return { response: { PolicyVersion: v }, responseElements: { policyVersion: { versionId: v.VersionId, isDefaultVersion: v.IsDefaultVersion, createDate: v.CreateDate } } };
    },
  }),
  iamOperation({
    name: 'GetPolicyVersion',
    description: 'Show one version of a managed policy with its document',
    readOnly: true,
    input: { PolicyArn: policyArn, VersionId: versionId },
    run(_ctx, input, { env }) {
      const v = env.policies.getVersion(input.PolicyArn, input.VersionId);
      return { response: { PolicyVersion: { ...v, Document: urlEncodeDocument(v.Document!) } } };
    },
  }),
  iamOperation({
    name: 'ListPolicyVersions',
    description: 'List the versions of a managed policy, newest first',
    readOnly: true,
    input: { PolicyArn: policyArn },
    run: (_ctx, input, { env }) => ({ response: { Versions: env.policies.listVersions(input.PolicyArn) } }),
  }),
  iamOperation({
    name: 'DeletePolicyVersion',
    description: 'Delete a version of a customer managed policy (not the default one)',
    readOnly: false,
    input: { PolicyArn: policyArn, VersionId: versionId },
    run(ctx, input, { env }) {
      refuseAwsManaged(ctx, input.PolicyArn, 'DeletePolicyVersion');
      env.policies.deleteVersion(input.PolicyArn, input.VersionId);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'SetDefaultPolicyVersion',
    description: 'Choose the version of a customer managed policy that is in effect',
    readOnly: false,
    input: { PolicyArn: policyArn, VersionId: versionId },
    run(ctx, input, { env }) {
      refuseAwsManaged(ctx, input.PolicyArn, 'SetDefaultPolicyVersion');
      env.policies.setDefaultVersion(input.PolicyArn, input.VersionId);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'AttachUserPolicy',
    description: 'Attach a managed policy to a user (at most 10 per user)',
    readOnly: false,
    input: { UserName: userName, PolicyArn: policyArn },
    run(_ctx, input, { env }) {
      env.policies.attach(env.holder('user', input.UserName), input.PolicyArn);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'DetachUserPolicy',
    description: 'Detach a managed policy from a user',
    readOnly: false,
    input: { UserName: userName, PolicyArn: policyArn },
    run(_ctx, input, { env }) {
      env.policies.detach(env.holder('user', input.UserName), input.PolicyArn);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'ListAttachedUserPolicies',
    description: 'List the managed policies attached to a user',
    readOnly: true,
    input: { UserName: userName },
    run: (_ctx, input, { env }) => ({ response: { AttachedPolicies: env.policies.listAttached(env.holder('user', input.UserName)) } }),
  }),
  iamOperation({
    name: 'AttachRolePolicy',
    description: 'Attach a managed policy to a role (at most 10 per role)',
    readOnly: false,
    input: { RoleName: roleName, PolicyArn: policyArn },
    run(_ctx, input, { env }) {
      env.policies.attach(env.holder('role', input.RoleName), input.PolicyArn);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'DetachRolePolicy',
    description: 'Detach a managed policy from a role',
    readOnly: false,
    input: { RoleName: roleName, PolicyArn: policyArn },
    run(_ctx, input, { env }) {
      env.policies.detach(env.holder('role', input.RoleName), input.PolicyArn);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'ListAttachedRolePolicies',
    description: 'List the managed policies attached to a role',
    readOnly: true,
    input: { RoleName: roleName },
    run: (_ctx, input, { env }) => ({ response: { AttachedPolicies: env.policies.listAttached(env.holder('role', input.RoleName)) } }),
  }),
] as const;
