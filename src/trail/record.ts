// The shape of CloudTrail records, field for field like the seed (the KMS guide's EC2 example
// two) and AWS's service events. Which calls are recorded, and with what, is src/api's recorder.
import { randomUUID } from 'node:crypto';
import type { CallContext } from '../core/call-context.js';
import { isoSeconds } from '../core/time.js';

export interface TrailResource {
  ARN: string;
  accountId: string;
  type?: string;
}

export interface TrailRecord {
  eventVersion: string;
  userIdentity: Record<string, unknown>;
  eventTime: string;
  eventSource: string;
  eventName: string;
  awsRegion: string;
  sourceIPAddress: string;
  userAgent?: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters: unknown;
  responseElements: unknown;
  /** What the service records beside the request (KMS's RetireGrant: the grant's ID). */
  additionalEventData?: Record<string, unknown>;
  requestID?: string;
  eventID: string;
  readOnly?: boolean;
  resources?: TrailResource[];
  eventType: 'AwsApiCall' | 'AwsServiceEvent';
  managementEvent?: boolean;
  recipientAccountId: string;
  serviceEventDetails?: Record<string, unknown>;
  eventCategory?: 'Management';
}

/** Something a service did by itself (a key deleted when its waiting period ended, an automatic rotation). */
export interface ServiceEventDescription {
  eventSource: string;
  eventName: string;
  accountId: string;
  region: string;
  resources: TrailResource[];
  responseElements?: unknown;
  serviceEventDetails?: Record<string, unknown>;
}

export interface CallDescription {
  eventSource: string;
  eventName: string;
  requestParameters: unknown;
  responseElements?: unknown;
  additionalEventData?: Record<string, unknown>;
  /** Omitted for EC2's own records, as in the seed's RunInstances record. */
  readOnly?: boolean;
  resources?: TrailResource[];
  error?: { code: string; message: string };
  /** The account whose resource the call used, when it is not the caller's (a KMS key of another account). */
  recipientAccountId?: string;
}

export function userIdentityOf(ctx: CallContext): Record<string, unknown> {
  const p = ctx.principal;
  const sessionContext: Record<string, unknown> = {
    attributes: { mfaAuthenticated: 'false', creationDate: p.sessionCreationDate },
  };
  if (p.sessionIssuer) sessionContext.sessionIssuer = { ...p.sessionIssuer };
  const identity: Record<string, unknown> = {
    type: p.type,
    principalId: p.principalId,
    arn: p.arn,
    accountId: p.accountId,
    accessKeyId: p.accessKeyId,
  };
  if (p.type === 'IAMUser') identity.userName = p.name;
  identity.sessionContext = sessionContext;
  if (ctx.invokedBy) identity.invokedBy = ctx.invokedBy;
  return identity;
}

const identityCache = new WeakMap<CallContext, Record<string, unknown>>();
const principalIdentityCache = new WeakMap<CallContext['principal'], Record<string, unknown>>();

/**
 * The identity part of a record, built once per call context (EC2 reuses contexts) or, for a
 * call on nobody's behalf, once per principal: the server makes a context per request, but its
 * principals are the authenticator's cached ones. Records share it: nothing may change it.
 */
function identityFor(ctx: CallContext): Record<string, unknown> {
  const byPrincipal = ctx.invokedBy === undefined;
  let id = byPrincipal ? principalIdentityCache.get(ctx.principal) : identityCache.get(ctx);
  if (!id) {
    id = userIdentityOf(ctx);
    if (byPrincipal) principalIdentityCache.set(ctx.principal, id);
    else identityCache.set(ctx, id);
  }
  return id;
}

/** A record with its keys in the seed's order (optional fields where AWS puts them). */
export function buildRecord(ctx: CallContext, call: CallDescription, now = new Date()): TrailRecord {
  const r: Record<string, unknown> = {
    eventVersion: '1.02',
    userIdentity: identityFor(ctx),
    eventTime: isoSeconds(now),
    eventSource: call.eventSource,
    eventName: call.eventName,
    awsRegion: ctx.region,
    sourceIPAddress: ctx.sourceIPAddress,
  };
  if (ctx.userAgent !== undefined) r.userAgent = ctx.userAgent;
  if (call.error) {
    r.errorCode = call.error.code;
    r.errorMessage = call.error.message;
  }
  r.requestParameters = call.requestParameters ?? null;
  r.responseElements = call.responseElements ?? null;
  if (call.additionalEventData !== undefined) r.additionalEventData = call.additionalEventData;
  r.requestID = ctx.requestId ?? randomUUID();
  r.eventID = randomUUID();
  if (call.readOnly !== undefined) r.readOnly = call.readOnly;
  if (call.resources) r.resources = call.resources.map((x) => ({ ARN: x.ARN, accountId: x.accountId }));
  r.eventType = 'AwsApiCall';
  // AWS delivers a cross-account call's record to both accounts, each copy with its own
  // recipientAccountId; ebsim's one trail holds one record, the resource owner's copy.
  r.recipientAccountId = call.recipientAccountId ?? ctx.principal.accountId;
  return r as unknown as TrailRecord;
}

/** An AwsServiceEvent record, keys in the order of AWS's examples (KMS's DeleteKey and RotateKey). */
export function buildServiceEventRecord(e: ServiceEventDescription, now = new Date()): TrailRecord {
  const r: Record<string, unknown> = {
    eventVersion: '1.08',
    userIdentity: { accountId: e.accountId, invokedBy: 'AWS Internal' },
    eventTime: isoSeconds(now),
    eventSource: e.eventSource,
    eventName: e.eventName,
    awsRegion: e.region,
    sourceIPAddress: 'AWS Internal',
    userAgent: 'AWS Internal',
    requestParameters: null,
    responseElements: e.responseElements ?? null,
    eventID: randomUUID(),
    readOnly: false,
    resources: e.resources.map((x) => ({ accountId: x.accountId, ...(x.type ? { type: x.type } : {}), ARN: x.ARN })),
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: e.accountId,
  };
  if (e.serviceEventDetails) r.serviceEventDetails = e.serviceEventDetails;
  r.eventCategory = 'Management';
  return r as unknown as TrailRecord;
}
