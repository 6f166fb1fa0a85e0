import { policyPreviewResponseSchema } from '@onramp/contracts';
import { describe, expect, it } from 'vitest';
import type { PrintedPolicy } from './policy-command.ts';
import { type CliRun, collectStrings, describeRun, parseJsonOutput, runCli } from './testing.ts';

const policiesSchema = policyPreviewResponseSchema.shape.policies;

function parsePolicies(result: CliRun): PrintedPolicy[] {
  expect(result.code, describeRun(result)).toBe(0);
  const parsed = policiesSchema.safeParse(parseJsonOutput(result));
  expect(parsed.error, describeRun(result)).toBeUndefined();
  return parseJsonOutput(result) as PrintedPolicy[];
}

function actionsOf(policies: readonly PrintedPolicy[]): string[] {
  return policies.flatMap((p) => p.document.Statement.flatMap((s) => s.Action));
}

function expectUsageError(result: CliRun, ...fragments: string[]): void {
  expect(result.code, describeRun(result)).toBe(2);
  expect(result.stdout, describeRun(result)).toBe('');
  for (const fragment of fragments) expect(result.stderr, describeRun(result)).toContain(fragment);
  // A user error is a message, never a stack trace.
  expect(result.stderr, describeRun(result)).not.toMatch(/^\s+at /m);
}

