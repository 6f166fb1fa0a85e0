import { describe, expect, it } from 'vitest';
import { defaultCatalog, issuesOf, loadTestCatalog } from '../../test/fixtures.ts';
import { describeCatalog, wildcardToRegExp } from './catalog.ts';

const oneBundle = (statements: string, extra = '') => `
version: 1
platform: Test
${extra}
products:
  - id: compute
    name: Compute
    description: Nodes.
    bundles:
      - id: nodes
        name: Nodes
        description: Run nodes.
        default: true
        statements:
${statements}
`;

describe('the shipped catalog', () => {
  it('loads, with at least 3 products and 8 bundles, every action known to AWS', async () => {
    const catalog = await defaultCatalog();
    expect(catalog.products.length).toBeGreaterThanOrEqual(3);
    expect(catalog.bundles.size).toBeGreaterThanOrEqual(8);
  });

  it('has Tutum’s compute bundle and a resource-scoped PassRole', async () => {
    const catalog = await defaultCatalog();
    expect(catalog.bundles.get('nodes-ec2')?.statements[0]?.actions).toEqual([
      'ec2:*',
      'iam:ListInstanceProfiles',
    ]);
    const passRole = catalog.bundles.get('nodes-pass-role')?.statements[0];
    expect(passRole?.actions).toEqual(['iam:PassRole']);
    expect(passRole?.resources).toEqual([
      'arn:{{partition}}:iam::{{account_id}}:role/acme-nodes/*',
    ]);
  });

  it('offers only the defaults in GovCloud and China, and Cost Explorer only in aws', async () => {
    const catalog = await defaultCatalog();
    expect(catalog.isCustomizable('aws')).toBe(true);
    expect(catalog.isCustomizable('aws-us-gov')).toBe(false);
    expect(catalog.isCustomizable('aws-cn')).toBe(false);
    expect(catalog.defaultBundles('aws').map((b) => b.id)).toContain('cost-explorer');
    expect(catalog.defaultBundles('aws-cn').map((b) => b.id)).not.toContain('cost-explorer');
  });

  it('accepts statements for one kind of principal, {{self}}, and role placeholders for roles', async () => {
    const catalog = await loadTestCatalog(
      oneBundle(`          - principal: role
            actions: [iam:AttachRolePolicy]
            resources: ['arn:{{partition}}:iam::{{account_id}}:role{{role_path}}{{role_name}}']
          - principal: user
            actions: [iam:AttachUserPolicy]
            resources: ['{{self}}']`),
    );
    expect(catalog.bundles.get('nodes')?.statements.map((s) => s.principal)).toEqual([
      'role',
      'user',
    ]);
    const view = describeCatalog(catalog).products[0]?.bundles[0];
    expect(view?.actionsFor).toEqual({
      role: ['iam:AttachRolePolicy'],
      user: ['iam:AttachUserPolicy'],
    });
  });

  it('canonicalises the case of actions as AWS spells them', async () => {
    const catalog = await loadTestCatalog(
      oneBundle('          - actions: [EC2:describeinstances, s3:get*]'),
    );
    expect(catalog.bundles.get('nodes')?.statements[0]?.actions).toEqual([
      'ec2:DescribeInstances',
      's3:get*',
    ]);
  });
});

