// AWS's policy evaluation logic (IAM User Guide, "Policy evaluation logic" and "Cross-account
// policy evaluation logic"; KMS Developer Guide, "Determining access to an AWS KMS key"):
//   1. an applying Deny in any policy denies (ExplicitDeny);
//   2. same account, resource policy required (key policies, role trust policies): allowed when
//      the resource policy allows the caller itself, or allows its account and the caller's
//      identity policies (and session policies, if any) allow too;
//   3. same account, no resource policy required (kms:CreateKey, iam:*): allowed when the
//      identity (and session) policies allow, or a resource policy allows the caller itself;
//   4. cross account: the resource policy must allow the caller or its account, and the
//      caller's identity (and session) policies must allow too;
//   5. a service principal calling as itself (ec2.amazonaws.com assuming a role) has no identity
//      policies: only the resource policy naming it can allow;
//   6. a session's session policies limit what a resource policy allows it too, unless that
//      resource policy names the session's own ARN (IAM User Guide, "Session policies": a policy
//      naming the role "is added before the session is created", one naming the session after);
//   otherwise ImplicitDeny, naming the policy type AWS's message names.
import { anyMatch, compileDocument, type CompiledStatement } from './compile.js';
import { conditionMet } from './conditions.js';
import { matchPrincipal, notPrincipalExcludes } from './principal.js';
import { lowerOnce } from './lower.js';
import { RequestKeys } from './request-keys.js';
import { traceStatement, type Subject } from './trace.js';
import type { Evaluation, NamedPolicy, RequestContext, StatementTrace } from './types.js';

export interface PolicySources {
  /** The resource's own policy: the key policy, the role's trust policy. */
  resourcePolicy?: NamedPolicy;
  /** The caller's identity policies (a session's: its role's). */
  identityPolicies: readonly NamedPolicy[];
  /** Session policies passed to AssumeRole; when non-empty, they must allow too (an intersection). */
  sessionPolicies?: readonly NamedPolicy[];
  /** True when the resource's policy must allow (KMS keys, role trust): an identity policy alone is not enough. */
  resourcePolicyRequired: boolean;
}

export interface EvaluateOptions {
  /**
   * Build the trace (default true). With `explain: false` the evaluation stops at the first
   * element that decides and `trace` is empty: the hot path (KMS authorization). The decision
   * and `deniedBy` are the same either way; evaluate again with `explain: true` to show why.
   */
  explain?: boolean;
}

/** What each kind of policy said: the inputs of the decision. */
interface Findings {
  deny: NamedPolicy['type'] | undefined;
  /** Resource policy allows the caller itself / only its account. */
  resourcePrincipal: boolean;
  resourceAccount: boolean;
  /** Resource policy allows the caller by its own session ARN: session policies do not limit that. */
  resourceSession: boolean;
  identity: boolean;
  session: boolean;
}

/** 0: does not apply; 1: applies; 2: a resource-policy statement that applies by naming the caller's account. */
function applies(cs: CompiledStatement, resourcePolicy: boolean, s: Subject): 0 | 1 | 2 {
  let m: 1 | 2 = 1;
  if (resourcePolicy) {
    if (!cs.principal) return 0;
    if (cs.principalNegated) {
      if (notPrincipalExcludes(cs.principal, s.request.principal, cs.deny)) return 0;
    } else {
      const pm = matchPrincipal(cs.principal, s.request.principal);
      if (pm === undefined) return 0;
      if (pm === 'account') m = 2;
    }
  }
  if (anyMatch(cs.actions, s.actionLower, s.keys) === cs.actionNegated) return 0;
  if (cs.resources && anyMatch(cs.resources, s.request.resource, s.keys) === cs.resourceNegated) return 0;
  for (const c of cs.conditions) if (!conditionMet(c, s.keys)) return 0;
  return m;
}

/** Does an applying Allow name the caller, a session, by its own ARN (not its role's, not "*")? */
function namesSession(cs: CompiledStatement, caller: RequestContext['principal']): boolean {
  return caller.roleArn !== undefined && !cs.principalNegated && cs.principal !== undefined && cs.principal.aws.has(caller.arn);
}

/** The order of the trace: the resource policy, the identity policies, the session policies. */
function ordered(sources: PolicySources): NamedPolicy[] {
  return [...(sources.resourcePolicy ? [sources.resourcePolicy] : []), ...sources.identityPolicies, ...(sources.sessionPolicies ?? [])];
}

function anyDeny(p: NamedPolicy, s: Subject): boolean {
  const resource = p.type === 'resource-based';
  for (const cs of compileDocument(p.document).statements) if (cs.deny && applies(cs, resource, s) !== 0) return true;
  return false;
}

function anyAllow(policies: readonly NamedPolicy[] | undefined, s: Subject): boolean {
  if (!policies) return false;
  for (const p of policies) {
    const resource = p.type === 'resource-based';
    for (const cs of compileDocument(p.document).statements) if (!cs.deny && applies(cs, resource, s) !== 0) return true;
  }
  return false;
}

