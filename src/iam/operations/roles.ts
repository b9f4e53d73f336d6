// IAM roles and their trust policies (assume-role policy documents).
import type { IamRoleDetail } from '../directory.js';
import { urlEncodeDocument } from '../documents.js';
import { iamOperation, policyDocument, roleName } from './members.js';

/** A role as IAM's API returns it: the trust policy URL-encoded (RFC 3986). */
const wireRole = (r: IamRoleDetail) => ({ ...r, AssumeRolePolicyDocument: urlEncodeDocument(r.AssumeRolePolicyDocument) });

export const ROLE_OPERATIONS = [
  iamOperation({
    name: 'CreateRole',
    description: 'Create an IAM role with its trust policy (it has no permissions of its own: attach or put some)',
    readOnly: false,
    input: {
      RoleName: roleName,
      AssumeRolePolicyDocument: { ...policyDocument, doc: 'who may assume the role (JSON, file://PATH)' },
      Description: { kind: 'string', max: 1000, pattern: /^[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*$/, doc: 'a description of the role' },
      MaxSessionDuration: { kind: 'integer', min: 3600, max: 43200, doc: 'the longest session AssumeRole may ask for, in seconds (default 3600)' },
    },
    run(_ctx, input, { env }) {
      const r = env.addRole(input.RoleName, input.AssumeRolePolicyDocument, { description: input.Description, maxSessionDuration: input.MaxSessionDuration });
      const { MaxSessionDuration: _max, ...created } = wireRole(r);
      return {
        response: { Role: created },
        responseElements: { role: { assumeRolePolicyDocument: created.AssumeRolePolicyDocument, arn: r.Arn, roleId: r.RoleId, createDate: r.CreateDate, roleName: r.RoleName, path: '/' } },
      };
    },
  }),
  iamOperation({
    name: 'GetRole',
    description: 'Show a role with its trust policy',
    readOnly: true,
    input: { RoleName: roleName },
    run: (_ctx, input, { env }) => ({ response: { Role: { ...wireRole(env.role(input.RoleName)), RoleLastUsed: {} } } }),
  }),
  iamOperation({
    name: 'ListRoles',
    description: 'List the IAM roles',
    readOnly: true,
    input: {},
    run: (_ctx, _input, { env }) => ({ response: { Roles: env.roleDetails().map(wireRole) } }),
  }),
  iamOperation({
    name: 'UpdateAssumeRolePolicy',
    description: "Replace a role's trust policy",
    readOnly: false,
    input: { RoleName: roleName, PolicyDocument: { ...policyDocument, doc: 'the new trust policy (JSON, file://PATH)' } },
    run(_ctx, input, { env }) {
      env.setTrustPolicy(input.RoleName, input.PolicyDocument);
      return { response: {} };
    },
  }),
] as const;
