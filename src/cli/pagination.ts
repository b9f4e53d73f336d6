// The AWS CLI pages through list operations by itself: it calls again with the last response's
// token until there is none, and prints the items of every page under their key, without the
// token or the truncation flag (botocore's PageIterator.build_full_result). Naming the input
// token or the page size (--marker, --limit, --next-token, --max-results…) turns that off and
// prints the one page, token and all. The paginators are AWS's own (botocore
// data/{kms,ec2,iam,cloudtrail}/*/paginators-1.json), for the operations ebsim declares.

export interface Paginator {
  inputToken: string;
  outputToken: string;
  limitKey: string;
  resultKey: string;
}

const kms = (resultKey: string): Paginator => ({ inputToken: 'Marker', outputToken: 'NextMarker', limitKey: 'Limit', resultKey });
const ec2 = (resultKey: string): Paginator => ({ inputToken: 'NextToken', outputToken: 'NextToken', limitKey: 'MaxResults', resultKey });
const iam = (resultKey: string): Paginator => ({ inputToken: 'Marker', outputToken: 'Marker', limitKey: 'MaxItems', resultKey });

function table(entries: [string, Paginator][]): ReadonlyMap<string, Paginator> {
  return new Map(entries);
}

export const KMS_PAGINATORS = table([
  ['ListKeys', kms('Keys')],
  ['ListAliases', kms('Aliases')],
  ['ListGrants', kms('Grants')],
  ['ListRetirableGrants', kms('Grants')],
  ['ListKeyPolicies', kms('PolicyNames')],
  ['ListResourceTags', kms('Tags')],
  ['DescribeCustomKeyStores', kms('CustomKeyStores')],
]);

export const EC2_PAGINATORS = table([
  ['DescribeInstances', ec2('Reservations')],
  ['DescribeVolumes', ec2('Volumes')],
  ['DescribeSnapshots', ec2('Snapshots')],
]);

export const IAM_PAGINATORS = table([
  ['ListUsers', iam('Users')],
  ['ListRoles', iam('Roles')],
  ['ListUserPolicies', iam('PolicyNames')],
  ['ListRolePolicies', iam('PolicyNames')],
  ['ListPolicies', iam('Policies')],
  ['ListPolicyVersions', iam('Versions')],
  ['ListAttachedUserPolicies', iam('AttachedPolicies')],
  ['ListAttachedRolePolicies', iam('AttachedPolicies')],
  ['SimulatePrincipalPolicy', iam('EvaluationResults')],
  ['SimulateCustomPolicy', iam('EvaluationResults')],
]);

export const CLOUDTRAIL_PAGINATORS = table([['LookupEvents', { inputToken: 'NextToken', outputToken: 'NextToken', limitKey: 'MaxResults', resultKey: 'Events' }]]);

/** More pages than any home holds: a service that keeps answering with a token is a bug, not a loop. */
const MAX_PAGES = 100_000;

/**
 * Calls `call` page after page, as the AWS CLI does, unless the caller named the token or the page
 * size (then one call, printed as it came). The merged result holds only the items.
 */
export async function allPages(p: Paginator | undefined, params: Record<string, unknown>, call: (params: Record<string, unknown>) => unknown): Promise<unknown> {
  if (!p || params[p.inputToken] !== undefined || params[p.limitKey] !== undefined) return call(params);
  const items: unknown[] = [];
  let token: unknown;
  for (let page = 0; page < MAX_PAGES; page++) {
    const response = (await call(token === undefined ? params : { ...params, [p.inputToken]: token })) as Record<string, unknown>;
    const got = response?.[p.resultKey];
    if (Array.isArray(got)) items.push(...got);
    token = response?.[p.outputToken];
    if (token === undefined || token === null || token === '') return { [p.resultKey]: items };
  }
  throw new Error(`${p.resultKey}: still a ${p.outputToken} after ${MAX_PAGES} pages`);
}
