// Reading ARNs (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`): the one place that knows where the account is.

/** The account an ARN names (its fifth field, 12 digits), if it names one. */
export function accountOfArn(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}
