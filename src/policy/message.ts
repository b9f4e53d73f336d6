// AWS's AccessDenied wording (IAM User Guide, "Troubleshoot access denied error messages"):
// "User: ARN is not authorized to perform: ACTION on resource: RES because no TYPE policy allows
// the ACTION action" for an implicit deny, "... with an explicit deny in a TYPE policy" for an
// explicit one, TYPE being "identity-based", "resource-based" or "session".
import type { Evaluation } from './types.js';

const ARTICLE: Record<string, string> = { 'identity-based': 'an', 'resource-based': 'a', session: 'a' };

export function accessDeniedMessage(principalArn: string, action: string, resource: string, evaluation: Evaluation): string {
  const head = `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource}`;
  const by = evaluation.deniedBy ?? { kind: 'implicit', policyType: 'identity-based' as const };
  return by.kind === 'explicit'
    ? `${head} with an explicit deny in ${ARTICLE[by.policyType]} ${by.policyType} policy`
    : `${head} because no ${by.policyType} policy allows the ${action} action`;
}
