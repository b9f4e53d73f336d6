// The IAM policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy): every action against
// every resource, decided by the policy engine as a real call would be, reported in IAM's shape.
// Follows the IAM API Reference pages of both operations:
//  - the principal's own policies (inline, then attached managed ones) plus PolicyInputList;
//  - ResourcePolicy is "attached" to every simulated resource, as an additional source: the
//    simulator does not know that a service (KMS) requires its resource policy, so a request is
//    allowed in one account by either kind of policy, and across accounts by both;
//  - the caller is CallerArn (an IAM user ARN), else PolicySourceArn when it is a user; it is
//    required with a ResourcePolicy otherwise, since the policy's Principal needs someone to match;
//  - the resource's account is the one in its ARN, else ResourceOwner, else the caller's;
//  - the request's condition keys are exactly the ContextEntries (names case-insensitive): the
//    simulator supplies no aws: key of its own, and lists the keys a relevant statement's
//    conditions read but the entries leave out (MissingContextValues).
// Not simulated: groups (ebsim has none), SCPs, ResourceHandlingOption (EC2 scenarios).
import { InvalidInput, MalformedPolicyDocument, NoSuchEntityException } from '../errors/index.js';
import { evaluate, parsedPolicy, PolicySyntaxError, type PolicySources, type ConditionValue, type Evaluation, type NamedPolicy, type PolicyDocument, type PolicyKind, type RequestContext } from '../policy/index.js';
import type { IamDirectory } from './directory.js';
import { checkPolicyDocument } from './documents.js';
import { AWS_MANAGED_POLICY_PREFIX } from './aws-managed-policies.js';
import { statementPositions, type Position } from './statement-positions.js';
import { accountOfArn } from '../core/arn.js';

export type SimulationDecision = 'allowed' | 'explicitDeny' | 'implicitDeny';
export type PolicySourceType = 'user' | 'group' | 'role' | 'aws-managed' | 'user-managed' | 'resource' | 'none';

export interface ContextEntry {
  ContextKeyName?: string;
  ContextKeyValues?: string[];
  ContextKeyType?: string;
}

export interface SimulationInput {
  /** SimulatePrincipalPolicy only. */
  PolicySourceArn?: string;
  PolicyInputList?: string[];
  PermissionsBoundaryPolicyInputList?: string[];
  ActionNames: string[];
  ResourceArns?: string[];
  ResourcePolicy?: string;
  ResourceOwner?: string;
  CallerArn?: string;
  ContextEntries?: ContextEntry[];
}

export interface MatchedStatement {
  SourcePolicyId: string;
  SourcePolicyType: PolicySourceType;
  StartPosition?: Position;
  EndPosition?: Position;
}

export interface EvaluationResult {
  EvalActionName: string;
  EvalResourceName: string;
  EvalDecision: SimulationDecision;
  MatchedStatements: MatchedStatement[];
  MissingContextValues: string[];
  EvalDecisionDetails?: Record<string, SimulationDecision>;
  PermissionsBoundaryDecisionDetail?: { AllowedByPermissionsBoundary: boolean };
  ResourceSpecificResults?: {
    EvalResourceName: string;
    EvalResourceDecision: SimulationDecision;
    MatchedStatements: MatchedStatement[];
    MissingContextValues: string[];
    EvalDecisionDetails?: Record<string, SimulationDecision>;
  }[];
}

/** A simulated policy: the engine's view, and IAM's name and type for MatchedStatements. */
interface Source {
  policy: NamedPolicy;
  id: string;
  type: PolicySourceType;
  text: string;
  /** Where its statements are in `text` (computed on first use). */
  positions?: ReturnType<typeof statementPositions>;
}

const USER_OR_ROLE = /^arn:aws:iam::(\d{12}):(user|group|role)\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;
const USER_ARN = /^arn:aws:iam::(\d{12}):user\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]+$/;
const ACCOUNT_ARN = /^arn:aws:iam::(\d{12}):root$/;
const LIST_TYPE = /List$/;

/** A simulated document, checked as IAM checks it on the way in (MalformedPolicyDocument in IAM's words). */
function parsed(text: string, kind: PolicyKind): PolicyDocument {
  if (kind === 'identity') checkPolicyDocument(text, 'identity');
  try {
    return parsedPolicy(text, kind);
  } catch (err) {
    if (err instanceof PolicySyntaxError) throw new MalformedPolicyDocument(err.message);
    throw err;
  }
}

