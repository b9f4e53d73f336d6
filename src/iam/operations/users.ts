// IAM users and their access keys.
import { existingUserName, iamOperation, userName } from './members.js';

export const USER_OPERATIONS = [
  iamOperation({
    name: 'CreateUser',
    description: 'Create an IAM user (it has no policies: attach or put some)',
    readOnly: false,
    input: { UserName: userName },
    run(_ctx, input, { env }) {
      const u = env.addUser(input.UserName);
      return { response: { User: u }, responseElements: { user: { userName: u.UserName, userId: u.UserId, arn: u.Arn, path: '/', createDate: u.CreateDate } } };
    },
  }),
  iamOperation({
    name: 'CreateAccessKey',
    description: 'Create an access key for a user',
    readOnly: false,
    input: { UserName: existingUserName },
    run(_ctx, input, { env }) {
      const k = env.addAccessKey(input.UserName);
      // The secret is in the response only, never in the trail.
      return { response: { AccessKey: k }, responseElements: { accessKey: { accessKeyId: k.AccessKeyId, status: 'Active', userName: k.UserName, createDate: k.CreateDate } } };
    },
  }),
  iamOperation({
    name: 'ListUsers',
    description: 'List the IAM users',
    readOnly: true,
    input: {},
    run: (_ctx, _input, { env }) => ({ response: { Users: env.users() } }),
  }),
] as const;
