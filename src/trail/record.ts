// CloudTrail records shaped field for field like the seed (the KMS guide's EC2 example two).
import { randomUUID } from 'node:crypto';
import type { CallContext } from '../iam/principal.js';
import { isoSeconds } from '../iam/ids.js';

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
  requestID: string;
  eventID: string;
  readOnly?: boolean;
  resources?: TrailResource[];
  eventType: 'AwsApiCall';
  recipientAccountId: string;
}

export interface CallDescription {
  eventSource: string;
  eventName: string;
  requestParameters: unknown;
  responseElements: unknown;
  /** Omitted for EC2's own records, as in the seed's RunInstances record. */
  readOnly?: boolean;
  resources?: TrailResource[];
  error?: { code: string; message: string };
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

export function buildRecord(ctx: CallContext, call: CallDescription, now = new Date()): TrailRecord {
  const record: TrailRecord = {
    eventVersion: '1.02',
    userIdentity: userIdentityOf(ctx),
    eventTime: isoSeconds(now),
    eventSource: call.eventSource,
    eventName: call.eventName,
    awsRegion: ctx.region,
    sourceIPAddress: ctx.sourceIPAddress,
    requestParameters: call.requestParameters ?? null,
    responseElements: call.responseElements ?? null,
    requestID: ctx.requestId ?? randomUUID(),
    eventID: randomUUID(),
    eventType: 'AwsApiCall',
    recipientAccountId: ctx.principal.accountId,
  };
  // Key order follows the seed: optional fields are spliced in where AWS puts them.
  const ordered: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    ordered[k] = v;
    if (k === 'sourceIPAddress') {
      if (ctx.userAgent !== undefined) ordered.userAgent = ctx.userAgent;
      if (call.error) {
        ordered.errorCode = call.error.code;
        ordered.errorMessage = call.error.message;
      }
    }
    if (k === 'eventID') {
      if (call.readOnly !== undefined) ordered.readOnly = call.readOnly;
      if (call.resources) ordered.resources = call.resources.map((r) => ({ ARN: r.ARN, accountId: r.accountId }));
    }
  }
  return ordered as unknown as TrailRecord;
}
