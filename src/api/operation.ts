// What an AWS operation and its service are, declared once in the service's domain folder.
import type { AwsError } from '../errors/index.js';
import type { CallContext } from '../core/call-context.js';
import type { TrailResource } from '../trail/record.js';
import type { InputOf, Members } from './members.js';

export interface Outcome {
  /** The response, in the SDK's PascalCase member names (bytes as Uint8Array, dates as Date). */
  response: Record<string, unknown>;
  /** CloudTrail's responseElements; null (the default) where AWS logs null. */
  responseElements?: unknown;
  /** CloudTrail's requestParameters where the service logs what it made of the request (EC2: defaults filled in). */
  requestParameters?: unknown;
  /**
   * Work the call goes on with after it is recorded, returning the response the caller gets: AWS
   * answers RunInstances with a pending instance and launches it afterwards, so the calls the
   * launch makes follow RunInstances in the trail.
   */
  continuation?: () => Record<string, unknown>;
}

/** What `run` gets besides the caller and the input. */
export interface Call<Env> {
  /** The service's domain objects (stores, other services' clients). */
  readonly env: Env;
  /** The operation's name, as CloudTrail's eventName. */
  readonly operation: string;
  /**
   * Resources the call touches, filled in as the operation goes, so that a failed call's record
   * still names them (the trail's `resources`, in order, without repeats).
   */
  readonly resources: TrailResource[];
}

export interface OperationDeclaration<Env = unknown, Ext = unknown, M extends Members = Members> {
  /** AWS's operation name, PascalCase ("Decrypt"). */
  name: string;
  /** One line of help (the CLI's command description). */
  description: string;
  /** CloudTrail's readOnly; read-only records are group-committed, others are durable before the call returns. */
  readOnly: boolean;
  /** Input members in the order they are validated (the first failure is reported). */
  input: M;
  /** Facts only the service's domain reads (KMS: the key states it needs, whether grants may allow it). */
  ext: Ext;
  /**
   * CloudTrail's requestParameters where the service logs its own shape of the request (EC2's
   * item sets) rather than the input's members. Gets the request as sent, valid or not.
   */
  requestParameters?(params: Record<string, unknown>): unknown;
  /**
   * CloudTrail's additionalEventData, from the request as sent, where the service records it
   * (KMS's RetireGrant: the grant's ID, its requestParameters null). Absent: no such field.
   */
  additionalEventData?(params: Record<string, unknown>): Record<string, unknown> | undefined;
  run(ctx: CallContext, input: InputOf<M>, call: Call<Env>): Outcome;
}

export interface ServiceDeclaration<Env = unknown, Ext = unknown> {
  /** The CLI's command name and the SDK's ("kms"). */
  name: string;
  /** CloudTrail's eventSource ("kms.amazonaws.com"). */
  eventSource: string;
  /** Each with its own member types (`any`: an operation's run takes its own input type). */
  operations: readonly OperationDeclaration<Env, Ext, any>[];
  /** The service's answer to an operation it does not have. */
  unknownOperation(name: string): AwsError;
  /** The service's answer to a failure that is not an AwsError (KMS: KMSInternalException). */
  internalError(message: string): AwsError;
  /**
   * The service's own words for a request its declaration refuses, where they are not the JSON
   * protocol's ValidationException (EC2: MissingParameter, InvalidParameterValue). `missing` names
   * a required member that is absent.
   */
  invalidInput?(problem: { message: string; missing?: string }): AwsError;
  /**
   * Authorization by the caller's identity policies, done by the invoke path for every operation
   * of the service (IAM, EC2, CloudTrail): the action is `prefix:Operation`, on the resource the
   * operation names. Absent for KMS, which decides in its operations (key policies, grants), and
   * for STS, whose calls need no permission (AssumeRole is decided by the role's trust policy).
   */
  authorization?: ServiceAuthorization;
  /** The errorCode CloudTrail records for an error, where the service spells it its own way (EC2: "Client.CODE"). */
  trailErrorCode?(error: AwsError): string;
  /**
   * Fields this service's records do not carry (EC2's records, as in the seed, have neither
   * readOnly nor resources; IAM's, STS's and CloudTrail's have no resources). A record without
   * readOnly is written durably.
   */
  omitFromRecords?: readonly ('readOnly' | 'resources')[];
}

export interface ServiceAuthorization {
  /** The IAM action prefix ("iam", "ec2", "cloudtrail"). */
  prefix: string;
  /** The ARN of the resource `operation` acts on, or "*". */
  resource(operation: string, input: Readonly<Record<string, unknown>>, ctx: CallContext): string;
  /** The service's refusal (IAM: AccessDenied; EC2: UnauthorizedOperation), with AWS's message. */
  denied(message: string): AwsError;
}

/** Declares an operation: identity at run time; infers `run`'s input type from the members. */
export function declareOperation<Env, Ext, const M extends Members = Members>(op: OperationDeclaration<Env, Ext, M>): OperationDeclaration<Env, Ext, M> {
  return op;
}

/** Every member name any operation of the service declares, with its first declaration (for the wire's types, the trail's redaction). */
export function serviceMembers(service: { operations: readonly { input: Members }[] }): Members {
  const all = Object.create(null) as Record<string, Members[string]>;
  for (const op of service.operations) for (const [name, m] of Object.entries(op.input)) all[name] ??= m;
  return all;
}
