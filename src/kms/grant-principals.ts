// Who a grant may name (CreateGrant's GranteePrincipal and RetiringPrincipal): a principal that
// exists. AWS refuses one it cannot find with InvalidArnException, "ARN does not refer to a valid
// principal: ARN" (the words KMS returns, as Lambda relays them when its CreateGrant for a role
// not yet propagated fails; Terraform's aws_kms_grant retries CreateGrant on that exception for
// the same reason). ebsim knows only the principals of its home, so a principal of an account the
// home does not hold does not exist here.
import { InvalidArnException } from '../errors/index.js';
import { EC2_INFRASTRUCTURE_ROLE } from '../core/arn.js';

/** The part of the IAM directory this check reads. */
export interface PrincipalDirectory {
  accountById(accountId: string): unknown;
  /** A user or role of the home, by its ARN or its unique ID. */
  hasPrincipal(arnOrId: string): boolean;
}

// Service principals are left as they were: AWS's services are not principals of the home.
const SERVICE = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/;
const IAM = /^arn:aws:iam::(\d{12}):(root|user\/.+|role\/.+)$/;
const STS = /^arn:aws:sts::(\d{12}):(assumed-role\/(.+)\/[^/]+|federated-user\/.+)$/;
// The EBS infrastructure's sessions, named as the seed names them ("ACCOUNT:aws:ec2-infrastructure:i-…").
const EC2_INFRASTRUCTURE = new RegExp(`^(\\d{12}):${EC2_INFRASTRUCTURE_ROLE}:.+$`);
// A user's unique ID (AIDA…), or a role's (AROA…) with or without a session name after a colon.
const UNIQUE_ID = /^(?:(AIDA[A-Z0-9]+)|(AROA[A-Z0-9]+)(?::.+)?)$/;

/** Refuses, in AWS's words, a grant principal the home does not hold. */
export function assertGrantPrincipal(directory: PrincipalDirectory, principal: string): void {
  if (!grantPrincipalExists(directory, principal)) throw new InvalidArnException(`ARN does not refer to a valid principal: ${principal}`);
}

export function grantPrincipalExists(directory: PrincipalDirectory, principal: string): boolean {
  if (SERVICE.test(principal)) return true;
  const hasAccount = (id: string) => directory.accountById(id) !== undefined;
  const iam = IAM.exec(principal);
  if (iam) {
    const [, account, resource] = iam as unknown as [string, string, string];
    if (!hasAccount(account)) return false;
    return resource === 'root' || resource === `role/${EC2_INFRASTRUCTURE_ROLE}` || directory.hasPrincipal(principal);
  }
  const sts = STS.exec(principal);
  if (sts) {
    const [, account, , role] = sts as unknown as [string, string, string, string | undefined];
    if (!hasAccount(account)) return false;
    // A session exists while its role does; a federated user is the account's.
    return role === undefined || role === EC2_INFRASTRUCTURE_ROLE || directory.hasPrincipal(`arn:aws:iam::${account}:role/${role}`);
  }
  const infra = EC2_INFRASTRUCTURE.exec(principal);
  if (infra) return hasAccount(infra[1]!);
  const id = UNIQUE_ID.exec(principal);
  if (id) return directory.hasPrincipal((id[1] ?? id[2])!);
  return false;
}
