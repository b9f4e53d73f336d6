// AWS global condition context keys (IAM User Guide, "AWS global condition context keys") for
// one call. A key AWS leaves out of a request is left out here (aws:username for a session,
// aws:SourceIp when a service calls on the principal's behalf, aws:CalledVia for a direct call).
import type { CallContext } from '../core/call-context.js';
import type { ConditionValue } from './types.js';

const INTERNAL = 'AWS Internal';

/** "ec2.us-east-1.amazonaws.com" (kms:ViaService) → "ec2.amazonaws.com" (aws:CalledVia's service principal). */
function servicePrincipal(viaService: string): string {
  return `${viaService.split('.')[0]}.amazonaws.com`;
}

export function globalConditionKeys(ctx: CallContext, now: Date = new Date()): Map<string, ConditionValue> {
  const p = ctx.principal;
  const session = p.type === 'AssumedRole';
  const keys = new Map<string, ConditionValue>();
  // For a session, the role's ARN (aws:PrincipalArn names the role, not the session).
  keys.set('aws:PrincipalArn', session && p.sessionIssuer ? p.sessionIssuer.arn : p.arn);
  keys.set('aws:PrincipalAccount', p.accountId);
  keys.set('aws:PrincipalType', session ? 'AssumedRole' : 'User');
  // A session's principalId is already ROLEID:SESSION (as GetCallerIdentity's UserId).
  keys.set('aws:userid', p.principalId);
  if (!session) keys.set('aws:username', p.name);
  if (ctx.sourceIPAddress && ctx.sourceIPAddress !== INTERNAL) keys.set('aws:SourceIp', ctx.sourceIPAddress);
  keys.set('aws:CurrentTime', now.toISOString().slice(0, 19) + 'Z');
  keys.set('aws:EpochTime', String(Math.floor(now.getTime() / 1000)));
  keys.set('aws:SecureTransport', String(ctx.secureTransport ?? true));
  keys.set('aws:RequestedRegion', ctx.region);
  const viaService = ctx.viaService !== undefined || ctx.invokedBy !== undefined;
  keys.set('aws:ViaAWSService', String(viaService));
  if (ctx.viaService) {
    const svc = servicePrincipal(ctx.viaService);
    keys.set('aws:CalledVia', [svc]);
    keys.set('aws:CalledViaFirst', svc);
    keys.set('aws:CalledViaLast', svc);
  }
  if (session && p.sessionCreationDate) keys.set('aws:TokenIssueTime', p.sessionCreationDate);
  return keys;
}
