// The one error of the policy domain. The services map it to their own AWS error:
// KMS MalformedPolicyDocumentException, IAM MalformedPolicyDocument.

/**
 * A document that is not a policy of its kind. `message` is AWS's own wording where it is
 * documented ("Policy statement must contain actions."); AWS's messages are often terse
 * ("Syntax errors in policy."), so `detail` says exactly what is wrong, for logs and --explain.
 */
export class PolicySyntaxError extends Error {
  override readonly name = 'PolicySyntaxError';
  readonly detail: string;
  constructor(message: string, detail?: string) {
    super(message);
    this.detail = detail ?? message;
  }
}
