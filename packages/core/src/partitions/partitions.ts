import { fail, ok, type Result } from '../errors.ts';
import sdkData from './partitions.generated.json' with { type: 'json' };

export const PARTITION_IDS = ['aws', 'aws-us-gov', 'aws-cn'] as const;
export type PartitionId = (typeof PARTITION_IDS)[number];

export interface Region {
  id: string;
  description: string;
  /** The regional STS endpoint. Onramp never uses the global sts.amazonaws.com endpoint. */
  stsEndpoint: string;
}

export interface Partition {
  id: PartitionId;
  /** How people name it in consoles and documentation. */
  displayName: string;
  /** `arn:aws`, `arn:aws-us-gov` or `arn:aws-cn`. */
  arnPrefix: string;
  dnsSuffix: string;
  /** Where global services (IAM) sign their requests, and the region used when none is chosen. */
  defaultRegion: string;
  regions: readonly Region[];
  iam: { endpoint: string; signingRegion: string };
  /** Host of the AWS Management Console, used for quick-create links. */
  consoleHost: string;
  /** Host of the federation endpoint that turns a session into a console sign-in URL. */
  signinHost: string;
  /** The account that owns AWS managed policies: `arn:<partition>:iam::aws:policy/...`. */
  awsManagedPolicyPrefix: string;
}

/**
 * What the SDK's data does not carry: names people recognise and the console hosts. These hosts are
 * documented per partition by AWS and have not changed since the partitions were created.
 */
const CONSOLE: Record<
  PartitionId,
  { displayName: string; consoleHost: string; signinHost: string }
> = {
  aws: {
    displayName: 'AWS',
    consoleHost: 'console.aws.amazon.com',
    signinHost: 'signin.aws.amazon.com',
  },
  'aws-us-gov': {
    displayName: 'AWS GovCloud (US)',
    consoleHost: 'console.amazonaws-us-gov.com',
    signinHost: 'signin.amazonaws-us-gov.com',
  },
  'aws-cn': {
    displayName: 'AWS China',
    consoleHost: 'console.amazonaws.cn',
    signinHost: 'signin.amazonaws.cn',
  },
};

function buildPartitions(): ReadonlyMap<PartitionId, Partition> {
  const map = new Map<PartitionId, Partition>();
  for (const entry of sdkData) {
    const id = entry.id as PartitionId;
    const extra = CONSOLE[id];
    map.set(id, {
      id,
      displayName: extra.displayName,
      arnPrefix: `arn:${id}`,
      dnsSuffix: entry.dnsSuffix,
      defaultRegion: entry.iam.signingRegion,
      regions: entry.regions,
      iam: entry.iam,
      consoleHost: extra.consoleHost,
      signinHost: extra.signinHost,
      awsManagedPolicyPrefix: `arn:${id}:iam::aws:policy/`,
    });
  }
  return map;
}

const PARTITIONS = buildPartitions();
const REGION_TO_PARTITION: ReadonlyMap<string, Partition> = new Map(
  [...PARTITIONS.values()].flatMap((p) => p.regions.map((r) => [r.id, p] as const)),
);

export function isPartitionId(value: unknown): value is PartitionId {
  return typeof value === 'string' && (PARTITION_IDS as readonly string[]).includes(value);
}

export function listPartitions(): Partition[] {
  return PARTITION_IDS.map(getPartition);
}

export function getPartition(id: PartitionId): Partition {
  const p = PARTITIONS.get(id);
  // The generated data is checked against PARTITION_IDS by a test; reaching this is a packaging bug.
  if (!p) throw new Error(`partition data for ${id} is missing`);
  return p;
}

export function parsePartitionId(value: unknown, field = 'partition'): Result<PartitionId> {
  if (value === undefined || value === null || value === '') {
    return fail(field, 'required', 'Choose a partition.', `One of: ${PARTITION_IDS.join(', ')}.`);
  }
  if (!isPartitionId(value)) {
    return fail(
      field,
      'unknown_partition',
      `"${String(value)}" is not an AWS partition Onramp supports.`,
      `Use one of: ${PARTITION_IDS.join(', ')}.`,
    );
  }
  return ok(value);
}

/**
 * The partition a region belongs to, or undefined for a region AWS does not list. Unlike the SDK's
 * `partition()`, which answers `aws` for any unknown name, this never guesses: a typo must not send a
 * GovCloud account's traffic to a commercial endpoint.
 */
export function findPartitionOfRegion(region: string): Partition | undefined {
  return REGION_TO_PARTITION.get(region);
}

export function getRegion(partition: PartitionId, region: string): Region | undefined {
  return getPartition(partition).regions.find((r) => r.id === region);
}

/** Checks that a region exists and belongs to the given partition. */
export function parseRegion(
  partition: PartitionId,
  value: unknown,
  field = 'region',
): Result<string> {
  if (typeof value !== 'string' || value === '') return fail(field, 'required', 'Enter a region.');
  const owner = findPartitionOfRegion(value);
  if (!owner) {
    return fail(
      field,
      'unknown_region',
      `"${value}" is not an AWS region.`,
      `Regions in ${getPartition(partition).displayName}: ${regionIds(partition).join(', ')}.`,
    );
  }
  if (owner.id !== partition) {
    return fail(
      field,
      'region_not_in_partition',
      `${value} is in ${owner.displayName}, not in ${getPartition(partition).displayName}.`,
      `Regions in ${getPartition(partition).displayName}: ${regionIds(partition).join(', ')}.`,
    );
  }
  return ok(value);
}

export function regionIds(partition: PartitionId): string[] {
  return getPartition(partition).regions.map((r) => r.id);
}

/** The regional STS endpoint of a region; throws for a region outside the partition. */
export function stsEndpoint(partition: PartitionId, region?: string): string {
  const id = region ?? getPartition(partition).defaultRegion;
  const r = getRegion(partition, id);
  if (!r) throw new Error(`${id} is not a region of ${partition}`);
  return r.stsEndpoint;
}
