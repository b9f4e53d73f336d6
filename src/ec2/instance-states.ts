// The instance lifecycle in AWS's words: which states StopInstances, StartInstances and
// RebootInstances act on, the StateReason an instance is left with, and the state-change items
// of their responses and CloudTrail records.
import { IncorrectInstanceState, type AwsError } from '../errors/index.js';
import { INSTANCE_STATE_CODES, type Instance, type InstanceStateName, type StateReason } from './model.js';

export interface StateChange {
  instanceId: string;
  previous: InstanceStateName;
  current: InstanceStateName;
}

/** An InstanceStateChange as the API answers it (StoppingInstances, StartingInstances). */
export function stateChangeShape(c: StateChange): Record<string, unknown> {
  return { CurrentState: { Code: INSTANCE_STATE_CODES[c.current], Name: c.current }, InstanceId: c.instanceId, PreviousState: { Code: INSTANCE_STATE_CODES[c.previous], Name: c.previous } };
}

/** The same change as CloudTrail's responseElements carry it (the CloudTrail guide's StartInstances and StopInstances examples). */
export function stateChangeRecord(c: StateChange): Record<string, unknown> {
  return { instanceId: c.instanceId, currentState: { code: INSTANCE_STATE_CODES[c.current], name: c.current }, previousState: { code: INSTANCE_STATE_CODES[c.previous], name: c.previous } };
}

/** A launch that failed on ebsim's side (the home's disk full while making a volume): the EC2 API reference's StateReason for an internal error at launch. */
export const LAUNCH_INTERNAL_ERROR: StateReason = { code: 'Server.InternalError', message: 'Server.InternalError: An internal error caused the instance to terminate during launch.' };

/** StopInstances' StateReason (the EC2 API reference's list of state reason codes). */
export const USER_INITIATED_SHUTDOWN: StateReason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };

/** AWS's StateTransitionReason after a user's stop or terminate: "User initiated (2024-05-01 12:00:00 GMT)". */
export function userInitiated(at: Date): string {
  return `User initiated (${at.toISOString().slice(0, 19).replace('T', ' ')} GMT)`;
}

// KMS's refusals for a key it will not use in its present state (disabled, pending deletion,
// gone): the instance's StateReason names the key's state. Any other refusal (a caller without
// kms:CreateGrant, a key policy's Deny) is AWS's generic "Client error on launch".
const KEY_STATE_ERRORS: ReadonlySet<string> = new Set(['DisabledException', 'KMSInvalidStateException', 'NotFoundException']);

/**
 * The StateReason of an instance that could not start (or launch) because KMS refused a call for
 * one of its encrypted volumes. AWS's words: re:Post "kms-iam-ec2-permission" (a caller without
 * kms:CreateGrant: Client.InternalError) and the launch troubleshooting's
 * Client.InvalidKMSKey.InvalidState.
 */
export function kmsFailureReason(err: AwsError): StateReason {
  if (KEY_STATE_ERRORS.has(err.code)) return { code: 'Client.InvalidKMSKey.InvalidState', message: 'Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state' };
  return { code: 'Client.InternalError', message: 'Client.InternalError: Client error on launch' };
}

const notFrom = (i: Instance, verb: string) => new IncorrectInstanceState(`The instance '${i.instanceId}' is not in a state from which it can be ${verb}.`);

/** StopInstances: a running instance stops; a stopping or stopped one is answered as it is; a terminated one is refused. */
export function assertStoppable(i: Instance): void {
  if (i.state === 'terminated' || i.state === 'shutting-down') throw notFrom(i, 'stopped');
}

/** StartInstances: a stopped instance starts; a pending or running one is answered as it is. */
export function assertStartable(i: Instance): void {
  if (i.state === 'terminated' || i.state === 'shutting-down' || i.state === 'stopping') throw notFrom(i, 'started');
}

/** RebootInstances: a running instance reboots; AWS ignores terminated ones; a stopped one has nothing to reboot. */
export function assertRebootable(i: Instance): void {
  if (i.state === 'stopped' || i.state === 'stopping') throw notFrom(i, 'rebooted');
}
