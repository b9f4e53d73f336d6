// The IAM and STS operations ebsim has, declared once: their members give the CLI its flags and
// the trail its requestParameters; `run` acts on the directory and says what CloudTrail records.
import { declareOperation, type ServiceDeclaration } from '../api/index.js';
import { InternalFailure, InvalidAction } from '../errors/index.js';
import type { IamDirectory } from './directory.js';

const userName = { kind: 'string', required: true, doc: 'the IAM user name' } as const;

export const IAM_OPERATIONS = [
  declareOperation<IamDirectory, undefined>({
    name: 'CreateUser',
    description: 'Create an IAM user',
    readOnly: false,
    input: { UserName: userName },
    ext: undefined,
    run(_ctx, input, { env }) {
      const u = env.addUser(input.UserName as string);
      return { response: { User: u }, responseElements: { user: { userName: u.UserName, userId: u.UserId, arn: u.Arn, path: '/', createDate: u.CreateDate } } };
    },
  }),
  declareOperation<IamDirectory, undefined>({
    name: 'CreateAccessKey',
    description: 'Create an access key for a user',
    readOnly: false,
    input: { UserName: userName },
    ext: undefined,
    run(_ctx, input, { env }) {
      const k = env.addAccessKey(input.UserName as string);
      // The secret is in the response only, never in the trail.
      return { response: { AccessKey: k }, responseElements: { accessKey: { accessKeyId: k.AccessKeyId, status: 'Active', userName: k.UserName, createDate: k.CreateDate } } };
    },
  }),
  declareOperation<IamDirectory, undefined>({
    name: 'ListUsers',
    description: 'List the IAM users',
    readOnly: true,
    input: {},
    ext: undefined,
    run: (_ctx, _input, { env }) => ({ response: { Users: env.users() } }),
  }),
  declareOperation<IamDirectory, undefined>({
    name: 'CreateRole',
    description: 'Create an IAM role (it has no permissions of its own: grant it some)',
    readOnly: false,
    input: { RoleName: { kind: 'string', required: true, doc: 'the role name' } },
    ext: undefined,
    run(_ctx, input, { env }) {
      const r = env.addRole(input.RoleName as string);
      return { response: { Role: r }, responseElements: { role: { roleName: r.RoleName, roleId: r.RoleId, arn: r.Arn, path: '/', createDate: r.CreateDate } } };
    },
  }),
  declareOperation<IamDirectory, undefined>({
    name: 'ListRoles',
    description: 'List the IAM roles',
    readOnly: true,
    input: {},
    ext: undefined,
    run: (_ctx, _input, { env }) => ({ response: { Roles: env.roles() } }),
  }),
] as const;

export const STS_OPERATIONS = [
  declareOperation<IamDirectory, undefined>({
    name: 'AssumeRole',
    description: 'Start a session of a role; act as it with --as role/ROLE/SESSION',
    readOnly: false,
    input: {
      RoleArn: { kind: 'string', required: true, doc: 'arn:aws:iam::ACCOUNT:role/NAME (or the role name)' },
      RoleSessionName: { kind: 'string', required: true, doc: '2 to 64 characters [\\w+=,.@-]' },
    },
    ext: undefined,
    run(ctx, input, { env }) {
      const r = env.startSession(ctx.principal, input.RoleArn as string, input.RoleSessionName as string);
      return {
        response: { Credentials: r.Credentials, AssumedRoleUser: r.AssumedRoleUser },
        responseElements: { credentials: { accessKeyId: r.Credentials.AccessKeyId, expiration: r.Credentials.Expiration }, assumedRoleUser: { assumedRoleId: r.AssumedRoleUser.AssumedRoleId, arn: r.AssumedRoleUser.Arn } },
      };
    },
  }),
  declareOperation<IamDirectory, undefined>({
    name: 'GetCallerIdentity',
    description: 'Who am I (as --as)?',
    readOnly: true,
    input: {},
    ext: undefined,
    run: (ctx) => ({ response: { UserId: ctx.principal.principalId, Account: ctx.principal.accountId, Arn: ctx.principal.arn } }),
  }),
] as const;

const queryService = (name: 'iam' | 'sts', operations: typeof IAM_OPERATIONS | typeof STS_OPERATIONS): ServiceDeclaration<IamDirectory, undefined> => ({
  name,
  eventSource: `${name}.amazonaws.com`,
  operations,
  unknownOperation: (action) => new InvalidAction(`Could not find operation ${action.slice(0, 100)}`),
  internalError: (message) => new InternalFailure(message),
  omitFromRecords: ['resources'],
});

export const IAM_SERVICE = queryService('iam', IAM_OPERATIONS);
export const STS_SERVICE = queryService('sts', STS_OPERATIONS);
