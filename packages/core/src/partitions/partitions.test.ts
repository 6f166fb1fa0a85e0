import { partition as sdkPartition } from '@aws-sdk/util-endpoints';
import { describe, expect, it } from 'vitest';
// The generator reads the installed SDK; comparing guards against a stale committed table.
import { readSdkPartitions } from '../../../../scripts/sync-partitions.mjs';
import generated from './partitions.generated.json' with { type: 'json' };
import {
  findPartitionOfRegion,
  getPartition,
  listPartitions,
  PARTITION_IDS,
  parsePartitionId,
  parseRegion,
  stsEndpoint,
} from './partitions.ts';

describe('partitions', () => {
  it('matches what the installed AWS SDK says (run `npm run sync:partitions` after an SDK upgrade)', async () => {
    expect(await readSdkPartitions()).toEqual(generated);
  });

  it('has the three partitions with their ARN prefixes, consoles and default regions', () => {
    expect(
      listPartitions().map((p) => [p.id, p.arnPrefix, p.consoleHost, p.defaultRegion]),
    ).toEqual([
      ['aws', 'arn:aws', 'console.aws.amazon.com', 'us-east-1'],
      ['aws-us-gov', 'arn:aws-us-gov', 'console.amazonaws-us-gov.com', 'us-gov-west-1'],
      ['aws-cn', 'arn:aws-cn', 'console.amazonaws.cn', 'cn-north-1'],
    ]);
  });

  it('lists the GovCloud and China regions', () => {
    expect(getPartition('aws-us-gov').regions.map((r) => r.id)).toEqual([
      'us-gov-east-1',
      'us-gov-west-1',
    ]);
    expect(getPartition('aws-cn').regions.map((r) => r.id)).toEqual([
      'cn-north-1',
      'cn-northwest-1',
    ]);
    expect(getPartition('aws').regions.length).toBeGreaterThan(30);
  });

  const allRegions = PARTITION_IDS.flatMap((p) =>
    getPartition(p).regions.map((r) => [p, r.id] as const),
  );

  it.each(allRegions)('%s owns %s, as the SDK resolves it', (partitionId, region) => {
    expect(findPartitionOfRegion(region)?.id).toBe(partitionId);
    expect(sdkPartition(region).name).toBe(partitionId);
  });

  it.each(allRegions.filter(([p]) => p !== 'aws'))(
    '%s region %s never yields a commercial endpoint or arn:aws',
    (partitionId, region) => {
      const p = getPartition(partitionId);
      const endpoint = stsEndpoint(partitionId, region);
      expect(endpoint).toBe(`https://sts.${region}.${p.dnsSuffix}`);
      expect(p.iam.endpoint).not.toBe('https://iam.amazonaws.com');
      expect(p.arnPrefix).not.toBe('arn:aws');
      expect(p.consoleHost).not.toBe('console.aws.amazon.com');
      expect(p.iam.signingRegion.startsWith(partitionId === 'aws-cn' ? 'cn-' : 'us-gov-')).toBe(
        true,
      );
    },
  );

  it('signs IAM in the partition’s own global region', () => {
    expect(getPartition('aws').iam).toEqual({
      endpoint: 'https://iam.amazonaws.com',
      signingRegion: 'us-east-1',
    });
    expect(getPartition('aws-us-gov').iam).toEqual({
      endpoint: 'https://iam.us-gov.amazonaws.com',
      signingRegion: 'us-gov-west-1',
    });
    expect(getPartition('aws-cn').iam).toEqual({
      endpoint: 'https://iam.cn-north-1.amazonaws.com.cn',
      signingRegion: 'cn-north-1',
    });
  });

  it('does not guess the partition of an unknown region (the SDK answers aws)', () => {
    expect(sdkPartition('us-gov-nowhere-9').name).toBe('aws-us-gov');
    expect(findPartitionOfRegion('us-gov-nowhere-9')).toBeUndefined();
    expect(findPartitionOfRegion('eu-nowhere-1')).toBeUndefined();
    expect(() => stsEndpoint('aws-cn', 'eu-west-1')).toThrow(/not a region of aws-cn/);
  });

  it('explains a region in the wrong partition, and an unknown one', () => {
    const wrong = parseRegion('aws-us-gov', 'us-east-1', 'regions[0]');
    expect(wrong).toMatchObject({
      ok: false,
      issue: { field: 'regions[0]', code: 'region_not_in_partition' },
    });
    expect(!wrong.ok && wrong.issue.message).toContain('is in AWS, not in AWS GovCloud (US)');
    expect(!wrong.ok && wrong.issue.hint).toContain('us-gov-west-1');
    expect(parseRegion('aws', 'eu-wst-1')).toMatchObject({
      ok: false,
      issue: { code: 'unknown_region' },
    });
    expect(parseRegion('aws', 'eu-west-1')).toEqual({ ok: true, value: 'eu-west-1' });
  });

  it('parses partition ids', () => {
    expect(parsePartitionId('aws-cn')).toEqual({ ok: true, value: 'aws-cn' });
    expect(parsePartitionId('aws-gov')).toMatchObject({
      ok: false,
      issue: { field: 'partition', code: 'unknown_partition' },
    });
    expect(parsePartitionId(undefined)).toMatchObject({ ok: false, issue: { code: 'required' } });
  });
});
