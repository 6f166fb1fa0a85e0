import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { PROPAGATION_BACKOFF_MS, validateCredentials } from '../validation/accounts-validation.ts';

/**
 * The permissions step of validation, above the AwsGateway port (the SDK adapter is tested against the
 * loopback AWS). What the chosen bundles need is checked, and what is missing is listed per bundle.
 */
describe.each(TEST_DIALECTS)('permission checks on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let n = 0;
  const nextAccount = () => String(400000000000 + ++n);
  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const keysAccount = (allows: string[], extra: Record<string, unknown> = {}) => {
    const accountId = nextAccount();
    const keys = h.aws.addUser('aws', accountId);
    h.aws.setPermissions(`arn:aws:iam::${accountId}:user/onramp`, { allows, ...extra });
    return { accountId, keys };
  };

  it('lists the actions a bundle lacks, per bundle, and refuses to save', async () => {
    const { keys } = keysAccount([
      'ec2:*',
      'cloudwatch:*',
      'elasticache:*',
      'rds:*',
      's3:ListAllMyBuckets',
    ]);
    const body = {
      method: 'access_keys',
      name: 'short',
      partition: 'aws',
      ...keys,
      bundles: ['nodes-ec2', 'cost-inventory'],
    };
    const validation = await a.admin.request('POST', '/v1/accounts/validate', body);
    expectStatus(validation, 200);
    expect(validation.body).toMatchObject({ valid: false, status: 'degraded' });
    expect(validation.body.findings).toEqual([
      {
        bundleId: 'cost-inventory',
        bundleName: 'Resource inventory',
        missing: ['s3:GetBucketLocation'],
        deniedByScp: [],
      },
      {
        bundleId: 'nodes-ec2',
        bundleName: 'Manage EC2 nodes',
        missing: ['iam:ListInstanceProfiles'],
        deniedByScp: [],
      },
    ]);
    const created = await a.admin.request('POST', '/v1/accounts', body);
    expectProblem(created, 422, 'permissions.nodes-ec2');
    const error = created.body.errors.find(
      (e: { field: string }) => e.field === 'permissions.cost-inventory',
    );
    expect(error).toMatchObject({
      code: 'missing_actions',
      message: expect.stringContaining('s3:GetBucketLocation'),
      hint: expect.any(String),
    });
  });

  it('flags actions an organization SCP denies separately from missing ones', async () => {
    const { keys } = keysAccount(['*'], {
      scpDenies: ['ec2:TerminateInstances', 'ec2:RunInstances'],
    });
    const response = await a.admin.request('POST', '/v1/accounts/validate', {
      method: 'access_keys',
      name: 'scp',
      partition: 'aws',
      ...keys,
      bundles: ['nodes-ec2'],
    });
    expect(response.body.findings).toEqual([
      {
        bundleId: 'nodes-ec2',
        bundleName: 'Manage EC2 nodes',
        missing: [],
        deniedByScp: ['ec2:RunInstances', 'ec2:TerminateInstances'],
      },
    ]);
    expect(response.body.errors).toEqual([
      expect.objectContaining({ field: 'permissions.nodes-ec2', code: 'denied_by_scp' }),
    ]);
  });

  it('falls back to reading the policies when simulation is refused, and says unverified when both are', async () => {
    const fallback = keysAccount(['ec2:*', 'iam:ListInstanceProfiles'], { canSimulate: false });
    const ok = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'fallback',
      partition: 'aws',
      ...fallback.keys,
      bundles: ['nodes-ec2'],
    });
    expectStatus(ok, 201);
    expect(ok.body.status).toBe('valid');
    expect(ok.body.checks.find((c: { name: string }) => c.name === 'permissions').detail).toContain(
      'iam:SimulateCustomPolicy',
    );

    const blind = keysAccount(['*'], { canSimulate: false, canReadPolicies: false });
    const saved = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'blind',
      partition: 'aws',
      ...blind.keys,
      bundles: ['nodes-ec2'],
    });
    expectStatus(saved, 201);
    expect(saved.body.status).toBe('unverified');
    expect(saved.body.checks.find((c: { name: string }) => c.name === 'permissions')).toMatchObject(
      { status: 'warning', detail: expect.stringContaining('Permissions not verified') },
    );
  });

  it('turns an account degraded, with the missing actions, when its permissions change', async () => {
    const { keys, accountId } = keysAccount(['ec2:*', 'iam:ListInstanceProfiles']);
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'grows',
      partition: 'aws',
      ...keys,
      bundles: ['nodes-ec2'],
    });
    expectStatus(created, 201);
    const patched = await a.admin.request('PATCH', `/v1/accounts/${created.body.id}`, {
      bundles: ['nodes-ec2', 'kubernetes-eks'],
    });
    expectStatus(patched, 200);
    expect(patched.body.status).toBe('degraded');
    const eks = patched.body.findings.find(
      (f: { bundleId: string }) => f.bundleId === 'kubernetes-eks',
    );
    expect(eks.missing).toEqual(
      expect.arrayContaining([
        'eks:CreateCluster',
        'iam:CreateOpenIDConnectProvider',
        'kms:DescribeKey',
      ]),
    );
    h.aws.setPermissions(`arn:aws:iam::${accountId}:user/onramp`, { allows: ['*'] });
    const healed = await a.admin.request('PATCH', `/v1/accounts/${created.body.id}`, {
      bundles: ['kubernetes-eks'],
    });
    expect(healed.body.status).toBe('valid');
  });

  it('checks a region-restricted selection in an allowed region', async () => {
    const { keys } = keysAccount(['*']);
    const response = await a.admin.request('POST', '/v1/accounts/validate', {
      method: 'access_keys',
      name: 'regional',
      partition: 'aws',
      ...keys,
      bundles: ['nodes-ec2'],
      regions: ['eu-west-1'],
    });
    expect(response.body).toMatchObject({ valid: true, status: 'valid', findings: [] });
  });

  it('waits for IAM to propagate a new role in a set-up flow, and reports the wait', async () => {
    const slept: number[] = [];
    const deps = {
      aws: h.aws.gateway,
      hubs: h.deps.hubs,
      actions: h.deps.actions,
      sleep: async (ms: number) => void slept.push(ms),
    };
    const roleArn = `arn:aws:iam::${nextAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, 'onramp-ext-propagation', { propagatingAttempts: 3 });
    const input = {
      method: 'role' as const,
      partition: 'aws' as const,
      roleArn,
      externalId: 'onramp-ext-propagation',
    };
    const report = await validateCredentials(deps, input, { waitForPropagation: true });
    expect(report.valid, JSON.stringify(report.errors)).toBe(true);
    expect(slept).toEqual(PROPAGATION_BACKOFF_MS.slice(0, 3));
    expect(report.checks.find((c) => c.name === 'identity')?.detail).toContain(
      'after waiting 6 s for AWS to propagate the role',
    );

    // Outside a set-up flow nothing waits: the refusal is reported at once.
    const other = `arn:aws:iam::${nextAccount()}:role/OnrampRole`;
    h.aws.addRole(other, 'onramp-ext-propagation', { propagatingAttempts: 1 });
    slept.length = 0;
    const hasty = await validateCredentials(deps, { ...input, roleArn: other });
    expect(hasty.valid).toBe(false);
    expect(hasty.errors[0]).toMatchObject({ field: 'roleArn', code: 'AccessDenied' });
    expect(slept).toEqual([]);

    // A role that never becomes assumable gives up after about a minute of backoff.
    const never = `arn:aws:iam::${nextAccount()}:role/Missing`;
    const gaveUp = await validateCredentials(
      deps,
      { ...input, roleArn: never },
      { waitForPropagation: true },
    );
    expect(gaveUp.valid).toBe(false);
    expect(slept.reduce((sum, ms) => sum + ms, 0)).toBeGreaterThanOrEqual(55_000);
    expect(gaveUp.checks.find((c) => c.name === 'identity')?.detail).toMatch(
      /^Waited \d+ s for AWS to propagate the role; it still refused\./,
    );
  });

  it('reports its steps in order, with durations, while running independent ones side by side', async () => {
    const connection = await a.admin.request('POST', '/v1/connections', {
      name: 'ordered',
      partition: 'aws',
      bundles: ['nodes-ec2'],
    });
    const roleArn = `arn:aws:iam::${nextAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, connection.body.externalId);
    const response = await a.admin.request('POST', '/v1/accounts/validate', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn,
    });
    expect(response.body.checks.map((c: { name: string }) => c.name)).toEqual([
      'shape',
      'hub',
      'identity',
      'external_id_required',
      'permissions',
    ]);
    for (const check of response.body.checks) expect(check.durationMs).toBeGreaterThanOrEqual(0);
    // No call is made twice: one AssumeRole with the external ID, one without, one with an external
    // ID no connection has (the confused-deputy probes).
    const ops = h.aws.calls.filter((c) => c.target === roleArn).map((c) => c.op);
    expect(ops.filter((op) => op === 'assumeRole')).toHaveLength(2);
    expect(ops.filter((op) => op === 'assumeRoleWithoutExternalId')).toHaveLength(1);
  });
});
