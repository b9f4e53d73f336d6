// The EC2/EBS operations ebsim has, declared once per family: members (the CLI's flags),
// read-only, and CloudTrail's requestParameters in EC2's own shape (item sets, not the input's
// members). The control plane (../service.ts) carries them out as `Ec2Actions`.
import type { ServiceDeclaration } from '../../api/index.js';
import { InternalError, InvalidAction, InvalidParameterValue, MissingParameter, UnauthorizedOperation, type AwsError } from '../../errors/index.js';
import { ENCRYPTION_DEFAULT_OPERATIONS } from './encryption-defaults.js';
import { INSTANCE_LIFECYCLE_OPERATIONS } from './instance-lifecycle.js';
import { INSTANCE_OPERATIONS } from './instances.js';
import { SNAPSHOT_OPERATIONS } from './snapshots.js';
import type { Ec2Actions } from './requests.js';
import { VOLUME_OPERATIONS } from './volumes.js';

export * from './requests.js';

export const EC2_OPERATIONS = [...INSTANCE_OPERATIONS, ...INSTANCE_LIFECYCLE_OPERATIONS, ...VOLUME_OPERATIONS, ...SNAPSHOT_OPERATIONS, ...ENCRYPTION_DEFAULT_OPERATIONS] as const;

export const EC2_SERVICE: ServiceDeclaration<Ec2Actions, undefined> = {
  name: 'ec2',
  eventSource: 'ec2.amazonaws.com',
  operations: EC2_OPERATIONS,
  unknownOperation: (name) => new InvalidAction(`The action ${name.slice(0, 100)} is not valid for this web service.`),
  internalError: (message) => new InternalError(message),
  // EC2's query API has no ValidationException: an absent parameter and a malformed one have their own codes.
  invalidInput: ({ message, missing }) => (missing ? new MissingParameter(message) : new InvalidParameterValue(message)),
  // EC2 records the caller's errors as "Client.CODE" and its own as "Server.CODE".
  trailErrorCode: (e: AwsError) => `${e.status >= 500 ? 'Server' : 'Client'}.${e.code}`,
  omitFromRecords: ['readOnly', 'resources'],
  // ec2:Operation on the instance or volume the call names (its ARN), else "*". EC2 words a
  // refusal as UnauthorizedOperation (AWS adds an encoded authorization message; ebsim the reason).
  authorization: {
    prefix: 'ec2',
    resource(_operation, input, ctx) {
      const arn = (type: string, id: unknown) => `arn:aws:ec2:${ctx.region}:${ctx.principal.accountId}:${type}/${String(id)}`;
      if (typeof input.VolumeId === 'string') return arn('volume', input.VolumeId);
      if (typeof input.InstanceId === 'string') return arn('instance', input.InstanceId);
      return '*';
    },
    denied: (message) => new UnauthorizedOperation(`You are not authorized to perform this operation. ${message}`),
  },
};