describe('onramp policy', () => {
  it('prints the policies of every bundle available in aws-cn, with aws-cn ARNs only', async () => {
    const result = await runCli(['policy', '--partition', 'aws-cn', '--bundles', 'all']);
    const policies = parsePolicies(result);
    expect(
      policies.map((p) => p.name),
      describeRun(result),
    ).toEqual(['OnrampRole-permissions-1']);
    const arns = collectStrings(policies).filter((s) => s.startsWith('arn:'));
    expect(arns.length, describeRun(result)).toBeGreaterThan(0);
    for (const arn of arns) expect(arn, describeRun(result)).toMatch(/^arn:aws-cn:/);
    // Cost Explorer is offered in the commercial partition only.
    expect(
      actionsOf(policies).filter((a) => a.startsWith('ce:')),
      describeRun(result),
    ).toEqual([]);
    // China is not customisable in the shipped catalog: "all" means its defaults, and says so.
    expect(result.stderr, describeRun(result)).toContain(
      '--bundles all means the defaults: cost-inventory, kubernetes-clusters, nodes-ec2',
    );
    expect(actionsOf(policies), describeRun(result)).not.toContain('autoscaling:*');
  });

  it('prints every bundle with --bundles all where tenants may choose', async () => {
    const policies = parsePolicies(
      await runCli(['policy', '--partition', 'aws', '--bundles', 'all']),
    );
    expect(actionsOf(policies)).toEqual(
      expect.arrayContaining(['autoscaling:*', 'ce:Get*', 'eks:*']),
    );
  });

  it('fills in the account and role name, and names the policies after the role', async () => {
    const result = await runCli([
      'policy',
      '--partition',
      'aws',
      '--bundles',
      'nodes-pass-role',
      '--account-id',
      '1234-5678-9012',
      '--role-name',
      'AcmeAccess',
    ]);
    const policies = parsePolicies(result);
    expect(policies[0]?.name, describeRun(result)).toBe('AcmeAccess-permissions-1');
    const resources = collectStrings(
      policies.map((p) => p.document.Statement.map((s) => s.Resource)),
    );
    expect(resources, describeRun(result)).toContain('arn:aws:iam::123456789012:role/AcmeAccess');
    expect(resources, describeRun(result)).toContain('arn:aws:iam::123456789012:role/acme-nodes/*');
    expect(resources.join('\n'), describeRun(result)).not.toContain('{{');
  });

  it('uses * for the account when it is not known', async () => {
    const policies = parsePolicies(
      await runCli(['policy', '--partition', 'aws', '--bundles', 'default']),
    );
    expect(collectStrings(policies)).toContain('arn:aws:iam::*:role/OnrampRole');
  });

  it('limits regional services to --regions', async () => {
    const result = await runCli([
      'policy',
      '--partition',
      'aws',
      '--bundles',
      'nodes-ec2',
      '--regions',
      'eu-west-1, eu-central-1',
    ]);
    const statements = parsePolicies(result).flatMap((p) => p.document.Statement);
    const ec2 = statements.find((s) => s.Action.includes('ec2:*'));
    expect(ec2?.Condition, describeRun(result)).toEqual({
      StringEquals: { 'aws:RequestedRegion': ['eu-central-1', 'eu-west-1'] },
    });
  });

  it("gives a user's policies with --principal user", async () => {
    const result = await runCli([
      'policy',
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--principal',
      'user',
    ]);
    const policies = parsePolicies(result);
    expect(actionsOf(policies), describeRun(result)).toContain('iam:GetUser');
    expect(actionsOf(policies), describeRun(result)).not.toContain('iam:GetRole');
  });

  it('prints one bare document with --document N', async () => {
    const all = parsePolicies(
      await runCli(['policy', '--partition', 'aws', '--bundles', 'default']),
    );
    const result = await runCli([
      'policy',
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--document',
      '1',
    ]);
    expect(result.code, describeRun(result)).toBe(0);
    const document = parseJsonOutput(result);
    expect(document, describeRun(result)).toEqual(all[0]?.document);
    expect(document, describeRun(result)).toMatchObject({ Version: '2012-10-17' });
  });

  it('refuses a --document beyond the last policy', async () => {
    expectUsageError(
      await runCli(['policy', '--partition', 'aws', '--bundles', 'default', '--document', '2']),
      'error: --document: There is only 1 policy for this choice. Use --document 1.',
    );
    expectUsageError(
      await runCli(['policy', '--partition', 'aws', '--bundles', 'default', '--document', 'first']),
      'error: --document: "first" is not a policy number',
    );
  });

  it('refuses an unknown partition, naming --partition and the partitions to use', async () => {
    const result = await runCli(['policy', '--partition', 'aws-gov', '--bundles', 'default']);
    expect(result.stderr, describeRun(result)).toBe(
      'error: --partition: "aws-gov" is not an AWS partition Onramp supports. Use one of: aws, aws-us-gov, aws-cn.\n',
    );
    expectUsageError(result);
  });

  it('reports a missing --partition and --bundles together', async () => {
    expectUsageError(
      await runCli(['policy']),
      'error: --partition: Choose a partition.',
      'error: --bundles: Choose the permissions',
    );
  });

  it('refuses an unknown bundle, listing the bundles available', async () => {
    expectUsageError(
      await runCli(['policy', '--partition', 'aws', '--bundles', 'nodes-ec2,nodes-gpu']),
      'error: --bundles: There is no bundle "nodes-gpu" in the catalog. Available in AWS: nodes-ec2,',
    );
  });

  it('refuses "default" mixed with bundle ids', async () => {
    expectUsageError(
      await runCli(['policy', '--partition', 'aws', '--bundles', 'default,kubernetes-eks']),
      'error: --bundles: "default" cannot be combined with bundle ids.',
    );
  });

  it('refuses a bundle that is not offered in the partition', async () => {
    expectUsageError(
      await runCli(['policy', '--partition', 'aws-cn', '--bundles', 'cost-explorer']),
      'error: --bundles: "Cost Explorer" (cost-explorer) is not available in AWS China.',
    );
  });

  it('refuses a region of another partition', async () => {
    expectUsageError(
      await runCli([
        'policy',
        '--partition',
        'aws-us-gov',
        '--bundles',
        'default',
        '--regions',
        'us-east-1',
      ]),
      'error: --regions: us-east-1 is in AWS, not in AWS GovCloud (US).',
      'us-gov-west-1',
    );
  });

  it('refuses customised bundles in aws-us-gov, with the reason and the defaults', async () => {
    expectUsageError(
      await runCli(['policy', '--partition', 'aws-us-gov', '--bundles', 'nodes-ec2']),
      'error: --bundles: Permissions cannot be customised in AWS GovCloud (US); accounts there get the default permissions.',
      'Choose the defaults: cost-inventory, kubernetes-clusters, nodes-ec2.',
    );
  });

  it('reports bad flags and catalog-dependent problems in one go', async () => {
    expectUsageError(
      await runCli([
        'policy',
        '--partition',
        'aws',
        '--bundles',
        'nodes-gpu',
        '--regions',
        'mars-north-1',
        '--account-id',
        '42',
        '--role-name',
        'no spaces',
      ]),
      'error: --bundles: There is no bundle "nodes-gpu"',
      'error: --regions: "mars-north-1" is not an AWS region.',
      'error: --account-id: An AWS account ID is exactly 12 digits.',
      'error: --role-name: A role name may contain only',
    );
  });

  it('refuses a --principal other than role or user', async () => {
    expectUsageError(
      await runCli([
        'policy',
        '--partition',
        'aws',
        '--bundles',
        'default',
        '--principal',
        'group',
      ]),
      "argument 'group' is invalid. Allowed choices are role, user.",
    );
  });
});
