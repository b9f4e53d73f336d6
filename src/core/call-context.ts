// Who makes a call, and how: the principal (an IAM user or an assumed-role session) and the
// circumstances CloudTrail records (source IP, user agent, a service acting on its behalf).

export interface SessionIssuer {
  type: 'Role';
  principalId: string;
  arn: string;
  accountId: string;
  userName: string;
}

export interface Principal {
  type: 'IAMUser' | 'AssumedRole';
  arn: string;
  principalId: string;
  accountId: string;
  /** The access key the call was signed with ("" for AWS-internal sessions, as in the seed). */
  accessKeyId: string;
  /** IAM user name (IAMUser) or session name (AssumedRole): CloudTrail's "Username". */
  name: string;
  /** When the credentials' session began (sessionContext.attributes.creationDate). */
  sessionCreationDate: string;
  sessionIssuer?: SessionIssuer;
}

export interface CallContext {
  principal: Principal;
  region: string;
  sourceIPAddress: string;
  /** Omitted from the record when undefined, as AWS does for the EC2 host's Decrypt in the seed. */
  userAgent?: string;
  /** Set when a service calls on the principal's behalf: "AWS Internal" in the seed. */
  invokedBy?: string;
  /** The kms:ViaService condition value, e.g. "ec2.us-east-1.amazonaws.com". */
  viaService?: string;
  /**
   * Set by `--explain`: told of every authorization decision made for this call, in words (each
   * policy statement and grant, matched or not, and why). ebsim's extra: never recorded.
   */
  explain?: (decision: { action: string; resource: string; allowed: boolean; text: string }) => void;
  /**
   * Told how far a long copy the call makes has gone (a snapshot's or volume's image): the CLI
   * draws a progress bar from it on a terminal. ebsim's extra, like `explain`: never recorded.
   */
  progress?: (p: { resourceId: string; done: number; total: number }) => void;
  /** Shared with an enclosing call (CreateGrant inside RunInstances shares its requestID). */
  requestId?: string;
  /** Whether the request came over TLS (aws:SecureTransport). Undefined: an in-process call, which crosses no network (counted as secure). */
  secureTransport?: boolean;
}

export const CLI_USER_AGENT = `ebsim-cli/0.1.0 Node.js/${process.versions.node}`;

/** A context for a principal calling directly from this machine's CLI. */
export function directCall(principal: Principal, region: string, userAgent = CLI_USER_AGENT): CallContext {
  return { principal, region, sourceIPAddress: '127.0.0.1', userAgent };
}

/** A context for a service (EC2) acting on the caller's behalf: the seed's "AWS Internal" records. */
export function onBehalfOf(ctx: CallContext, service: string, requestId?: string): CallContext {
  return {
    principal: ctx.principal,
    region: ctx.region,
    sourceIPAddress: 'AWS Internal',
    userAgent: 'AWS Internal',
    invokedBy: 'AWS Internal',
    viaService: `${service}.${ctx.region}.amazonaws.com`,
    explain: ctx.explain,
    requestId,
  };
}
