// Authorization by identity policies alone, for the services whose resources have no policies of
// their own in ebsim (IAM users, roles and policies; EC2 instances and volumes; the trail): the
// caller's identity (and session) policies must allow `prefix:Operation` on the resource, and no
// statement may deny it (AWS's evaluation logic without a resource-based policy).
import type { CallContext } from '../core/call-context.js';
import {
  accessDeniedMessage, callerOf, evaluateCall, explainCall, formatExplanation, globalConditionKeys, LazyConditionKeys, type IdentityPolicySource, type RequestContext,
} from '../policy/index.js';
import type { ServiceAuthorization } from './operation.js';
import { accountOfArn } from '../core/arn.js';

export function authorizeByIdentity(auth: ServiceAuthorization, principals: IdentityPolicySource, ctx: CallContext, operation: string, input: Readonly<Record<string, unknown>>): void {
  const p = ctx.principal;
  const resource = auth.resource(operation, input, ctx);
  const request: RequestContext = {
    action: `${auth.prefix}:${operation}`,
    resource,
    resourceAccount: accountOfArn(resource) ?? p.accountId,
    principal: callerOf(p),
    keys: new LazyConditionKeys([{ prefix: 'aws:', build: () => globalConditionKeys(ctx) }]),
  };
  const evaluation = evaluateCall(ctx, request, principals.policiesOf(p));
  const allowed = evaluation.decision === 'Allow';
  explainCall(ctx, request, allowed, () => formatExplanation(evaluation));
  if (!allowed) throw auth.denied(accessDeniedMessage(p.arn, request.action, resource, evaluation));
}

