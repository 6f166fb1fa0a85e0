import { describe, expect, it } from 'vitest';
import { exampleRoleArn, parseRoleArn } from './identifiers.ts';
import { PARTITION_IDS } from './partitions/partitions.ts';

describe.each(PARTITION_IDS)('role ARN hints in %s', (partition) => {
  it('shows an example in the partition’s own ARN prefix', () => {
    expect(exampleRoleArn(partition, 'OnrampRole')).toBe(
      `arn:${partition}:iam::123456789012:role/OnrampRole`,
    );
    for (const given of ['not an arn', `arn:${partition}:s3:::bucket`]) {
      const parsed = parseRoleArn(given, { partition });
      expect(parsed.ok).toBe(false);
      if (parsed.ok) continue;
      expect(parsed.issue.hint).toContain(`arn:${partition}:iam::123456789012:role/Name`);
      if (partition !== 'aws') expect(parsed.issue.hint).not.toContain('arn:aws:');
    }
  });
});
