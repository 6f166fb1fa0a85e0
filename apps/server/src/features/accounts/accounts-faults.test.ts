/**
 * AWS misbehaving, on the wire: the real SDK adapter against the loopback AWS, in all three partitions,
 * for each way an endpoint fails (no IAM simulator, 5xx with AWS's XML, 5xx with an HTML page, no
 * answer, throttling past the retries). What the other checks learned is kept: validate reports each
 * step, connect saves an account whose identity and external ID passed as `unverified`, a health check
 * records every step, and vending answers a retryable 502 that is never cached.
 */
import type { PartitionId } from '@onramp/core';
import { type FaultKind, type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import type { Dialect } from '../../adapters/db/database.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { bundlePolicy, createConnectedRole, createHub } from '../../testing/loopback-world.ts';

const PARTITIONS: PartitionId[] = ['aws', 'aws-us-gov', 'aws-cn'];
const CUSTOMER = '222233334444';

interface Fault {
  name: string;
  /** Makes the partition's simulator calls fail this way. */
  apply(aws: LoopbackAws, partition: PartitionId): void;
  /** What the permissions check's detail says about it. */
  reason: RegExp;
}

const simulatorFault = (kind: FaultKind, status?: 500 | 503): Fault['apply'] => {
  return (aws, partition) =>
    aws.injectFault({
      kind,
      partition,
      action: 'iam:SimulatePrincipalPolicy',
      ...(status ? { status } : {}),
    });
};

const FAULTS: Fault[] = [
  {
    name: 'no IAM simulator (500, HTML)',
    apply: (aws) => {
      aws.simulator = false;
    },
    reason: /HTTP 500 with a body that is not an AWS error/,
  },
  { name: '5xx with AWS XML', apply: simulatorFault('error', 503), reason: /ServiceUnavailable/ },
  { name: '5xx with an HTML page', apply: simulatorFault('html'), reason: /not an AWS error/ },
  { name: 'no answer (timeout)', apply: simulatorFault('timeout'), reason: /did not answer/ },
  { name: 'throttling past the retries', apply: simulatorFault('throttle'), reason: /throttled/ },
];

async function world(dialect: Dialect) {
  const aws = await startLoopbackAws();
  const hubs: Partial<Record<PartitionId, ReturnType<typeof createHub>>> = {};
  for (const partition of PARTITIONS) {
    aws.createAccount(partition, CUSTOMER);
    hubs[partition] = createHub(aws, partition);
  }
  const gateway = createSdkAwsGateway({
    hubs: Object.fromEntries(PARTITIONS.map((p) => [p, hubs[p]?.config])),
    endpoint: aws.url,
    maxAttempts: 2,
    // Short enough for the timeout faults, long enough for the loopback's simulator on a busy machine.
    requestTimeoutMs: 1000,
    callTimeoutMs: 2500,
  });
  const h = await createHarness(dialect, {
    aws: gateway,
    hubs: Object.fromEntries(PARTITIONS.map((p) => [p, { principalArn: hubs[p]?.user.arn ?? '' }])),
  });
  return { aws, h, hubArn: (p: PartitionId) => hubs[p]?.user.arn ?? '' };
}

let sequence = 0;

/** A user whose policy is what the keys template grants, and the validate/create body for its keys. */
function keysOf(h: Harness, aws: LoopbackAws, partition: PartitionId) {
  const user = aws.createUser(partition, CUSTOMER, `onramp-${++sequence}`, {
    policies: [
      bundlePolicy(h.deps.catalog, {
        partition,
        bundles: 'default',
        principal: 'user',
        accountId: CUSTOMER,
      }),
    ],
  });
  return {
    method: 'access_keys',
    name: `Keys ${sequence}`,
    partition,
    accessKeyId: user.accessKeyId,
    secretAccessKey: user.secretAccessKey,
  };
}

/** A pending connection and the role its template makes; returns the create body. */
async function roleOf(
  h: Harness,
  aws: LoopbackAws,
  tenant: TestTenant,
  partition: PartitionId,
  hubArn: string,
  options: { externalIdRequired?: boolean } = {},
) {
  const roleName = `OnrampRole${++sequence}`;
  const connection = await tenant.admin.request('POST', '/v1/connections', {
    name: `Role ${sequence}`,
    partition,
    roleName,
  });
  expectStatus(connection, 201);
  const role = createConnectedRole(aws, h.deps.catalog, {
    partition,
    accountId: CUSTOMER,
    roleName,
    hubArn,
    externalId: connection.body.externalId,
    bundles: connection.body.bundles,
  });
  if (options.externalIdRequired === false) {
    aws.updateTrustPolicy(partition, role.arn, {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: hubArn }, Action: 'sts:AssumeRole' }],
    });
  }
  return { method: 'role', connectionId: connection.body.id, roleArn: role.arn };
}

