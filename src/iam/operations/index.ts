// The IAM and STS operations ebsim has, declared once per family: their members give the CLI its
// flags and the trail its requestParameters; `run` acts on the directory and says what
// CloudTrail records.
import { memberName, type ServiceDeclaration } from '../../api/index.js';
import { InternalFailure, InvalidAction, ValidationError } from '../../errors/index.js';
import type { IamDirectory } from '../directory.js';
import { INLINE_POLICY_OPERATIONS } from './inline-policies.js';
import { MANAGED_POLICY_OPERATIONS } from './managed-policies.js';
import { ROLE_OPERATIONS } from './roles.js';
import { SIMULATE_OPERATIONS } from './simulate.js';
import { STS_OPERATIONS } from './sts.js';
import { IAM_AUTHORIZATION } from './authorization.js';
import { USER_OPERATIONS } from './users.js';

export { STS_OPERATIONS };
export const IAM_OPERATIONS = [...USER_OPERATIONS, ...ROLE_OPERATIONS, ...INLINE_POLICY_OPERATIONS, ...MANAGED_POLICY_OPERATIONS, ...SIMULATE_OPERATIONS] as const;

const queryService = (name: 'iam' | 'sts', operations: typeof IAM_OPERATIONS | typeof STS_OPERATIONS): ServiceDeclaration<IamDirectory, undefined> => ({
  name,
  eventSource: `${name}.amazonaws.com`,
  operations,
  unknownOperation: (action) => new InvalidAction(`Could not find operation ${action.slice(0, 100)}`),
  internalError: (message) => new InternalFailure(message),
  // IAM and STS (query protocol) say ValidationError where the JSON protocol says
  // ValidationException, with the same "1 validation error detected" sentences.
  invalidInput: ({ message, missing }) =>
    new ValidationError(missing ? `1 validation error detected: Value null at '${memberName(missing)}' failed to satisfy constraint: Member must not be null` : message),
  omitFromRecords: ['resources'],
});

export const IAM_SERVICE: ServiceDeclaration<IamDirectory, undefined> = { ...queryService('iam', IAM_OPERATIONS), authorization: IAM_AUTHORIZATION };
export const STS_SERVICE = queryService('sts', STS_OPERATIONS);
