import { join } from 'node:path';
import { catalogResponseSchema } from '@onramp/contracts';
import { describe, expect, it } from 'vitest';
import { describeRun, parseJsonOutput, runCli, TEST_CATALOG } from './testing.ts';

/** The table row of a bundle or partition: the line that starts with its id. */
function rowOf(stdout: string, id: string): string {
  const row = stdout.split('\n').find((line) => line.trimStart().startsWith(`${id} `));
  if (!row) throw new Error(`no row for ${id} in:\n${stdout}`);
  return row;
}

describe('onramp catalog', () => {
  it('lists products, bundles and what each partition offers', async () => {
    const result = await runCli(['catalog']);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).toContain('Acme Cloud: permission catalog');
    expect(result.stdout, describeRun(result)).toContain('Compute nodes [nodes]');
    // id, name, default?, partitions, action count
    expect(rowOf(result.stdout, 'nodes-ec2'), describeRun(result)).toMatch(
      /^\s+nodes-ec2\s+Manage EC2 nodes\s+yes\s+aws, aws-us-gov, aws-cn\s+2$/,
    );
    expect(rowOf(result.stdout, 'cost-explorer'), describeRun(result)).toMatch(
      /^\s+cost-explorer\s+Cost Explorer\s+yes\s+aws\s+7$/,
    );
    expect(rowOf(result.stdout, 'aws'), describeRun(result)).toContain('tenants choose');
    expect(rowOf(result.stdout, 'aws-us-gov'), describeRun(result)).toMatch(
      /defaults only\s+nodes-ec2, kubernetes-clusters, cost-inventory$/,
    );
    expect(result.stderr, describeRun(result)).toContain('--bundles');
  });

  it('prints the catalog as JSON in the API contract with --json', async () => {
    const result = await runCli(['catalog', '--json']);
    expect(result.code, describeRun(result)).toBe(0);
    const parsed = catalogResponseSchema.safeParse(parseJsonOutput(result));
    expect(parsed.error, describeRun(result)).toBeUndefined();
    const bundles = parsed.data?.products.flatMap((p) => p.bundles) ?? [];
    expect(bundles.find((b) => b.id === 'nodes-ec2')?.actions, describeRun(result)).toEqual([
      'ec2:*',
      'iam:ListInstanceProfiles',
    ]);
    expect(
      parsed.data?.partitions.find((p) => p.partition === 'aws-cn')?.customizable,
      describeRun(result),
    ).toBe(false);
  });

  it("shows an operator's own catalog with --catalog", async () => {
    const result = await runCli(['catalog', '--catalog', 'mine.yaml'], {
      files: { 'mine.yaml': TEST_CATALOG },
    });
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout, describeRun(result)).toContain(
      'Test Platform: permission catalog (mine.yaml)',
    );
    expect(rowOf(result.stdout, 'compute-write'), describeRun(result)).toMatch(/\s+no\s+aws\s+2$/);
    expect(result.stdout, describeRun(result)).not.toContain('nodes-ec2');
  });

  it('names the product, bundle and action of a misspelled action, and exits 1', async () => {
    const misspelled = TEST_CATALOG.replace('ec2:DescribeInstances]', 'ec2:DescribeInstancez]');
    expect(misspelled).not.toBe(TEST_CATALOG);
    const result = await runCli(['catalog', '--catalog', 'ops/catalog.yaml'], {
      files: { 'ops/catalog.yaml': misspelled },
    });
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stdout, describeRun(result)).toBe('');
    expect(result.stderr, describeRun(result)).toContain(
      'error: the catalog ops/catalog.yaml has a problem',
    );
    expect(result.stderr, describeRun(result)).toContain('product "compute"');
    expect(result.stderr, describeRun(result)).toContain('bundle "compute-read"');
    expect(result.stderr, describeRun(result)).toContain(
      '"ec2:DescribeInstancez" is not an action of the ec2 service',
    );
    expect(result.stderr, describeRun(result)).toContain('Did you mean ec2:DescribeInstances?');
    expect(result.stderr, describeRun(result)).toContain(
      'products[0].bundles[0].statements[0].actions[0]',
    );
  });

  it('lists every problem of a catalog at once', async () => {
    const broken = TEST_CATALOG.replace('ec2:DescribeInstances]', 'ec2:DescribeInstancez]').replace(
      'ec2:StopInstances]',
      'ec3:StopInstances]',
    );
    const result = await runCli(
      ['policy', '--partition', 'aws', '--bundles', 'default', '--catalog', 'c.yaml'],
      {
        files: { 'c.yaml': broken },
      },
    );
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr, describeRun(result)).toContain('has 2 problems');
    expect(result.stderr, describeRun(result)).toContain('ec2:DescribeInstancez');
    expect(result.stderr, describeRun(result)).toContain('"ec3" is not an AWS service prefix');
  });

  it('reports a catalog that is not YAML, and exits 1', async () => {
    const result = await runCli(['catalog', '--catalog', 'c.yaml'], {
      files: { 'c.yaml': 'version: 1\nplatform: [\n' },
    });
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr, describeRun(result)).toContain('c.yaml');
    expect(result.stderr, describeRun(result)).toContain('not valid YAML');
  });

  it('reports a missing catalog file with its path, and exits 1', async () => {
    const missing = join(import.meta.dirname, 'no-such-catalog.yaml');
    const result = await runCli(['catalog', '--catalog', missing]);
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr, describeRun(result)).toBe(
      `error: --catalog: cannot read the catalog file ${missing}: there is no such file.\n`,
    );
  });
});
