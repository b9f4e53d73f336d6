// One statement checked element by element, with a reason per element: what users see with
// --explain. The slow path: every element is checked even after one has failed, so the
// explanation is complete. The decision itself uses the same primitives (see evaluate.ts).
import { anyMatch, firstMatch, type CompiledStatement, type PatternList } from './compile.js';
import { conditionMet, describeCondition } from './conditions.js';
import { describePrincipal, matchPrincipal, notPrincipalExcludes, type PrincipalMatch } from './principal.js';
import type { RequestKeys } from './request-keys.js';
import type { NamedPolicy, RequestContext, StatementTrace } from './types.js';

/** The request as the matchers need it: action lower-cased once, keys looked up case-insensitively. */
export interface Subject {
  request: RequestContext;
  actionLower: string;
  keys: RequestKeys;
}

const written = (l: PatternList) => l.globs.map((g) => g.source).join(', ');

function describePrincipalMatch(cs: CompiledStatement, caller: RequestContext['principal'], m: PrincipalMatch): string {
  const p = cs.principal!;
  const field = cs.principalNegated ? 'NotPrincipal' : 'Principal';
  if (m === undefined) {
    const verdict = cs.principalNegated ? 'so the statement applies to it' : 'so the statement does not apply to it';
    return `${field}: caller ${caller.arn} is not among ${describePrincipal(p.block)}, ${verdict}`;
  }
  let who: string;
  if (p.anyone) who = '"*" (anyone)';
  else if (p.aws.has(caller.arn)) who = `AWS ${caller.arn} (the caller)`;
  else if (caller.roleArn !== undefined && p.aws.has(caller.roleArn)) who = `AWS ${caller.roleArn} (the caller's role)`;
  else if (caller.service !== undefined && p.services.has(caller.service)) who = `Service ${caller.service} (the calling service)`;
  else who = `AWS account ${caller.accountId} (the caller's account: its identity policies must allow the request too)`;
  return cs.principalNegated ? `${field}: excludes ${who}, so the statement does not apply to it` : `${field}: ${who} matches`;
}

/** A Deny's NotPrincipal that lists the caller's account or the caller, not both: it still applies. */
function describePartialExclusion(cs: CompiledStatement, caller: RequestContext['principal']): string {
  const p = cs.principal!;
  const unlisted = !p.accounts.has(caller.accountId)
    ? [`its account ${caller.accountId}`]
    : [...(p.aws.has(caller.arn) ? [] : [caller.arn]), ...(caller.roleArn !== undefined && !p.aws.has(caller.roleArn) ? [`its role ${caller.roleArn}`] : [])];
  return `NotPrincipal: does not list ${unlisted.join(' or ')} (a Deny excludes a caller only when its account and the caller, and a session's role, are all listed), so the statement applies to it`;
}

function describePatterns(field: string, list: PatternList, negated: boolean, text: string, compareText: string, keys: RequestKeys): string {
  const hit = firstMatch(list, compareText, keys);
  if (!negated) return hit ? `${field}: ${text} matches ${hit.source}` : `${field}: ${text} matches none of ${written(list)}`;
  return hit ? `${field}: ${text} is excluded by ${hit.source}` : `${field}: ${text} matches none of ${written(list)}, so the statement covers it`;
}

/**
 * Checks one statement. `match` is 0 when it does not apply; otherwise 1, or 2 for a resource
 * policy statement that names only the caller's account.
 */
export function traceStatement(cs: CompiledStatement, policy: NamedPolicy, s: Subject): { match: 0 | 1 | 2; trace: StatementTrace } {
  const reasons: string[] = [];
  let applies = true;
  let principalMatch: PrincipalMatch;
  const caller = s.request.principal;
  if (policy.type === 'resource-based') {
    if (!cs.principal) {
      applies = false;
      reasons.push('Principal: none (a resource policy statement without a principal applies to no one)');
    } else {
      const m = matchPrincipal(cs.principal, caller);
      if (cs.principalNegated) {
        const excluded = notPrincipalExcludes(cs.principal, caller, cs.deny);
        if (excluded) applies = false;
        principalMatch = excluded ? undefined : 'principal';
        reasons.push(excluded || m === undefined ? describePrincipalMatch(cs, caller, m) : describePartialExclusion(cs, caller));
      } else {
        if (m === undefined) applies = false;
        principalMatch = m;
        reasons.push(describePrincipalMatch(cs, caller, m));
      }
    }
  }
  const actionOk = anyMatch(cs.actions, s.actionLower, s.keys) !== cs.actionNegated;
  applies &&= actionOk;
  reasons.push(describePatterns(cs.actionNegated ? 'NotAction' : 'Action', cs.actions, cs.actionNegated, s.request.action, s.actionLower, s.keys));
  if (cs.resources) {
    const ok = anyMatch(cs.resources, s.request.resource, s.keys) !== cs.resourceNegated;
    applies &&= ok;
    reasons.push(describePatterns(cs.resourceNegated ? 'NotResource' : 'Resource', cs.resources, cs.resourceNegated, s.request.resource, s.request.resource, s.keys));
  }
  for (const c of cs.conditions) {
    const met = conditionMet(c, s.keys);
    applies &&= met;
    reasons.push(describeCondition(c, s.keys, met));
  }
  const st = cs.statement;
  const trace: StatementTrace = {
    policy: policy.name,
    policyType: policy.type,
    index: st.index,
    ...(st.sid !== undefined ? { sid: st.sid } : {}),
    effect: st.effect,
    matched: applies,
    reasons,
  };
  if (applies && principalMatch) trace.principalMatch = principalMatch;
  return { match: !applies ? 0 : principalMatch === 'account' ? 2 : 1, trace };
}
