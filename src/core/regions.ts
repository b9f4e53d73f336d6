// AWS's commercial Regions (the `aws` partition): every one of them exists in each account of a
// home. The list is the AWS SDK for JavaScript's partition table (@aws-sdk/core's
// util-endpoints partitions.js, partition "aws", without its "aws-global" pseudo-Region); China,
// GovCloud, the ISO partitions and the European Sovereign Cloud are other partitions, not modelled.

export const COMMERCIAL_REGIONS: readonly string[] = [
  'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7',
  'ca-central-1', 'ca-west-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2',
  'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'me-west-1', 'mx-central-1', 'sa-east-1', 'sa-west-1', 'us-east-1',
  'us-east-2', 'us-west-1', 'us-west-2',
];

const REGIONS = new Set(COMMERCIAL_REGIONS);

export function isCommercialRegion(region: string): boolean {
  return REGIONS.has(region);
}