/** The policies of the user or role PolicySourceArn names: NoSuchEntity when it does not exist, InvalidInput when it is no such ARN. */
function principalSources(dir: IamDirectory, arn: string): { sources: Source[]; kind: 'user' | 'role'; accountId: string } {
  const m = USER_OR_ROLE.exec(arn);
  if (!m) throw new InvalidInput(`Invalid ARN ${arn}: PolicySourceArn must be the ARN of an IAM user, group or role.`);
  const [, accountId, kind, name] = m as unknown as [string, string, 'user' | 'group' | 'role', string];
  // ebsim has no groups: no group exists, as no user or role of another account does.
  if (kind === 'group' || accountId !== dir.accountId()) throw noSuchEntity(kind, name);
  const holder = dir.holder(kind, name);
  const sources: Source[] = [];
  for (const p of dir.policies.inlineDocuments(holder.arn)) {
    sources.push(source(`inline policy ${p.name} of ${kind} ${name}`, 'identity-based', p.name, kind, p.text));
  }
  for (const p of dir.policies.attachedDocuments(holder.arn)) {
    const type = p.arn.startsWith(AWS_MANAGED_POLICY_PREFIX) ? 'aws-managed' : 'user-managed';
    sources.push(source(`${p.name} (attached to ${kind} ${name})`, 'identity-based', p.name, type, p.text));
  }
  return { sources, kind, accountId };
}

const noSuchEntity = (kind: string, name: string) => new NoSuchEntityException(`The ${kind} with name ${name} cannot be found.`);

function source(name: string, type: NamedPolicy['type'], id: string, sourceType: PolicySourceType, text: string, kind: PolicyKind = type === 'resource-based' ? 'key' : 'identity'): Source {
  return { policy: { name, type, document: parsed(text, kind) }, id, type: sourceType, text };
}

function contextKeys(entries: readonly ContextEntry[] | undefined): Map<string, ConditionValue> {
  const keys = new Map<string, ConditionValue>();
  const seen = new Map<string, string>();
  for (const e of entries ?? []) {
    if (!e.ContextKeyName) continue;
    const values = e.ContextKeyValues ?? [];
    const lower = e.ContextKeyName.toLowerCase();
    const previous = seen.get(lower);
    if (previous !== undefined) keys.delete(previous);
    seen.set(lower, e.ContextKeyName);
    const list = e.ContextKeyType !== undefined && LIST_TYPE.test(e.ContextKeyType);
    keys.set(e.ContextKeyName, list || values.length !== 1 ? values : values[0]!);
  }
  return keys;
}


/** The same documents without their conditions: which statements would apply if every condition held. */
function unconditioned(s: Source): NamedPolicy {
  return { ...s.policy, document: { ...s.policy.document, statements: s.policy.document.statements.map((st) => ({ ...st, condition: undefined })) } };
}

function toDecision(e: Evaluation['decision']): SimulationDecision {
  return e === 'Allow' ? 'allowed' : e === 'ExplicitDeny' ? 'explicitDeny' : 'implicitDeny';
}

