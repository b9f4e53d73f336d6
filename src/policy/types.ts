// The policy domain's contract: documents (key policies, identity policies, trust policies,
// session policies) and the request they are evaluated against. Pure: no store, no service.
// Evaluation follows AWS's "Policy evaluation logic" (IAM User Guide) and, for KMS, "Determining
// access to an AWS KMS key" (KMS Developer Guide).

/** Which kind of document: it decides the grammar (a resource policy names a Principal, an identity policy must not). */
export type PolicyKind = 'key' | 'trust' | 'identity' | 'session';

/** A principal block: `"*"` or `{ AWS: [...], Service: [...], Federated: [...] }`, values as written. */
export type PrincipalBlock = '*' | ReadonlyMap<string, readonly string[]>;

/** Condition block: operator (as written, e.g. "ForAnyValue:StringLikeIfExists") → condition key (as written) → values. */
export type ConditionBlock = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

export interface Statement {
  /** Position in the document's Statement list (0-based), for explanations. */
  index: number;
  sid?: string;
  effect: 'Allow' | 'Deny';
  principal?: PrincipalBlock;
  notPrincipal?: PrincipalBlock;
  action?: readonly string[];
  notAction?: readonly string[];
  resource?: readonly string[];
  notResource?: readonly string[];
  condition?: ConditionBlock;
}

export interface PolicyDocument {
  version: '2012-10-17' | '2008-10-17';
  id?: string;
  statements: readonly Statement[];
}

/** A document as a source of a decision: where it came from names it in explanations and messages. */
export interface NamedPolicy {
  /** e.g. "key policy of arn:aws:kms:…", "AdministratorAccess (attached to user Alice)", "inline policy s3 of role R". */
  name: string;
  type: 'resource-based' | 'identity-based' | 'session';
  document: PolicyDocument;
}

/** A condition value as IAM sees it: always strings (booleans "true"/"false", numbers, dates in ISO 8601). */
export type ConditionValue = string | readonly string[];

/** The request being decided. */
export interface RequestContext {
  /** "kms:Decrypt", "sts:AssumeRole". */
  action: string;
  /** The resource ARN ("*" for actions on no particular resource, such as kms:CreateKey). */
  resource: string;
  /** The account that owns the resource (for a key: the key's account). */
  resourceAccount: string;
  principal: {
    /** The caller's ARN: a user ARN or an assumed-role session ARN (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION). */
    arn: string;
    accountId: string;
    /** For a session, the role's ARN: a resource policy naming the role matches its sessions. */
    roleArn?: string;
    /** Service principal ("ec2.amazonaws.com") when a service calls as itself. */
    service?: string;
  };
  /**
   * Condition keys with their values, keys compared case-insensitively (aws:SourceIp, kms:ViaService,
   * kms:EncryptionContext:aws:ebs:id…). A key absent here is absent from the request.
   */
  keys: ReadonlyMap<string, ConditionValue>;
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** Why one statement did or did not apply: the explanation users see with --explain. */
export interface StatementTrace {
  policy: string;
  policyType: NamedPolicy['type'];
  index: number;
  sid?: string;
  effect: 'Allow' | 'Deny';
  matched: boolean;
  /**
   * For an applying resource-policy statement: whether it named the caller itself ("principal":
   * "*", its ARN, its role, its service) or only the caller's account ("account", which needs an
   * identity policy's Allow too). Optional, added by the engine.
   */
  principalMatch?: 'principal' | 'account';
  /** One line per element checked, e.g. "Action: kms:Decrypt matches kms:*", "Condition StringEquals kms:ViaService: request has (absent), policy wants ec2.us-east-1.amazonaws.com". */
  reasons: string[];
}

export interface Evaluation {
  decision: Decision;
  /** For a denial: which kind of policy AWS's AccessDenied message names. */
  deniedBy?: { kind: 'explicit' | 'implicit'; policyType: NamedPolicy['type'] };
  trace: StatementTrace[];
}

/** The identity-side documents of a principal, as a service's authorization reads them (IAM supplies them). */
export interface PrincipalPolicies {
  identityPolicies: readonly NamedPolicy[];
  /** Present when the principal is a session started with a session policy: its permissions are the intersection. */
  sessionPolicies?: readonly NamedPolicy[];
}

/** Where a service finds a principal's identity policies (the IAM directory), without depending on IAM's stores. */
export interface IdentityPolicySource {
  policiesOf(principal: import('../core/call-context.js').Principal): PrincipalPolicies;
}
