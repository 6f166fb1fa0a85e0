/**
 * Which partition a SigV4 credential scope's region belongs to. Written independently of
 * `@onramp/core` on purpose: a test double that shared the code under test's region table would agree
 * with its mistakes.
 */

export type PartitionId = 'aws' | 'aws-us-gov' | 'aws-cn';

export const PARTITIONS: readonly PartitionId[] = ['aws', 'aws-us-gov', 'aws-cn'];

/** The region IAM (a global service) signs in, per partition. */
export const IAM_SIGNING_REGION: Readonly<Record<PartitionId, string>> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-north-1',
};

const COMMERCIAL_PREFIXES = ['us', 'eu', 'ap', 'sa', 'ca', 'me', 'af', 'il', 'mx'];

/** The partition of a region name, or undefined for a name no partition served here owns. */
export function partitionOfRegion(region: string): PartitionId | undefined {
  if (/^us-gov-[a-z]+-\d+$/.test(region)) return 'aws-us-gov';
  if (/^cn-[a-z]+-\d+$/.test(region)) return 'aws-cn';
  const match = /^([a-z]{2})-[a-z]+-\d+$/.exec(region);
  if (match && COMMERCIAL_PREFIXES.includes(match[1] ?? '')) return 'aws';
  return undefined;
}

export function isPartitionId(value: string): value is PartitionId {
  return (PARTITIONS as readonly string[]).includes(value);
}
