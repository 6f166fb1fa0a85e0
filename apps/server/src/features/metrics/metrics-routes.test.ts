import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsGateway, AwsProblem } from '../../ports/aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createHarness, expectProblem, expectStatus, type Harness } from '../../testing/harness.ts';
import { withAwsMetrics, withMetrics } from './metrics-aws-gateway.ts';
import { createMetricsRegistry } from './metrics-registry.ts';
import { awsCallMetrics } from './onramp-metrics.ts';

/** The value of one series in a Prometheus text body (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe.each(TEST_DIALECTS)('GET /metrics on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('counts AWS calls by operation and outcome, the vend cache, and validation checks', async () => {
    const tenant = await h.tenant();
    const connection = await tenant.admin.request('POST', '/v1/connections', {
      name: 'Metered',
      partition: 'aws',
    });
    const roleArn = 'arn:aws:iam::510000000001:role/OnrampRole';
    h.aws.addRole(roleArn, connection.body.externalId);
    const account = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn,
    });
    expectStatus(account, 201);
    const service = await tenant.token(['credentials:vend']);
    await service.request('POST', `/v1/accounts/${account.body.id}/credentials`);
    await service.request('POST', `/v1/accounts/${account.body.id}/credentials`);

    const response = await h.anonymous.request('GET', '/metrics');
    expectStatus(response, 200);
    expect(String(response.headers['content-type'])).toContain('text/plain; version=0.0.4');
    const text = response.text;
    // Validation assumed the role with and without the external ID (refused: the deputy check).
    expect(
      sample(
        text,
        'onramp_aws_calls_total{operation="assumeRole",partition="aws",outcome="success"}',
      ),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(
        text,
        'onramp_aws_calls_total{operation="assumeRole",partition="aws",outcome="rejected"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(
        text,
        'onramp_aws_call_duration_seconds_count{operation="assumeRole",outcome="success"}',
      ),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'onramp_credentials_cache_total{result="miss"}')).toBe(1);
    expect(sample(text, 'onramp_credentials_cache_total{result="hit"}')).toBe(1);
    expect(
      sample(text, 'onramp_validation_checks_total{check="external_id_required",status="passed"}'),
    ).toBe(1);
    expect(text).not.toContain(connection.body.externalId);
  });

  it('wants the metrics token when one is configured, and API tokens do not open it', async () => {
    const guarded = await createHarness(dialect, {
      metricsToken: 'metrics-token-of-32-characters!!',
      metrics: createMetricsRegistry(),
    });
    try {
      expectProblem(await guarded.anonymous.request('GET', '/metrics'), 401);
      const tenant = await guarded.tenant();
      const api = await tenant.token(['admin']);
      expectProblem(await api.request('GET', '/metrics'), 401);
      expectProblem(await guarded.send('GET', '/metrics', { authorization: 'Bearer wrong' }), 401);
      const ok = await guarded.send('GET', '/metrics', {
        authorization: 'Bearer metrics-token-of-32-characters!!',
      });
      expectStatus(ok, 200);
      expect(ok.text).toContain('# TYPE onramp_aws_calls_total counter');
    } finally {
      await guarded.close();
    }
  });
});

describe('the AWS metrics decorator', () => {
  it('measures a gateway once per registry, however often the app and the jobs wrap it', async () => {
    const registry = createMetricsRegistry();
    const other = createMetricsRegistry();
    const keys = { accessKeyId: 'a', secretAccessKey: 's' };
    const base = {
      identifyKeys: async () => ({ accountId: '1', arn: 'arn', userId: 'u' }),
    } as Partial<AwsGateway> as AwsGateway;
    // main.ts meters the gateway; buildApp and the jobs' services each ask again.
    const metered = withAwsMetrics(base, registry);
    const app = withMetrics({ aws: metered, metrics: registry });
    const jobs = withMetrics({ aws: metered, metrics: registry });
    expect(app.aws).toBe(metered);
    expect(jobs.aws).toBe(metered);
    await app.aws.identifyKeys('aws', keys);
    await jobs.aws.identifyKeys('aws', keys);
    const series = { operation: 'identifyKeys', partition: 'aws', outcome: 'success' } as const;
    expect(awsCallMetrics(registry).calls.get(series)).toBe(2);
    // Another registry is another measurement: both count.
    await withAwsMetrics(metered, other).identifyKeys('aws', keys);
    expect(awsCallMetrics(registry).calls.get(series)).toBe(3);
    expect(awsCallMetrics(other).calls.get(series)).toBe(1);
    // Without a registry, withMetrics makes one and measures into it.
    const alone = withMetrics({ aws: base });
    await alone.aws.identifyKeys('aws', keys);
    expect(awsCallMetrics(alone.metrics).calls.get(series)).toBe(1);
  });

  it('records outcomes by the kind of failure, and passes results and errors through', async () => {
    const registry = createMetricsRegistry();
    let clock = 0;
    const problem = new AwsProblem('upstream', 'roleArn', 'Throttling', 'throttled');
    const gateway = withAwsMetrics(
      {
        identifyKeys: async () => ({ accountId: '1', arn: 'arn', userId: 'u' }),
        assumeRole: async () => {
          clock += 250;
          throw problem;
        },
        getSessionToken: async () => {
          throw new Error('socket hang up');
        },
      } as never,
      registry,
      () => clock,
    );
    await expect(
      gateway.identifyKeys('aws', { accessKeyId: 'a', secretAccessKey: 's' }),
    ).resolves.toEqual({
      accountId: '1',
      arn: 'arn',
      userId: 'u',
    });
    await expect(gateway.assumeRole('aws-cn', { roleArn: 'r', sessionName: 's' })).rejects.toBe(
      problem,
    );
    await expect(
      gateway.getSessionToken('aws', { accessKeyId: 'a', secretAccessKey: 's' }),
    ).rejects.toThrow('socket hang up');
    const text = await registry.render();
    expect(text).toContain(
      'onramp_aws_calls_total{operation="identifyKeys",partition="aws",outcome="success"} 1',
    );
    expect(text).toContain(
      'onramp_aws_calls_total{operation="assumeRole",partition="aws-cn",outcome="upstream"} 1',
    );
    expect(text).toContain(
      'onramp_aws_calls_total{operation="getSessionToken",partition="aws",outcome="error"} 1',
    );
    expect(text).toContain(
      'onramp_aws_call_duration_seconds_sum{operation="assumeRole",outcome="upstream"} 0.25',
    );
  });
});