export function simulate(dir: IamDirectory, input: SimulationInput): { EvaluationResults: EvaluationResult[]; IsTruncated: false } {
  const identity: Source[] = [];
  let caller = input.CallerArn;
  let callerAccount: string | undefined;
  if (input.PolicySourceArn !== undefined) {
    const p = principalSources(dir, input.PolicySourceArn);
    identity.push(...p.sources);
    if (p.kind === 'user') caller ??= input.PolicySourceArn;
    callerAccount = p.accountId;
  }
  input.PolicyInputList?.forEach((text, i) => identity.push(source(`PolicyInputList.${i + 1}`, 'identity-based', `PolicyInputList.${i + 1}`, 'none', text)));
  const boundary = (input.PermissionsBoundaryPolicyInputList ?? []).map((text, i) =>
    source(`PermissionsBoundaryPolicyInputList.${i + 1}`, 'session', `PermissionsBoundaryPolicyInputList.${i + 1}`, 'none', text),
  );
  if (input.CallerArn !== undefined && !USER_ARN.test(input.CallerArn)) {
    throw new InvalidInput(`Invalid CallerArn ${input.CallerArn}: it must be the ARN of an IAM user.`);
  }
  let resourcePolicy: Source | undefined;
  if (input.ResourcePolicy !== undefined) {
    if (caller === undefined) throw new InvalidInput('CallerArn is required when a ResourcePolicy is given and PolicySourceArn is not an IAM user.');
    resourcePolicy = source('ResourcePolicy', 'resource-based', 'ResourcePolicy', 'resource', input.ResourcePolicy);
  }
  let owner: string | undefined;
  if (input.ResourceOwner !== undefined) {
    owner = ACCOUNT_ARN.exec(input.ResourceOwner)?.[1] ?? (/^\d{12}$/.test(input.ResourceOwner) ? input.ResourceOwner : undefined);
    if (owner === undefined) throw new InvalidInput(`Invalid ResourceOwner ${input.ResourceOwner}: it must be an account ARN, arn:aws:iam::ACCOUNT-ID:root.`);
  }
  callerAccount = (caller && accountOfArn(caller)) ?? callerAccount ?? dir.accountId();
  const principal: RequestContext['principal'] = { arn: caller ?? input.PolicySourceArn ?? `arn:aws:iam::${callerAccount}:root`, accountId: callerAccount };
  const keys = contextKeys(input.ContextEntries);
  const named = new Map<string, Source>([...identity, ...boundary, ...(resourcePolicy ? [resourcePolicy] : [])].map((s) => [s.policy.name, s]));
  const explicitResources = input.ResourceArns !== undefined && input.ResourceArns.length > 0 && !(input.ResourceArns.length === 1 && input.ResourceArns[0] === '*');
  // The simulation's sources, and the same without conditions (compiled once, for every action and resource).
  const sources = (map: (s: Source) => NamedPolicy): PolicySources => ({
    ...(resourcePolicy ? { resourcePolicy: map(resourcePolicy) } : {}),
    identityPolicies: identity.map(map),
    ...(boundary.length ? { sessionPolicies: boundary.map(map) } : {}),
    resourcePolicyRequired: false,
  });
  const policies = sources((s) => s.policy);
  const withoutConditions = sources(unconditioned);
  const results: EvaluationResult[] = [];
  for (const action of input.ActionNames) {
    for (const resource of input.ResourceArns?.length ? input.ResourceArns : ['*']) {
      const resourceAccount = accountOfArn(resource) ?? owner ?? callerAccount;
      const request: RequestContext = { action, resource, resourceAccount, principal, keys };
      const evaluation = evaluate(request, policies, { explain: true });
      const decision = toDecision(evaluation.decision);
      const matched = evaluation.trace.filter((t) => t.matched && (decision === 'explicitDeny' ? t.effect === 'Deny' : t.effect === 'Allow'));
      const MatchedStatements = matched.map((t) => matchedStatement(named.get(t.policy)!, t.index));
      const MissingContextValues = missingKeys(evaluate(request, withoutConditions, { explain: true }), named, keys);
      const crossAccount = resourceAccount !== principal.accountId;
      const details = crossAccount ? decisionDetails(evaluation) : explicitResources ? {} : undefined;
      const result: EvaluationResult = { EvalActionName: action, EvalResourceName: resource, EvalDecision: decision, MatchedStatements, MissingContextValues };
      if (details) result.EvalDecisionDetails = details;
      if (boundary.length) {
        result.PermissionsBoundaryDecisionDetail = { AllowedByPermissionsBoundary: evaluation.trace.some((t) => t.policyType === 'session' && t.matched && t.effect === 'Allow') && !evaluation.trace.some((t) => t.policyType === 'session' && t.matched && t.effect === 'Deny') };
      }
      // AWS reports the per-resource findings under ResourceSpecificResults when resources are named.
      if (explicitResources) {
        result.ResourceSpecificResults = [{ EvalResourceName: resource, EvalResourceDecision: decision, MatchedStatements, MissingContextValues, ...(details ? { EvalDecisionDetails: details } : {}) }];
      }
      results.push(result);
    }
  }
  return { EvaluationResults: results, IsTruncated: false };
}

function matchedStatement(s: Source, index: number): MatchedStatement {
  const out: MatchedStatement = { SourcePolicyId: s.id, SourcePolicyType: s.type };
  s.positions ??= statementPositions(s.text);
  const pos = s.positions[index];
  if (pos) {
    out.StartPosition = pos.start;
    out.EndPosition = pos.end;
  }
  return out;
}

/** Condition keys of the statements that would apply but for their conditions, absent from the request. */
function missingKeys(unconditionedEvaluation: Evaluation, named: Map<string, Source>, keys: Map<string, ConditionValue>): string[] {
  const given = new Set([...keys.keys()].map((k) => k.toLowerCase()));
  const missing = new Map<string, string>();
  for (const t of unconditionedEvaluation.trace) {
    if (!t.matched) continue;
    const st = named.get(t.policy)?.policy.document.statements[t.index];
    for (const byKey of st?.condition?.values() ?? []) {
      for (const key of byKey.keys()) {
        const lower = key.toLowerCase();
        if (!given.has(lower) && !missing.has(lower)) missing.set(lower, key);
      }
    }
  }
  return [...missing.values()];
}

/** Across accounts, what each side said: the caller's IAM policies and the resource's policy. */
function decisionDetails(e: Evaluation): Record<string, SimulationDecision> {
  const side = (types: readonly string[]): SimulationDecision => {
    const applying = e.trace.filter((t) => types.includes(t.policyType) && t.matched);
    return applying.some((t) => t.effect === 'Deny') ? 'explicitDeny' : applying.some((t) => t.effect === 'Allow') ? 'allowed' : 'implicitDeny';
  };
  return { 'IAM Policy': side(['identity-based']), 'Resource Policy': side(['resource-based']) };
}
