/**
 * A health check on the wire: the real SDK adapter against the loopback AWS, through the API. The role
 * is created as its template would create it, the account connects, the role is deleted in AWS, and
 * the next check finds the account invalid on roleArn.
 */
import {
  buildStatements,
  buildTrustPolicy,
  fillPlaceholders,
  parseHubPrincipal,
  unwrap,
  validationBundle,
} from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { createHealthScheduler } from '../../jobs/health-scheduler.ts';
import { createHarness, expectStatus, type Harness } from '../../testing/harness.ts';
import { createHub } from '../../testing/loopback-world.ts';

const CUSTOMER = '222233334444';

describe('health check on the wire against the loopback AWS', () => {
  let aws: LoopbackAws;
  let h: Harness;
  let hubArn: string;

  beforeAll(async () => {
    aws = await startLoopbackAws();
    aws.createAccount('aws', CUSTOMER);
    const { user: hub, config: hubConfig } = createHub(aws, 'aws');
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({
      hubs: { aws: hubConfig },
      endpoint: aws.url,
      maxAttempts: 2,
    });
    h = await createHarness('sqlite', { aws: gateway, hubs: { aws: { principalArn: hubArn } } });
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  it('finds the account invalid on roleArn once its role is deleted', async () => {
    const tenant = await h.tenant();
    const connection = await tenant.admin.request('POST', '/v1/connections', {
      name: 'Wire',
      partition: 'aws',
    });
    expectStatus(connection, 201);
    const { externalId, bundles, roleName } = connection.body as {
      externalId: string;
      bundles: string[];
      roleName: string;
    };
    const chosen = bundles
      .map((id) => h.deps.catalog.bundles.get(id))
      .filter((b) => b !== undefined);
    const policy = fillPlaceholders(
      {
        Version: '2012-10-17',
        Statement: buildStatements([...chosen, validationBundle('role')], []),
      },
      { partition: 'aws', account_id: CUSTOMER, role_path: '/', role_name: roleName },
    );
    const role = aws.createRole('aws', CUSTOMER, {
      roleName,
      trustPolicy: buildTrustPolicy({
        partition: 'aws',
        hub: unwrap(parseHubPrincipal(hubArn, 'aws')),
        externalId,
      }),
      inlinePolicies: { onramp: policy },
    });
    const created = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn: role.arn,
    });
    expectStatus(created, 201);
    expect(created.body.status).toBe('valid');

    // While the role exists, a check finds it valid.
    const healthy = await tenant.admin.request('POST', `/v1/accounts/${created.body.id}/check`);
    expectStatus(healthy, 200);
    expect(healthy.body).toMatchObject({ status: 'valid', changed: false, stale: false });

    aws.deleteRole('aws', CUSTOMER, roleName);
    const scheduler = createHealthScheduler(h.services);
    await scheduler.scheduleNewAccounts();
    await h.database.db
      .updateTable('health_schedule')
      .set({ next_run_at: new Date(Date.now() - 1000).toISOString() })
      .execute();
    expect(await scheduler.runOnce()).toBe(1);
    const checks = await tenant.admin.request('GET', `/v1/accounts/${created.body.id}/checks`);
    expect(checks.body.checks[0]).toMatchObject({
      status: 'invalid',
      previousStatus: 'valid',
      changed: true,
      trigger: 'schedule',
      errors: [expect.objectContaining({ field: 'roleArn' })],
    });
    const account = await tenant.admin.request('GET', `/v1/accounts/${created.body.id}`);
    expect(account.body.status).toBe('invalid');
  });
});