describe('loading refuses, naming product, bundle and action', () => {
  it('a misspelled action, with a suggestion', async () => {
    const issues = await issuesOf(() =>
      loadTestCatalog(oneBundle('          - actions: [ec2:RunInstances, ec2:DescribeInstancez]')),
    );
    expect(issues).toEqual([
      {
        field: 'products[0].bundles[0].statements[0].actions[1]',
        code: 'unknown_action',
        message:
          'product "compute", bundle "nodes": "ec2:DescribeInstancez" is not an action of the ec2 service.',
        hint: 'Did you mean ec2:DescribeInstances?',
      },
    ]);
  });

  it('a wildcard that matches nothing, an unknown service and a grant of everything', async () => {
    const issues = await issuesOf(() =>
      loadTestCatalog(
        oneBundle('          - actions: [ec2:Frobnicate*, ecz:DescribeInstances, "*"]'),
      ),
    );
    expect(issues.map((i) => [i.field, i.code])).toEqual([
      ['products[0].bundles[0].statements[0].actions[0]', 'wildcard_matches_nothing'],
      ['products[0].bundles[0].statements[0].actions[1]', 'unknown_service'],
      ['products[0].bundles[0].statements[0].actions[2]', 'invalid_format'],
    ]);
  });

  it('a resource with a literal partition or an unknown placeholder', async () => {
    const issues = await issuesOf(() =>
      loadTestCatalog(
        oneBundle(`          - actions: [iam:PassRole]
            resources: ['arn:aws:iam::{{account_id}}:role/x', 'arn:{{partition}}:iam::{{acount}}:role/x', 'role/x']`),
      ),
    );
    expect(issues.map((i) => i.field)).toEqual([
      'products[0].bundles[0].statements[0].resources[0]',
      'products[0].bundles[0].statements[0].resources[1]',
      'products[0].bundles[0].statements[0].resources[2]',
    ]);
    expect(issues[0]?.message).toContain('write arn:{{partition}}:');
    expect(issues[1]?.message).toContain('unknown placeholder {{acount}}');
  });

  it('{{role_name}} where a user would get it, and {{self}} inside an ARN', async () => {
    const issues = await issuesOf(() =>
      loadTestCatalog(
        oneBundle(`          - actions: [iam:AttachRolePolicy]
            resources: ['arn:{{partition}}:iam::{{account_id}}:role{{role_path}}{{role_name}}']
          - actions: [iam:GetUser]
            resources: ['arn:{{partition}}:iam::{{account_id}}:user/{{self}}']`),
      ),
    );
    expect(issues.map((i) => i.field)).toEqual([
      'products[0].bundles[0].statements[0].resources[0]',
      'products[0].bundles[0].statements[1].resources[0]',
    ]);
    expect(issues[0]?.message).toContain('use {{self}}');
    expect(issues[1]?.message).toContain('{{self}} stands for a whole ARN');
  });

  it('the region condition key Onramp sets itself', async () => {
    const issues = await issuesOf(() =>
      loadTestCatalog(
        oneBundle(`          - actions: [ec2:RunInstances]
            conditions: { StringEquals: { aws:RequestedRegion: eu-west-1 } }`),
      ),
    );
    expect(issues).toMatchObject([{ code: 'reserved_condition_key' }]);
  });

  it('duplicate ids and the reserved validation bundle id', async () => {
    const text = `
version: 1
platform: Test
products:
  - id: aa
    name: A
    description: A.
    bundles:
      - { id: same, name: S, description: S., statements: [{ actions: [ec2:RunInstances] }] }
      - { id: same, name: S, description: S., statements: [{ actions: [ec2:RunInstances] }] }
      - { id: onramp-validation, name: V, description: V., statements: [{ actions: [ec2:RunInstances] }] }
`;
    const issues = await issuesOf(() => loadTestCatalog(text));
    expect(issues.map((i) => [i.field, i.code])).toEqual([
      ['products[0].bundles[1].id', 'duplicate_id'],
      ['products[0].bundles[2].id', 'duplicate_id'],
    ]);
  });

  it('a shape error, with its path', async () => {
    const issues = await issuesOf(() =>
      loadTestCatalog(
        'version: 1\nplatform: T\nproducts:\n  - id: A\n    name: x\n    description: y\n    bundles: []\n',
      ),
    );
    expect(issues.map((i) => i.field)).toEqual(['products[0].id', 'products[0].bundles']);
  });

  it('invalid YAML, with the line', async () => {
    const issues = await issuesOf(() => loadTestCatalog('version: 1\nproducts: [\n  - id: x\n'));
    expect(issues).toMatchObject([{ field: 'catalog', code: 'catalog_invalid' }]);
    expect(issues[0]?.message).toMatch(
      /^The catalog is not valid YAML at line \d+, column \d+: [^\n]+\.$/,
    );
  });

  it('a partition without customisation and without any default bundle', async () => {
    const text = oneBundle(
      '          - actions: [ec2:RunInstances]',
      'partitions: { aws-cn: { customizable: false } }',
    ).replace('default: true', 'default: true\n        partitions: [aws]');
    const issues = await issuesOf(() => loadTestCatalog(text));
    expect(issues).toMatchObject([
      { field: 'partitions.aws-cn.customizable', code: 'catalog_invalid' },
    ]);
  });
});

describe('wildcards', () => {
  it.each([
    ['Describe*', 'DescribeInstances', true],
    ['describe*', 'DescribeInstances', true],
    ['Get?', 'GetX', true],
    ['Get?', 'GetXY', false],
    ['List*', 'DescribeInstances', false],
    ['a.b', 'aXb', false],
  ])('%s matches %s: %s', (pattern, action, expected) => {
    expect(wildcardToRegExp(pattern).test(action)).toBe(expected);
  });
});