/** The fast path: Denies first (any one decides), then the Allows, each kind until one applies. */
function findFast(s: Subject, sources: PolicySources): Findings {
  const f: Findings = { deny: undefined, resourcePrincipal: false, resourceAccount: false, resourceSession: false, identity: false, session: false };
  const { resourcePolicy, identityPolicies, sessionPolicies } = sources;
  // Each policy's own type names the deny, as in the traced path.
  const denying = (resourcePolicy && anyDeny(resourcePolicy, s) ? resourcePolicy : undefined) ?? identityPolicies.find((p) => anyDeny(p, s)) ?? sessionPolicies?.find((p) => anyDeny(p, s));
  if (denying) {
    f.deny = denying.type;
    return f;
  }
  if (resourcePolicy) {
    for (const cs of compileDocument(resourcePolicy.document).statements) {
      if (cs.deny) continue;
      const m = applies(cs, true, s);
      if (m === 1) {
        f.resourcePrincipal = true;
        if (namesSession(cs, s.request.principal)) f.resourceSession = true;
        // Only a session with session policies must look on, for a statement naming its own ARN.
        if (f.resourceSession || !sessionPolicies?.length) break;
      }
      if (m === 2) f.resourceAccount = true;
    }
  }
  // A resource policy naming the caller itself decides alone within its account (unless session
  // policies limit what it grants the role): skip the rest.
  if (f.resourcePrincipal && (f.resourceSession || !sessionPolicies?.length) && s.request.principal.accountId === s.request.resourceAccount) return f;
  f.identity = anyAllow(identityPolicies, s);
  f.session = anyAllow(sessionPolicies, s);
  return f;
}

function findTraced(s: Subject, sources: PolicySources, trace: StatementTrace[]): Findings {
  const f: Findings = { deny: undefined, resourcePrincipal: false, resourceAccount: false, resourceSession: false, identity: false, session: false };
  for (const p of ordered(sources)) {
    for (const cs of compileDocument(p.document).statements) {
      const r = traceStatement(cs, p, s);
      trace.push(r.trace);
      if (r.match === 0) continue;
      if (cs.deny) f.deny ??= p.type;
      else if (p.type === 'resource-based') {
        if (r.match === 1) {
          f.resourcePrincipal = true;
          if (namesSession(cs, s.request.principal)) f.resourceSession = true;
        } else f.resourceAccount = true;
      } else if (p.type === 'identity-based') f.identity = true;
      else f.session = true;
    }
  }
  return f;
}

function decide(f: Findings, request: RequestContext, sources: PolicySources): Omit<Evaluation, 'trace'> {
  if (f.deny) return { decision: 'ExplicitDeny', deniedBy: { kind: 'explicit', policyType: f.deny } };
  const sessionLimits = (sources.sessionPolicies?.length ?? 0) > 0;
  const identityAllows = f.identity && (!sessionLimits || f.session);
  // What the resource policy allows the caller itself: limited by session policies, unless it names the session's own ARN.
  const resourceAllows = f.resourceSession || (f.resourcePrincipal && (!sessionLimits || f.session));
  const sameAccount = request.principal.accountId === request.resourceAccount;
  let allowed: boolean;
  let resourceFailed: boolean;
  if (request.principal.service !== undefined) {
    allowed = f.resourcePrincipal;
    resourceFailed = true;
  } else if (sameAccount && sources.resourcePolicyRequired) {
    allowed = resourceAllows || (f.resourceAccount && identityAllows);
    resourceFailed = !f.resourcePrincipal && !f.resourceAccount;
  } else if (sameAccount) {
    allowed = identityAllows || resourceAllows;
    resourceFailed = false;
  } else {
    allowed = (f.resourcePrincipal || f.resourceAccount) && identityAllows;
    resourceFailed = !f.resourcePrincipal && !f.resourceAccount;
  }
  if (allowed) return { decision: 'Allow' };
  const policyType = resourceFailed ? 'resource-based' : (f.identity || f.resourcePrincipal) && sessionLimits && !f.session ? 'session' : 'identity-based';
  return { decision: 'ImplicitDeny', deniedBy: { kind: 'implicit', policyType } };
}

/** Decides `request` against its policies, as AWS does; see the file's header for the rules. */
export function evaluate(request: RequestContext, sources: PolicySources, options: EvaluateOptions = {}): Evaluation {
  const s: Subject = { request, actionLower: lowerOnce(request.action), keys: new RequestKeys(request.keys) };
  if (options.explain === false) return { ...decide(findFast(s, sources), request, sources), trace: [] };
  const trace: StatementTrace[] = [];
  const f = findTraced(s, sources, trace);
  return { ...decide(f, request, sources), trace };
}