const statusOf = (checks: { name: string; status: string }[]) =>
  Object.fromEntries(checks.map((c) => [c.name, c.status]));

describe('AWS failing one step, in every partition', () => {
  let aws: LoopbackAws;
  let h: Harness;
  let hubArn: (p: PartitionId) => string;
  let tenant: TestTenant;

  beforeAll(async () => {
    ({ aws, h, hubArn } = await world('sqlite'));
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });
  beforeEach(() => {
    aws.clearFaults();
    aws.simulator = true;
  });

  describe.each(PARTITIONS)('in %s', (partition) => {
    describe.each(FAULTS)('$name', (fault) => {
      it('validate keeps the identity, and says why the permissions are unverified', async () => {
        const body = keysOf(h, aws, partition);
        fault.apply(aws, partition);
        const response = await tenant.admin.request('POST', '/v1/accounts/validate', body);
        expectStatus(response, 200);
        expect(response.body).toMatchObject({ valid: true, status: 'unverified', errors: [] });
        expect(response.body.identity.arn).toMatch(`:user/onramp-`);
        expect(statusOf(response.body.checks)).toEqual({
          shape: 'passed',
          identity: 'passed',
          permissions: 'warning',
        });
        const permissions = response.body.checks.find(
          (c: { name: string }) => c.name === 'permissions',
        );
        expect(permissions.detail).toMatch(/SimulatePrincipalPolicy/);
        expect(permissions.detail).toMatch(fault.reason);
      });

      it('connect saves the role as unverified, with the reason', async () => {
        const body = await roleOf(h, aws, tenant, partition, hubArn(partition));
        fault.apply(aws, partition);
        const created = await tenant.admin.request('POST', '/v1/accounts', body);
        expectStatus(created, 201);
        expect(created.body).toMatchObject({ status: 'unverified', partition });
        expect(statusOf(created.body.checks)).toEqual({
          shape: 'passed',
          hub: 'passed',
          identity: 'passed',
          external_id_required: 'passed',
          permissions: 'warning',
        });
        expect(
          created.body.checks.find((c: { name: string }) => c.name === 'permissions').detail,
        ).toMatch(fault.reason);
        const shown = await tenant.viewer.request('GET', `/v1/accounts/${created.body.id}`);
        expect(shown.body.status).toBe('unverified');
      });

      it('a health check records every step and keeps a valid account valid', async () => {
        const created = await tenant.admin.request(
          'POST',
          '/v1/accounts',
          await roleOf(h, aws, tenant, partition, hubArn(partition)),
        );
        expectStatus(created, 201);
        expect(created.body.status).toBe('valid');
        fault.apply(aws, partition);
        const check = await tenant.admin.request('POST', `/v1/accounts/${created.body.id}/check`);
        expectStatus(check, 200);
        expect(check.body).toMatchObject({ status: 'valid', changed: false, stale: false });
        expect(statusOf(check.body.checks)).toMatchObject({
          identity: 'passed',
          external_id_required: 'passed',
          permissions: 'warning',
        });
        expect(check.body.errors).toEqual([
          expect.objectContaining({
            field: 'permissions',
            message: expect.stringMatching(fault.reason),
          }),
        ]);
        const shown = await tenant.viewer.request('GET', `/v1/accounts/${created.body.id}`);
        expect(shown.body).toMatchObject({ status: 'valid', stale: false });
      });
    });

    it('a fault on AssumeRole: connect and the health check keep what they learned', async () => {
      const created = await tenant.admin.request(
        'POST',
        '/v1/accounts',
        await roleOf(h, aws, tenant, partition, hubArn(partition)),
      );
      expectStatus(created, 201);
      aws.injectFault({ kind: 'html', partition, action: 'sts:AssumeRole' });
      // No AWS call answered: a 502, with the checks saying which step and why.
      const body = await roleOf(h, aws, tenant, partition, hubArn(partition));
      const refused = await tenant.admin.request('POST', '/v1/accounts', body);
      expectProblem(refused, 502);
      expect(refused.headers['retry-after']).toBeDefined();
      expect(statusOf(refused.body.checks)).toEqual({
        shape: 'passed',
        hub: 'passed',
        identity: 'error',
        external_id_required: 'skipped',
        permissions: 'skipped',
      });
      const check = await tenant.admin.request('POST', `/v1/accounts/${created.body.id}/check`);
      expectStatus(check, 200);
      expect(check.body).toMatchObject({ status: 'valid', stale: true });
      expect(statusOf(check.body.checks)).toMatchObject({ identity: 'error' });
      expect(check.body.checks.find((c: { name: string }) => c.name === 'identity').detail).toMatch(
        /not an AWS error/,
      );
    });

    it.each(['error', 'html', 'timeout', 'throttle'] as const)(
      'vending answers a retryable 502 on a %s fault, and caches nothing',
      async (kind) => {
        const created = await tenant.admin.request(
          'POST',
          '/v1/accounts',
          await roleOf(h, aws, tenant, partition, hubArn(partition)),
        );
        expectStatus(created, 201);
        const service = await tenant.token(['credentials:vend']);
        aws.injectFault({ kind, partition, action: 'sts:AssumeRole' });
        const failed = await service.request(
          'POST',
          `/v1/accounts/${created.body.id}/credentials`,
          {},
        );
        expectProblem(failed, 502);
        expect(failed.body).toMatchObject({ retryable: true });
        expect(failed.body.detail).toMatch(/no credentials were issued/);
        expect(failed.headers['retry-after']).toBeDefined();
        expect(failed.text).not.toMatch(/ASIA|SecretAccessKey|sessionToken/);
        aws.clearFaults();
        const vended = await service.request(
          'POST',
          `/v1/accounts/${created.body.id}/credentials`,
          {},
        );
        expectStatus(vended, 200);
        expect(vended.headers['onramp-credentials-cache']).toBe('miss');
      },
    );
  });

  it('an account connected unverified stays unverified on a check, never invalid', async () => {
    aws.simulator = false;
    const created = await tenant.admin.request(
      'POST',
      '/v1/accounts',
      await roleOf(h, aws, tenant, 'aws', hubArn('aws')),
    );
    expectStatus(created, 201);
    expect(created.body.status).toBe('unverified');
    const check = await tenant.admin.request('POST', `/v1/accounts/${created.body.id}/check`);
    expect(check.body).toMatchObject({ status: 'unverified', changed: false, stale: false });
    // The simulator is back: the next check verifies the permissions.
    aws.simulator = true;
    const again = await tenant.admin.request('POST', `/v1/accounts/${created.body.id}/check`);
    expect(again.body).toMatchObject({ status: 'valid', previousStatus: 'unverified' });
  });

  it('a role assumable without the external ID is refused even when the simulator fails', async () => {
    aws.simulator = false;
    const body = await roleOf(h, aws, tenant, 'aws-us-gov', hubArn('aws-us-gov'), {
      externalIdRequired: false,
    });
    const refused = await tenant.admin.request('POST', '/v1/accounts', body);
    expectProblem(refused, 422, 'roleArn');
    expect(refused.body.errors[0].code).toBe('external_id_not_required');
  });
});

