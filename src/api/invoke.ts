// The one path every AWS call takes, whatever its entry point (CLI, HTTP, another service, the
// host): make cached reads current, find and validate the operation, do the service's due
// lifecycle work, run it, and record it once in the trail, success or failure.
import { AwsError, ValidationException } from '../errors/index.js';
import type { CallContext } from '../core/call-context.js';
import type { Db } from '../store/database.js';
import { refreshFromDisk } from '../store/read-cache.js';
import type { TrailRecord, TrailResource } from '../trail/record.js';
import { validateInput, type Members } from './members.js';
import { serviceMembers, type Call, type OperationDeclaration, type ServiceDeclaration } from './operation.js';
import { requestParametersOf, type Recorder } from './recorder.js';
import { authorizeByIdentity } from './authorize.js';
import type { IdentityPolicySource } from '../policy/index.js';

export interface InvokerOptions<Env, Ext> {
  service: ServiceDeclaration<Env, Ext>;
  env: Env;
  recorder: Recorder;
  /** The database whose read caches are made current before each call. */
  db?: Db;
  /**
   * Lifecycle work that has come due (KMS: keys whose deletion date passed, automatic rotations),
   * done before the operation runs so that reads never have side effects. It records what it
   * does through `recorder` (service events).
   */
  runDueWork?: (recorder: Recorder) => void;
  /** The callers' identity policies, for a service that declares `authorization`. */
  principals?: IdentityPolicySource;
  /** Told of each successful call once it is recorded, with its record (KMS: a key's last use, GetKeyLastUsage). */
  succeeded?: (call: Call<Env>, record: TrailRecord) => void;
}

export class Invoker<Env, Ext = unknown> {
  readonly service: ServiceDeclaration<Env, Ext>;
  private readonly operations = new Map<string, OperationDeclaration<Env, Ext, Members>>();
  /** Every member of the service, to redact a member sent to an operation that does not declare it. */
  private readonly members: Members;

  constructor(private readonly opts: InvokerOptions<Env, Ext>) {
    this.service = opts.service;
    for (const op of opts.service.operations) this.operations.set(op.name, op);
    this.members = serviceMembers(opts.service);
  }

  operation(name: string): OperationDeclaration<Env, Ext, Members> | undefined {
    return this.operations.get(name);
  }

  operationNames(): string[] {
    return [...this.operations.keys()];
  }

  invoke(ctx: CallContext, name: string, params: Record<string, unknown> = {}): Record<string, unknown> {
    const { service, recorder } = this.opts;
    const op = this.operations.get(name);
    const call: Call<Env> = { env: this.opts.env, operation: name, resources: [] };
    const record = (responseElements: unknown, error?: { code: string; message: string }, logged?: unknown) =>
      recorder.call(ctx, {
        eventSource: service.eventSource,
        eventName: name,
        requestParameters: logged !== undefined ? logged : op?.requestParameters ? op.requestParameters(params) : requestParametersOf(params, op?.input ?? {}, this.members),
        responseElements,
        additionalEventData: op?.additionalEventData?.(params),
        readOnly: service.omitFromRecords?.includes('readOnly') ? undefined : (op?.readOnly ?? false),
        resources: service.omitFromRecords?.includes('resources') ? undefined : uniqueResources(call.resources),
        error,
        // A call that used another account's resource (a KMS key by its ARN) is that account's record too.
        recipientAccountId: call.resources.find((r) => r.accountId !== ctx.principal.accountId)?.accountId,
      });
    if (this.opts.db) refreshFromDisk(this.opts.db);
    let outcome;
    try {
      if (!op) throw service.unknownOperation(name);
      const input = this.validate(op.input, params);
      this.opts.runDueWork?.(recorder);
      if (service.authorization) {
        if (!this.opts.principals) throw new Error(`${service.name} declares authorization but its invoker has no identity policies`);
        authorizeByIdentity(service.authorization, this.opts.principals, ctx, name, input);
      }
      outcome = op.run(ctx, input as never, call);
    } catch (err) {
      const e = err instanceof AwsError ? err : service.internalError(`Internal error: ${(err as Error).message}`);
      record(null, { code: service.trailErrorCode ? service.trailErrorCode(e) : e.code, message: e.message });
      if (!(err instanceof AwsError)) throw err;
      e.operation ??= name;
      throw e;
    }
    // Outside the try: if the trail itself fails here, the call did happen and must not be
    // recorded a second time as failed.
    const recorded = record(outcome.responseElements ?? null, undefined, outcome.requestParameters);
    this.opts.succeeded?.(call, recorded);
    return outcome.continuation ? outcome.continuation() : outcome.response;
  }

  private validate(members: Members, params: Record<string, unknown>) {
    const { service } = this.opts;
    if (!service.invalidInput) return validateInput(params, members);
    for (const name in members) {
      if (members[name]!.required && params[name] == null) throw service.invalidInput({ message: `The request must contain the parameter ${name}`, missing: name });
    }
    try {
      return validateInput(params, members);
    } catch (err) {
      if (err instanceof ValidationException) throw service.invalidInput({ message: err.message });
      throw err;
    }
  }
}

function uniqueResources(resources: TrailResource[]): TrailResource[] {
  if (resources.length < 2) return resources;
  const seen = new Set<string>();
  return resources.filter((r) => !seen.has(r.ARN) && seen.add(r.ARN));
}
