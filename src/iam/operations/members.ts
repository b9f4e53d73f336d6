// Input members shared by the IAM and STS operations, with the bounds and patterns of AWS's model
// (iam-2010-05-08, sts-2011-06-15: test/iam/model.test.ts compares them).
import { declareOperation, type OperationDeclaration } from '../../api/index.js';
import type { Members } from '../../api/index.js';
import type { IamDirectory } from '../directory.js';

const NAME = /^[\w+=,.@-]+$/;

/** userNameType (CreateUser, Attach/Detach/ListAttachedUserPolicies). */
export const userName = { kind: 'string', required: true, min: 1, max: 64, pattern: NAME, doc: 'the IAM user name' } as const;
/** existingUserNameType (the inline-policy operations, CreateAccessKey): AWS allows 128 for users that exist. */
export const existingUserName = { kind: 'string', required: true, min: 1, max: 128, pattern: NAME, doc: 'the IAM user name' } as const;
export const roleName = { kind: 'string', required: true, min: 1, max: 64, pattern: NAME, doc: 'the role name' } as const;
export const policyName = { kind: 'string', required: true, min: 1, max: 128, pattern: NAME, doc: 'the policy name' } as const;
/** policyDocumentType: JSON text; the AWS CLI reads it from file://PATH. */
export const policyDocument = {
  kind: 'string',
  required: true,
  min: 1,
  max: 131072,
  pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/,
  doc: 'the policy (JSON, or file://PATH)',
} as const;
export const policyArn = { kind: 'string', required: true, min: 20, max: 2048, doc: "the policy's ARN (arn:aws:iam::aws:policy/NAME for AWS's)" } as const;
export const versionId = { kind: 'string', required: true, pattern: /^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/, doc: 'v1, v2…' } as const;

/** An IAM operation: its run acts on the directory; IAM's records carry no resources. */
export function iamOperation<const M extends Members>(op: Omit<OperationDeclaration<IamDirectory, undefined, M>, 'ext'>): OperationDeclaration<IamDirectory, undefined, M> {
  return declareOperation<IamDirectory, undefined, M>({ ...op, ext: undefined });
}
