import { type ActionIndex, loadCatalog } from '@onramp/core';
import { describe, expect, it } from 'vitest';
import {
  diffGrants,
  grantsOf,
  trimmedFrom,
  wantedBundles,
  withVerification,
} from './permission-grants.ts';

/** A tiny action list, so a catalog can be written inline and changed per test. */
const ACTIONS: ActionIndex = {
  async actionsOf(prefix) {
    const known: Record<string, string[]> = {
      ec2: ['DescribeInstances', 'DescribeInstanceTopology', 'RunInstances', 'TerminateInstances'],
      s3: ['GetObject', 'ListBucket'],
      iam: ['PassRole', 'ListInstanceProfiles'],
    };
    return known[prefix];
  },
};

function catalogText(nodes: string[], options: { storageDefault?: boolean } = {}): string {
  return `version: 1
platform: Test
products:
  - id: product
    name: P
    description: P.
    bundles:
      - id: nodes
        name: Nodes
        description: Nodes.
        default: true
        statements:
          - actions: [${nodes.join(', ')}]
      - id: storage
        name: Storage
        description: Storage.
        default: ${options.storageDefault ? 'true' : 'false'}
        statements:
          - actions: [s3:GetObject]
            resources: ["arn:{{partition}}:s3:::bucket/*"]
          - principal: user
            actions: [s3:ListBucket]
`;
}

const load = (text: string) => loadCatalog(text, { actions: ACTIONS });

describe('permission grants', () => {
  it('records per bundle the actions as written for the principal, with a hash that follows the statements', async () => {
    const before = await load(catalogText(['ec2:DescribeInstances', 'ec2:Run*']));
    const role = grantsOf(before, ['storage', 'nodes'], 'role');
    expect(Object.keys(role)).toEqual(['nodes', 'storage']);
    expect(role.nodes?.actions).toEqual(['ec2:DescribeInstances', 'ec2:Run*']);
    expect(role.storage?.actions).toEqual(['s3:GetObject']);
    expect(grantsOf(before, ['storage'], 'user').storage?.actions).toEqual([
      's3:GetObject',
      's3:ListBucket',
    ]);
    // The same catalog loaded again hashes the same; the order of actions does not matter.
    const again = await load(catalogText(['ec2:Run*', 'ec2:DescribeInstances']));
    expect(grantsOf(again, ['nodes'], 'role').nodes?.hash).toBe(role.nodes?.hash);
  });

  it('diffs exactly what was added and removed, per bundle, and nothing for unchanged bundles', async () => {
    const before = await load(catalogText(['ec2:DescribeInstances', 'ec2:RunInstances']));
    const after = await load(
      catalogText(['ec2:DescribeInstances', 'ec2:DescribeInstanceTopology']),
    );
    const granted = grantsOf(before, ['nodes', 'storage'], 'role');
    expect(diffGrants(granted, grantsOf(after, ['nodes', 'storage'], 'role'))).toEqual([
      { bundle: 'nodes', add: ['ec2:DescribeInstanceTopology'], remove: ['ec2:RunInstances'] },
    ]);
    expect(diffGrants(granted, grantsOf(before, ['nodes', 'storage'], 'role'))).toEqual([]);
  });

  it('lists a bundle whose resources changed with no action added or removed', async () => {
    const before = await load(catalogText(['ec2:DescribeInstances']));
    const after = await load(
      catalogText(['ec2:DescribeInstances']).replace('bucket/*', 'other-bucket/*'),
    );
    expect(
      diffGrants(grantsOf(before, ['storage'], 'role'), grantsOf(after, ['storage'], 'role')),
    ).toEqual([{ bundle: 'storage', add: [], remove: [] }]);
  });

  it('follows the defaults for accounts that chose them, and drops bundles the catalog lost', async () => {
    const after = await load(catalogText(['ec2:DescribeInstances'], { storageDefault: true }));
    const account = { partition: 'aws' as const, bundles: ['nodes'] };
    expect(wantedBundles(after, { ...account, bundleChoice: 'default' })).toEqual([
      'nodes',
      'storage',
    ]);
    expect(wantedBundles(after, { ...account, bundleChoice: 'custom' })).toEqual(['nodes']);
    expect(
      wantedBundles(after, { ...account, bundles: ['nodes', 'gone'], bundleChoice: 'custom' }),
    ).toEqual(['nodes']);
    const granted = grantsOf(after, ['nodes', 'gone'], 'role');
    expect(diffGrants(granted, grantsOf(after, ['nodes', 'storage'], 'role'))).toEqual([
      { bundle: 'storage', add: ['s3:GetObject'], remove: [] },
    ]);
  });

  it('no longer wants a bundle moved to partitions the account is not in', async () => {
    const moved = await load(
      catalogText(['ec2:DescribeInstances']).replace(
        '        default: false\n',
        '        default: false\n        partitions: [aws]\n',
      ),
    );
    const gov = { partition: 'aws-us-gov' as const, bundles: ['nodes', 'storage'] };
    for (const bundleChoice of ['custom', 'default', 'all'] as const)
      expect(wantedBundles(moved, { ...gov, bundleChoice })).toEqual(['nodes']);
    expect(wantedBundles(moved, { ...gov, partition: 'aws', bundleChoice: 'custom' })).toEqual([
      'nodes',
      'storage',
    ]);
  });

  it('wants exactly the defaults in a partition whose bundles cannot be chosen, whatever the choice', async () => {
    const fixed = (storageDefault: boolean) =>
      load(
        `${catalogText(['ec2:DescribeInstances'], { storageDefault })}partitions:\n  aws-cn:\n    customizable: false\n`,
      );
    const before = await fixed(false);
    const after = await fixed(true);
    const cn = { partition: 'aws-cn' as const, bundles: ['nodes'] };
    for (const bundleChoice of ['custom', 'default', 'all'] as const) {
      expect(wantedBundles(before, { ...cn, bundleChoice })).toEqual(['nodes']);
      expect(wantedBundles(after, { ...cn, bundleChoice })).toEqual(['nodes', 'storage']);
      // A default dropped since is dropped from the account too.
      expect(wantedBundles(before, { ...cn, bundles: ['nodes', 'storage'], bundleChoice })).toEqual(
        ['nodes'],
      );
    }
  });

  it('calls missing actions trimmed only where the grant covered them and a check had proven it', async () => {
    const catalog = await load(catalogText(['ec2:Describe*']));
    const findings = [
      {
        bundleId: 'nodes',
        bundleName: 'Nodes',
        missing: ['ec2:DescribeInstances', 'ec2:RunInstances'],
        deniedByScp: [],
      },
    ];
    const proven = withVerification(grantsOf(catalog, ['nodes'], 'role'), [], true);
    expect(trimmedFrom(proven, findings)).toEqual([
      { bundle: 'nodes', actions: ['ec2:DescribeInstances'] },
    ]);
    // Saved degraded with those actions missing: they were never there, so not trimmed.
    const savedDegraded = withVerification(grantsOf(catalog, ['nodes'], 'role'), findings, true);
    expect(savedDegraded.nodes?.verified).toBe(false);
    expect(trimmedFrom(savedDegraded, findings)).toEqual([]);
    expect(trimmedFrom(null, findings)).toEqual([]);
  });
});
