// STS: assumed-role sessions and the caller's identity.
import { declareOperation } from '../../api/index.js';
import type { IamDirectory } from '../directory.js';

export const STS_OPERATIONS = [
  declareOperation<IamDirectory, undefined>({
    name: 'AssumeRole',
    description: 'Start a session of a role; act as it with --as role/ROLE/SESSION',
    readOnly: false,
    input: {
      // ebsim also takes the bare role name, so no minimum length here (the model's is 20).
      RoleArn: { kind: 'string', required: true, max: 2048, doc: 'arn:aws:iam::ACCOUNT:role/NAME (or the role name)' },
      RoleSessionName: { kind: 'string', required: true, min: 2, max: 64, pattern: /^[\w+=,.@-]*$/, doc: '2 to 64 characters [\\w+=,.@-]' },
      Policy: { kind: 'string', min: 1, pattern: /^[\u0009\u000A\u000D\u0020-\u00FF]+$/, doc: 'a session policy (JSON, or file://PATH): the session may do at most what it allows' },
      DurationSeconds: { kind: 'integer', min: 900, max: 43200, doc: "the session's lifetime in seconds (default 3600, at most the role's MaxSessionDuration)" },
    },
    ext: undefined,
    run(ctx, input, { env }) {
      const r = env.startSession(ctx.principal, input.RoleArn as string, input.RoleSessionName as string, {
        policy: input.Policy as string | undefined,
        durationSeconds: input.DurationSeconds as number | undefined,
        ctx,
      });
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