describe('calls in flight are cut once the outcome is decided', () => {
  let aws: LoopbackAws;
  let h: Harness;
  let hubArn: (p: PartitionId) => string;
  let tenant: TestTenant;

  beforeAll(async () => {
    ({ aws, h, hubArn } = await world('sqlite'));
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });
  beforeEach(() => {
    aws.clearFaults();
    aws.clearCalls();
  });

  /**
   * Every call was over with the response, and none started after it. The loopback hears of a cut
   * call a moment after the client closed it (a request already on the wire is even read after its
   * client left), hence the margin; without cutting, the calls would run seconds longer.
   */
  const expectNothingAfter = async (answeredAt: number) => {
    const margin = 100;
    await expect.poll(() => aws.inFlight, { timeout: 500 }).toBe(0);
    for (const call of aws.calls) {
      expect(call.at.getTime(), `${call.action} started after the response`).toBeLessThanOrEqual(
        answeredAt + margin,
      );
      expect(
        call.endedAt.getTime(),
        `${call.action} ran on after the response`,
      ).toBeLessThanOrEqual(answeredAt + margin);
      if (call.at.getTime() > answeredAt) expect(call.clientClosed).toBe(true);
    }
  };

  it('a definite refusal cuts the permission check still running', async () => {
    const body = await roleOf(h, aws, tenant, 'aws-cn', hubArn('aws-cn'), {
      externalIdRequired: false,
    });
    aws.clearCalls();
    aws.injectFault({ kind: 'timeout', action: 'SimulatePrincipalPolicy', hangMs: 5000 });
    const started = Date.now();
    const response = await tenant.admin.request('POST', '/v1/accounts/validate', body);
    const answeredAt = Date.now();
    expectStatus(response, 200);
    expect(answeredAt - started).toBeLessThan(2000);
    expect(statusOf(response.body.checks)).toMatchObject({
      external_id_required: 'failed',
      permissions: 'skipped',
    });
    await expectNothingAfter(answeredAt);
    aws.clearFaults();
  });

  it('a client that goes away cuts the calls made for it', async () => {
    const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const body = keysOf(h, aws, 'aws-us-gov');
    aws.clearCalls();
    aws.injectFault({ kind: 'timeout', action: 'SimulatePrincipalPolicy', hangMs: 10_000 });
    const gone = fetch(`${address}/v1/accounts/validate`, {
      method: 'POST',
      headers: { ...tenant.admin.headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(500),
    });
    await expect(gone).rejects.toThrow();
    await expect.poll(() => aws.inFlight, { timeout: 2000 }).toBe(0);
    const simulations = aws.calls.filter((c) => c.action === 'SimulatePrincipalPolicy');
    expect(simulations.length).toBeGreaterThan(0);
    expect(simulations.every((c) => c.clientClosed)).toBe(true);
    aws.clearFaults();
  });
});

describe.runIf(TEST_DIALECTS.includes('postgres'))('on PostgreSQL', () => {
  it('connects keys as unverified against an endpoint without the simulator', async () => {
    const { aws, h } = await world('postgres');
    try {
      aws.simulator = false;
      const tenant = await h.tenant();
      const created = await tenant.admin.request('POST', '/v1/accounts', keysOf(h, aws, 'aws-cn'));
      expectStatus(created, 201);
      expect(created.body).toMatchObject({ status: 'unverified', partition: 'aws-cn' });
      const check = await tenant.admin.request('POST', `/v1/accounts/${created.body.id}/check`);
      expect(check.body).toMatchObject({ status: 'unverified', stale: false });
      expect(statusOf(check.body.checks)).toEqual({
        shape: 'passed',
        identity: 'passed',
        permissions: 'warning',
      });
    } finally {
      await h.close();
      await aws.stop();
    }
  });
});
