// Reading ARNs (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`): the one place that knows where the account is; and the name of AWS's own EBS role, which IAM, KMS and EC2 all spell.

/** The account an ARN names (its fifth field, 12 digits), if it names one. */
export function accountOfArn(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account && /^\d{12}$/.test(account) ? account : undefined;
}

/** The service role whose per-instance sessions decrypt EBS data keys (the seed's Decrypt caller); KMS's grant checks name it too. */
export const EC2_INFRASTRUCTURE_ROLE = 'aws:ec2-infrastructure';
