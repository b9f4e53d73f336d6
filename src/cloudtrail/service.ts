// CloudTrail's API over the stored trail, on the one invoke path: every lookup, from the CLI or
// over HTTP, is validated against its declaration and recorded once.
import { Invoker, Recorder, type ServiceDeclaration } from '../api/index.js';
import type { CallContext } from '../core/call-context.js';
import { AccessDeniedException, InternalFailure, UnknownOperationException } from '../errors/index.js';
import type { IdentityPolicySource } from '../policy/index.js';
import type { Db } from '../store/database.js';
import type { Trail } from '../trail/trail.js';
import { lookupEventsOperation, type CloudTrailEnv } from './lookup-events.js';

export const CLOUDTRAIL_OPERATIONS = [lookupEventsOperation] as const;

export const CLOUDTRAIL_SERVICE: ServiceDeclaration<CloudTrailEnv, undefined> = {
  name: 'cloudtrail',
  eventSource: 'cloudtrail.amazonaws.com',
  operations: CLOUDTRAIL_OPERATIONS,
  unknownOperation: (name) => new UnknownOperationException(`Operation ${name.slice(0, 100)} is not supported by ebsim's CloudTrail.`),
  internalError: (message) => new InternalFailure(message),
  omitFromRecords: ['resources'],
  authorization: { prefix: 'cloudtrail', resource: () => '*', denied: (message) => new AccessDeniedException(message) },
};

export class CloudTrailService {
  private readonly invoker: Invoker<CloudTrailEnv, undefined>;

  constructor(db: Db, trail: Trail, principals: IdentityPolicySource) {
    this.invoker = new Invoker({ service: CLOUDTRAIL_SERVICE, env: { db }, recorder: new Recorder(trail), db, principals });
  }

  call(ctx: CallContext, operation: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    return this.invoker.invoke(ctx, operation, params);
  }
}
