// STS: assumed-role sessions and the caller's identity.
import { declareOperation } from '../../api/index.js';
import { AccessDenied } from '../../errors/index.js';
import { SESSION_TOKEN_SECONDS, type IamDirectory } from '../directory.js';

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
    name: 'GetSessionToken',
    description: 'Temporary credentials that act as the calling IAM user (export them as AWS_SESSION_TOKEN…)',
    readOnly: false,
    input: {
      DurationSeconds: { kind: 'integer', min: SESSION_TOKEN_SECONDS.min, max: SESSION_TOKEN_SECONDS.max, doc: 'lifetime in seconds (default 43200)' },
      SerialNumber: { kind: 'string', min: 9, max: 256, pattern: /^[\w+=/:,.@-]*$/, doc: 'MFA device: refused, ebsim has none' },
      TokenCode: { kind: 'string', min: 6, max: 6, pattern: /^[\d]*$/, doc: 'MFA code: refused, ebsim has no MFA' },
    },
    ext: undefined,
    run(ctx, input, { env }) {
      // ebsim has no MFA devices, so no serial number is associated with the user: AWS's answer to that.
      if (input.SerialNumber !== undefined || input.TokenCode !== undefined) {
        throw new AccessDenied('MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.');
      }
      const c = env.startUserSession(ctx.principal, input.DurationSeconds as number | undefined);
      return { response: { Credentials: c }, responseElements: { credentials: { accessKeyId: c.AccessKeyId, expiration: c.Expiration } } };
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
