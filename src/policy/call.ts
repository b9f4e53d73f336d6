// One authorization decision about a call, the same way for every service: the caller as policies
// see it, its identity (and session) policies, and a resource policy where the resource has one
// (then it must allow, as KMS key policies and role trust policies must). Traced only when the
// caller asked to see why (`--explain`); the service tells it what was decided.
import type { CallContext, Principal } from '../core/call-context.js';
import { evaluate } from './evaluate.js';
import type { Evaluation, NamedPolicy, PrincipalPolicies, RequestContext } from './types.js';

/** The caller as a policy sees it: its ARN and account, and for a session its role. */
export function callerOf(p: Principal): RequestContext['principal'] {
  return { arn: p.arn, accountId: p.accountId, roleArn: p.sessionIssuer?.arn };
}

export function evaluateCall(ctx: CallContext | undefined, request: RequestContext, identity: PrincipalPolicies, resourcePolicy?: NamedPolicy): Evaluation {
  return evaluate(
    request,
    { resourcePolicy, identityPolicies: identity.identityPolicies, sessionPolicies: identity.sessionPolicies, resourcePolicyRequired: resourcePolicy !== undefined },
    { explain: ctx?.explain !== undefined },
  );
}

/** Tells a caller that asked (`--explain`) what was decided about `request`, and why, in `text`. */
export function explainCall(ctx: CallContext | undefined, request: RequestContext, allowed: boolean, text: () => string): void {
  ctx?.explain?.({ action: request.action, resource: request.resource, allowed, text: text() });
}
