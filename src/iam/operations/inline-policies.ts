// Inline policies: documents embedded in one user or role (PutUserPolicy … DeleteRolePolicy).
// Get* return the document URL-encoded, as IAM's API does; `ebsim iam` prints it decoded, as the
// AWS CLI does (src/cli/commands/iam.ts).
import { urlEncodeDocument } from '../documents.js';
import { existingUserName, iamOperation, policyDocument, policyName, roleName } from './members.js';

export const INLINE_POLICY_OPERATIONS = [
  iamOperation({
    name: 'PutUserPolicy',
    description: 'Add or replace an inline policy of a user',
    readOnly: false,
    input: { UserName: existingUserName, PolicyName: policyName, PolicyDocument: policyDocument },
    run(_ctx, input, { env }) {
      env.policies.putInline(env.holder('user', input.UserName), input.PolicyName, input.PolicyDocument);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'GetUserPolicy',
    description: 'Show an inline policy of a user',
    readOnly: true,
    input: { UserName: existingUserName, PolicyName: policyName },
    run(_ctx, input, { env }) {
      const text = env.policies.getInline(env.holder('user', input.UserName), input.PolicyName);
      return { response: { UserName: input.UserName, PolicyName: input.PolicyName, PolicyDocument: urlEncodeDocument(text) } };
    },
  }),
  iamOperation({
    name: 'ListUserPolicies',
    description: 'List the names of the inline policies of a user',
    readOnly: true,
    input: { UserName: existingUserName },
    run: (_ctx, input, { env }) => ({ response: { PolicyNames: env.policies.listInline(env.holder('user', input.UserName)) } }),
  }),
  iamOperation({
    name: 'DeleteUserPolicy',
    description: 'Delete an inline policy of a user',
    readOnly: false,
    input: { UserName: existingUserName, PolicyName: policyName },
    run(_ctx, input, { env }) {
      env.policies.deleteInline(env.holder('user', input.UserName), input.PolicyName);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'PutRolePolicy',
    description: 'Add or replace an inline policy of a role',
    readOnly: false,
    input: { RoleName: roleName, PolicyName: policyName, PolicyDocument: policyDocument },
    run(_ctx, input, { env }) {
      env.policies.putInline(env.holder('role', input.RoleName), input.PolicyName, input.PolicyDocument);
      return { response: {} };
    },
  }),
  iamOperation({
    name: 'GetRolePolicy',
    description: 'Show an inline policy of a role',
    readOnly: true,
    input: { RoleName: roleName, PolicyName: policyName },
    run(_ctx, input, { env }) {
      const text = env.policies.getInline(env.holder('role', input.RoleName), input.PolicyName);
      return { response: { RoleName: input.RoleName, PolicyName: input.PolicyName, PolicyDocument: urlEncodeDocument(text) } };
    },
  }),
  iamOperation({
    name: 'ListRolePolicies',
    description: 'List the names of the inline policies of a role',
    readOnly: true,
    input: { RoleName: roleName },
    run: (_ctx, input, { env }) => ({ response: { PolicyNames: env.policies.listInline(env.holder('role', input.RoleName)) } }),
  }),
  iamOperation({
    name: 'DeleteRolePolicy',
    description: 'Delete an inline policy of a role',
    readOnly: false,
    input: { RoleName: roleName, PolicyName: policyName },
    run(_ctx, input, { env }) {
      env.policies.deleteInline(env.holder('role', input.RoleName), input.PolicyName);
      return { response: {} };
    },
  }),
] as const;
