/**
 * AWS calls made by background jobs, on /metrics: the real SDK adapter against the loopback AWS, the
 * health scheduler checking accounts, and the counts it leaves on the registry the API serves.
 */
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { createHealthScheduler } from '../../jobs/health-scheduler.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createHarness, expectStatus, type Harness } from '../../testing/harness.ts';
import { createConnectedRole, createHub } from '../../testing/loopback-world.ts';
import { createMetricsRegistry } from './metrics-registry.ts';

/** The value of one series in a Prometheus text body (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const calls = (operation: string) =>
  `onramp_aws_calls_total{operation="${operation}",partition="aws",outcome="success"}`;
const latencies = (operation: string) =>
  `onramp_aws_call_duration_seconds_count{operation="${operation}",outcome="success"}`;

describe.each(TEST_DIALECTS)('AWS calls of the health scheduler on /metrics, on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let hubArn: string;
  let sequence = 0;

  beforeAll(async () => {
    aws = await startLoopbackAws();
    const { user: hub, config: hubConfig } = createHub(aws, 'aws');
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({ hubs: { aws: hubConfig }, endpoint: aws.url });
    // As main.ts runs it: one registry, given to the app and the jobs alike.
    h = await createHarness(dialect, {
      aws: gateway,
      hubs: { aws: { principalArn: hubArn } },
      metrics: createMetricsRegistry(),
    });
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  const metricsText = async () => {
    const response = await h.anonymous.request('GET', '/metrics');
    expectStatus(response, 200);
    return response.text;
  };

  /** A role account and a keys account, connected over the API (which calls AWS itself). */
  const connectAccounts = async () => {
    const tenant = await h.tenant();
    const accountId = String(333344445555 + ++sequence);
    aws.createAccount('aws', accountId);
    const connection = await tenant.admin.request('POST', '/v1/connections', {
      name: `Metered ${sequence}`,
      partition: 'aws',
    });
    expectStatus(connection, 201);
    const role = createConnectedRole(aws, h.deps.catalog, {
      partition: 'aws',
      accountId,
      roleName: connection.body.roleName,
      hubArn,
      externalId: connection.body.externalId,
      bundles: connection.body.bundles,
    });
    const byRole = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn: role.arn,
    });
    expectStatus(byRole, 201);
    const user = aws.createUser('aws', accountId, 'onramp', {
      policies: [
        { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      ],
    });
    const byKeys = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Keys ${sequence}`,
      partition: 'aws',
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
    });
    expectStatus(byKeys, 201);
    return [byRole.body.id as string, byKeys.body.id as string];
  };

  it('counts and times the STS and IAM calls of scheduled checks, once each', async () => {
    const ids = await connectAccounts();
    const scheduler = createHealthScheduler(h.services, { owner: `metrics-${dialect}` });
    await scheduler.scheduleNewAccounts();
    await h.database.db
      .updateTable('health_schedule')
      .set({ next_run_at: new Date(Date.now() - 1000).toISOString() })
      .where('account_id', 'in', ids)
      .execute();

    const before = await metricsText();
    aws.clearCalls();
    expect(await scheduler.runOnce()).toBe(2);
    const after = await metricsText();
    const made = (action: string) =>
      aws.calls.filter((c) => c.action === action && c.status === 200).length;
    const grew = (series: string) => sample(after, series) - sample(before, series);

    // What the checks asked of AWS, as AWS saw it: every AssumeRole (the role's check, with and
    // without the external ID) and GetCallerIdentity (the keys' check) is one port call.
    expect(made('AssumeRole')).toBeGreaterThan(0);
    expect(grew(calls('assumeRole'))).toBe(made('AssumeRole'));
    expect(grew(latencies('assumeRole'))).toBe(made('AssumeRole'));
    expect(made('GetCallerIdentity')).toBeGreaterThan(0);
    expect(grew(calls('identifyKeys'))).toBe(made('GetCallerIdentity'));
    expect(grew(latencies('identifyKeys'))).toBe(made('GetCallerIdentity'));
    // The external-ID checks: AWS refusing the role without it, and with an external ID no
    // connection has, are outcomes too.
    expect(
      grew('onramp_aws_calls_total{operation="assumeRole",partition="aws",outcome="rejected"}'),
    ).toBe(2);
    // And the permission checks' IAM calls.
    const iam = aws.calls.filter((c) => c.service === 'iam' && c.status === 200);
    expect(iam.length).toBeGreaterThan(0);
    const iamOperations = [
      'simulatePrincipalPolicy',
      'simulateCustomPolicy',
      'readPrincipalPolicies',
    ];
    expect(iamOperations.some((operation) => grew(calls(operation)) > 0)).toBe(true);
    expect(
      iamOperations.reduce((sum, operation) => sum + grew(calls(operation)), 0),
    ).toBeLessThanOrEqual(iam.length);
    // The checks the jobs ran are counted with the API's too.
    expect(
      grew('onramp_validation_checks_total{check="identity",status="passed"}'),
    ).toBeGreaterThanOrEqual(2);
  });
});
