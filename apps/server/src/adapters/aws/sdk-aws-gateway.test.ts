/**
 * The SDK adapter and the validation pipeline on the wire: the real AWS SDK v3 clients, signing with
 * SigV4, against the loopback AWS (test tooling that speaks STS's and IAM's Query protocol, verifies
 * signatures and evaluates trust and identity policies). Nothing here mocks an SDK client.
 */
import { createServer } from 'node:net';
import {
  buildTrustPolicy,
  type Catalog,
  getPartition,
  PARTITION_IDS,
  type PartitionId,
  parseHubPrincipal,
  unwrap,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROPAGATION_BACKOFF_MS,
  validateCredentials,
} from '../../features/validation/accounts-validation.ts';
import { AppError } from '../../http/problems.ts';
import { testCatalog } from '../../testing/harness.ts';
import { bundlePolicy, createHub } from '../../testing/loopback-world.ts';
import { createSdkAwsGateway } from './sdk-aws-gateway.ts';

const CUSTOMER = '222233334444';
const EXTERNAL_ID = 'onramp-wire-external-id-0001';

describe.each(PARTITION_IDS)('validation on the wire in %s', (partition: PartitionId) => {
  let aws: LoopbackAws;
  let catalog: Catalog;
  let deps: Parameters<typeof validateCredentials>[0];
  let hubArn: string;
  const actions = createIamDataActionIndex();
  const slept: number[] = [];

  /**
   * The statements the catalog gives a principal for some bundles, as the template would create them
   * (built from the bundles directly: the tests also use bundles a partition's defaults do not include).
   */
  const policiesFor = (
    bundles: string[],
    principal: 'role' | 'user',
    roleName = 'OnrampRole',
    accountId = CUSTOMER,
  ) => [bundlePolicy(catalog, { partition, bundles, principal, accountId, roleName })];

  const roleWith = (roleName: string, documents: object[], trust: object) =>
    aws.createRole(partition, CUSTOMER, {
      roleName,
      trustPolicy: trust,
      inlinePolicies: Object.fromEntries(documents.map((d, i) => [`p${i}`, d])),
    }).arn;
  const trustWithExternalId = () =>
    buildTrustPolicy({
      partition,
      hub: unwrap(parseHubPrincipal(hubArn, partition)),
      externalId: EXTERNAL_ID,
    });
  const selection = (bundles: string[]) => ({
    bundles: bundles.map((id) => catalog.bundles.get(id)).filter((b) => b !== undefined),
    regions: [] as string[],
  });
  const roleInput = (roleArn: string, externalId = EXTERNAL_ID) => ({
    method: 'role' as const,
    partition,
    roleArn,
    externalId,
  });

  beforeAll(async () => {
    aws = await startLoopbackAws();
    catalog = await testCatalog();
    aws.createAccount(partition, CUSTOMER);
    const { user: hub, config: hubConfig } = createHub(aws, partition);
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({
      hubs: { [partition]: hubConfig },
      endpoint: aws.url,
      maxAttempts: 3,
    });
    deps = {
      aws: gateway,
      hubs: { [partition]: { principalArn: hub.arn } },
      actions,
      sleep: async (ms) => void slept.push(ms),
    };
  });
  afterAll(async () => {
    await aws?.stop();
  });

  it('signs for a region of the partition and never leaves it', async () => {
    const user = aws.createUser(partition, CUSTOMER, 'signing', {
      policies: policiesFor(['nodes-ec2'], 'user'),
    });
    aws.clearCalls();
    await validateCredentials(
      deps,
      {
        method: 'access_keys',
        partition,
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
      },
      { permissions: selection(['nodes-ec2']) },
    );
    const regions = new Set(aws.calls.map((c) => c.region));
    for (const region of regions)
      expect(getPartition(partition).regions.map((r) => r.id)).toContain(region);
    expect(new Set(aws.calls.map((c) => c.partition))).toEqual(new Set([partition]));
  });

  it('keeps each account’s credentials to its own calls when many run at once', async () => {
    const users = Array.from({ length: 24 }, (_, i) =>
      aws.createUser(partition, CUSTOMER, `concurrent-${i}`, {
        policies: policiesFor(['cost-explorer'], 'user'),
      }),
    );
    // Interleaved on the one client per partition: every call must be signed as its own caller.
    const identities = await Promise.all(
      users.flatMap((user) =>
        [0, 1].map(() =>
          deps.aws.identifyKeys(partition, {
            accessKeyId: user.accessKeyId,
            secretAccessKey: user.secretAccessKey,
          }),
        ),
      ),
    );
    expect(identities.map((identity) => identity.arn)).toEqual(
      users.flatMap((user) => [user.arn, user.arn]),
    );
  });

  it('accepts valid keys whose policies grant the bundles, and checks each action once', async () => {
    const user = aws.createUser(partition, CUSTOMER, 'valid-keys', {
      policies: policiesFor(['nodes-ec2', 'cost-inventory'], 'user'),
    });
    aws.clearCalls();
    const report = await validateCredentials(
      deps,
      {
        method: 'access_keys',
        partition,
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
      },
      { permissions: selection(['nodes-ec2', 'cost-inventory']) },
    );
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({
      valid: true,
      status: 'valid',
      identity: { accountId: CUSTOMER, arn: user.arn },
    });
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['shape', 'passed'],
      ['identity', 'passed'],
      ['permissions', 'passed'],
    ]);
    expect(aws.calls.filter((c) => c.action === 'GetCallerIdentity')).toHaveLength(1);
  });

  it('puts a wrong secret on secretAccessKey, an unknown key on accessKeyId, and another partition’s key on partition', async () => {
    const user = aws.createUser(partition, CUSTOMER, 'wrong-secret');
    const wrong = await validateCredentials(deps, {
      method: 'access_keys',
      partition,
      accessKeyId: user.accessKeyId,
      secretAccessKey: `${user.secretAccessKey.slice(0, 39)}${user.secretAccessKey.endsWith('A') ? 'B' : 'A'}`,
    });
    expect(wrong.errors).toEqual([
      expect.objectContaining({ field: 'secretAccessKey', code: 'SignatureDoesNotMatch' }),
    ]);
    const unknown = await validateCredentials(deps, {
      method: 'access_keys',
      partition,
      accessKeyId: 'AKIAUNKNOWNKEY000001',
      secretAccessKey: 'x'.repeat(40),
    });
    expect(unknown.errors).toEqual([
      expect.objectContaining({ field: 'accessKeyId', code: 'InvalidClientTokenId' }),
    ]);
    const other = PARTITION_IDS.find((p) => p !== partition) as PartitionId;
    aws.createAccount(other, CUSTOMER);
    const elsewhere = aws.createUser(other, CUSTOMER, 'elsewhere');
    const crossed = await validateCredentials(deps, {
      method: 'access_keys',
      partition,
      accessKeyId: elsewhere.accessKeyId,
      secretAccessKey: elsewhere.secretAccessKey,
    });
    expect(crossed.errors).toEqual([
      expect.objectContaining({
        field: 'partition',
        code: 'wrong_partition',
        hint: `Choose ${getPartition(other).displayName} as the partition.`,
      }),
    ]);
  });

  it('refuses root-user keys and temporary ASIA keys, saying why', async () => {
    const root = aws.createRootKeys(partition, CUSTOMER);
    const rootReport = await validateCredentials(deps, {
      method: 'access_keys',
      partition,
      accessKeyId: root.accessKeyId,
      secretAccessKey: root.secretAccessKey,
    });
    expect(rootReport.errors).toEqual([
      expect.objectContaining({ field: 'accessKeyId', code: 'root_access_key' }),
    ]);
    aws.clearCalls();
    const temporary = await validateCredentials(deps, {
      method: 'access_keys',
      partition,
      accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'x'.repeat(40),
    });
    expect(temporary.errors).toEqual([
      expect.objectContaining({ field: 'accessKeyId', code: 'temporary_access_key' }),
    ]);
    expect(aws.calls).toHaveLength(0);
  });

  it('accepts a role that demands the external ID and grants the bundles', async () => {
    const roleArn = roleWith(
      'OnrampRole',
      policiesFor(['nodes-ec2', 'kubernetes-eks'], 'role'),
      trustWithExternalId(),
    );
    aws.clearCalls();
    const report = await validateCredentials(deps, roleInput(roleArn), {
      permissions: selection(['nodes-ec2', 'kubernetes-eks']),
    });
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({ valid: true, status: 'valid' });
    expect(report.checks.map((c) => c.name)).toEqual([
      'shape',
      'hub',
      'identity',
      'external_id_required',
      'permissions',
    ]);
    // Exactly one AssumeRole with the external ID, and the confused-deputy check's two: one without
    // an external ID and one with an external ID no connection has.
    expect(aws.calls.filter((c) => c.action === 'AssumeRole')).toHaveLength(3);
  });

  it('puts a wrong external ID on roleArn with the checklist', async () => {
    const roleArn = roleWith(
      'WrongId',
      policiesFor(['nodes-ec2'], 'role', 'WrongId'),
      trustWithExternalId(),
    );
    const report = await validateCredentials(deps, roleInput(roleArn, 'onramp-some-other-id'));
    expect(report.errors).toEqual([
      expect.objectContaining({
        field: 'roleArn',
        code: 'AccessDenied',
        hint: expect.stringContaining('external ID'),
      }),
    ]);
    expect(report.status).toBe('invalid');
  });

  it('refuses a role that can be assumed without the external ID, showing the condition to add', async () => {
    const open = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: hubArn }, Action: 'sts:AssumeRole' }],
    };
    const roleArn = roleWith(
      'NoCondition',
      policiesFor(['nodes-ec2'], 'role', 'NoCondition'),
      open,
    );
    const report = await validateCredentials(deps, roleInput(roleArn), {
      permissions: selection(['nodes-ec2']),
    });
    expect(report.valid).toBe(false);
    expect(report.errors).toEqual([
      expect.objectContaining({
        field: 'roleArn',
        code: 'external_id_not_required',
        hint: expect.stringContaining(`"sts:ExternalId": "${EXTERNAL_ID}"`),
      }),
    ]);
  });

  it('lists the two actions a role lacks, for its bundle', async () => {
    const [document] = policiesFor(['kubernetes-eks'], 'role', 'Lacking');
    const trimmed = JSON.parse(
      JSON.stringify(document)
        .replace(/"kms:DescribeKey",?/, '')
        .replace(/"ssm:GetParameter",?/, '')
        .replace(/,\]/g, ']'),
    );
    const roleArn = roleWith('Lacking', [trimmed], trustWithExternalId());
    const report = await validateCredentials(deps, roleInput(roleArn), {
      permissions: selection(['kubernetes-eks']),
    });
    expect(report.status).toBe('degraded');
    expect(report.findings).toEqual([
      {
        bundleId: 'kubernetes-eks',
        bundleName: 'Amazon EKS',
        missing: ['kms:DescribeKey', 'ssm:GetParameter'],
        deniedByScp: [],
      },
    ]);
    expect(report.errors).toEqual([
      expect.objectContaining({ field: 'permissions.kubernetes-eks', code: 'missing_actions' }),
    ]);
  });

  it('flags actions an organization SCP denies', async () => {
    const scpAccount = '333344445555';
    aws.createAccount(partition, scpAccount);
    aws.setOrganizationScp(partition, scpAccount, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 'ec2:TerminateInstances', Resource: '*' }],
    });
    const user = aws.createUser(partition, scpAccount, 'scp-user', {
      policies: policiesFor(['nodes-ec2'], 'user', 'unused', scpAccount),
    });
    const report = await validateCredentials(
      deps,
      {
        method: 'access_keys',
        partition,
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
      },
      { permissions: selection(['nodes-ec2']) },
    );
    expect(report.findings).toEqual([
      expect.objectContaining({
        bundleId: 'nodes-ec2',
        missing: [],
        deniedByScp: ['ec2:TerminateInstances'],
      }),
    ]);
  });

  it('falls back to reading the role’s policies when it may not simulate itself', async () => {
    const roleArn = roleWith(
      'NoSimulate',
      policiesFor(['nodes-ec2'], 'role', 'NoSimulate'),
      trustWithExternalId(),
    );
    aws.denySimulate(roleArn);
    aws.clearCalls();
    const report = await validateCredentials(deps, roleInput(roleArn), {
      permissions: selection(['nodes-ec2']),
    });
    expect(report.errors).toEqual([]);
    expect(report.status).toBe('valid');
    expect(report.checks.find((c) => c.name === 'permissions')?.detail).toContain(
      'iam:SimulateCustomPolicy',
    );
    expect(aws.calls.map((c) => c.action)).toEqual(
      expect.arrayContaining(['SimulatePrincipalPolicy', 'GetRolePolicy', 'SimulateCustomPolicy']),
    );
  });

  it('waits while IAM propagates a new role in a set-up flow, then succeeds', async () => {
    const roleArn = roleWith(
      'Fresh',
      policiesFor(['nodes-ec2'], 'role', 'Fresh'),
      trustWithExternalId(),
    );
    aws.propagationDelay(roleArn, 400);
    const realSleep = {
      ...deps,
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms / 10)),
    };
    const report = await validateCredentials(realSleep, roleInput(roleArn), {
      permissions: selection(['nodes-ec2']),
      waitForPropagation: true,
    });
    expect(report.errors).toEqual([]);
    expect(report.checks.find((c) => c.name === 'identity')?.detail).toContain('waiting');
    expect(PROPAGATION_BACKOFF_MS.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(55_000);
  });

  it('rides out throttling without calling anything invalid', async () => {
    const user = aws.createUser(partition, CUSTOMER, 'throttled', {
      policies: policiesFor(['nodes-ec2'], 'user'),
    });
    aws.throttleNext(2, { action: 'GetCallerIdentity' });
    const report = await validateCredentials(
      deps,
      {
        method: 'access_keys',
        partition,
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
      },
      { permissions: selection(['nodes-ec2']) },
    );
    expect(report.errors).toEqual([]);
    aws.throttleNext(10, { action: 'GetCallerIdentity' });
    const exhausted = validateCredentials(deps, {
      method: 'access_keys',
      partition,
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
    });
    await expect(exhausted).rejects.toMatchObject({ code: 'upstream_unavailable', status: 502 });
    aws.clearFaults();
  });

  it('reports AWS being unreachable as an upstream error, never as invalid credentials', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const gateway = createSdkAwsGateway({
      hubs: {},
      endpoint: `http://127.0.0.1:${closedPort}`,
      maxAttempts: 2,
      requestTimeoutMs: 1000,
    });
    const attempt = validateCredentials(
      { ...deps, aws: gateway },
      {
        method: 'access_keys',
        partition,
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'x'.repeat(40),
      },
    );
    await expect(attempt).rejects.toBeInstanceOf(AppError);
    await expect(attempt).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});
