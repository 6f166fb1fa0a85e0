import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AwsGateway } from '../../ports/aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';

const PUBLIC_URL = 'https://onramp.example.com';
/** Rounds of each race: one round failed on the code that counted before validating, but not always. */
const ROUNDS = 3;

let sequence = 0;
const awsAccount = () => String(500000000000 + ++sequence);

/**
 * `maxAccounts` holds when creates race: the count that decides is taken under the tenant's lock in the
 * transaction that inserts, after the slow validation, whichever way the account arrives.
 */
describe.each(TEST_DIALECTS)('the maxAccounts limit under concurrency on %s', (dialect) => {
  let h: Harness;

  beforeAll(async () => {
    // AWS answers in milliseconds, not at once: validation is the slow part a race slips through.
    const aws = new Proxy({} as AwsGateway, {
      get:
        (_target, name) =>
        async (...args: unknown[]) => {
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
          return Reflect.apply(h.aws.gateway[name as keyof AwsGateway], h.aws.gateway, args);
        },
    });
    h = await createHarness(dialect, { publicUrl: PUBLIC_URL, aws });
  });
  afterAll(async () => {
    await h?.close();
  });

  const accountsOf = async (tenantId: string) =>
    Number(
      (
        await h.database.db
          .selectFrom('accounts')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  const createWithKeys = (tenant: TestTenant) => {
    const keys = h.aws.addUser('aws', awsAccount());
    return tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Keys ${++sequence}`,
      partition: 'aws',
      accessKeyId: keys.accessKeyId,
      secretAccessKey: keys.secretAccessKey,
    });
  };

  /** A refusal a user can act on: 422 limit_reached, on `accounts`, naming the limit and the cap. */
  const expectRefused = (response: TestResponse, cap: number) => {
    expectProblem(response, 422, 'accounts');
    expect(response.body).toMatchObject({
      type: 'urn:onramp:problem:limit_reached',
      limit: 'maxAccounts',
      cap,
      errors: [
        expect.objectContaining({
          field: 'accounts',
          code: 'limit_reached',
          hint: expect.stringContaining('Delete'),
        }),
      ],
    });
  };

  it('12 creates released together with maxAccounts 3 make exactly 3 accounts and 9 clear refusals', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const tenant = await h.tenant(undefined, { maxAccounts: 3 });
      const responses = await Promise.all(Array.from({ length: 12 }, () => createWithKeys(tenant)));
      const created = responses.filter((r) => r.status === 201);
      const refused = responses.filter((r) => r.status !== 201);
      expect(created.length, `round ${round}: ${responses.map((r) => r.status).join(',')}`).toBe(3);
      for (const response of refused) expectRefused(response, 3);
      expect(await accountsOf(tenant.id)).toBe(3);
    }
  });

  it('holds for the CloudFormation call-back too, racing creates by hand', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const tenant = await h.tenant(undefined, { maxAccounts: 2 });
      // Each stack's connection and the token its template carries, set up before the race.
      const stacks = [];
      for (let i = 0; i < 4; i++) {
        const connection = await tenant.admin.request('POST', '/v1/connections', {
          name: `Stack ${++sequence}`,
          partition: 'aws',
        });
        expectStatus(connection, 201);
        const template = await tenant.admin.request(
          'GET',
          `/v1/connections/${connection.body.id}/cloudformation?format=json`,
        );
        expectStatus(template, 200);
        const token = JSON.parse(template.text).Parameters.CallbackToken.Default as string;
        const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
        h.aws.addRole(roleArn, connection.body.externalId);
        stacks.push({ token, roleArn });
      }
      const callbacks = stacks.map(({ token, roleArn }, i) =>
        h.app.inject({
          method: 'POST',
          url: '/v1/callbacks/cloudformation',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ requestType: 'Create', token, roleArn, stackId: `s${i}` }),
          remoteAddress: `203.0.113.${(++sequence % 250) + 1}`,
        }),
      );
      const byHand = Array.from({ length: 4 }, () => createWithKeys(tenant));
      const [fromStacks, fromHand] = await Promise.all([
        Promise.all(callbacks),
        Promise.all(byHand),
      ]);
      const accepted =
        fromStacks.filter((r) => r.statusCode === 200).length +
        fromHand.filter((r) => r.status === 201).length;
      expect(
        accepted,
        `round ${round}: stacks ${fromStacks.map((r) => r.statusCode)}, by hand ${fromHand.map((r) => r.status)}`,
      ).toBe(2);
      for (const response of fromStacks.filter((r) => r.statusCode !== 200)) {
        expect(response.statusCode, response.body).toBe(422);
        expect(response.json()).toMatchObject({ type: 'urn:onramp:problem:limit_reached' });
      }
      for (const response of fromHand.filter((r) => r.status !== 201)) expectRefused(response, 2);
      expect(await accountsOf(tenant.id)).toBe(2);
    }
  });

  it('keeps refusing early, before AWS is asked, once the tenant is full', async () => {
    const tenant = await h.tenant(undefined, { maxAccounts: 1 });
    expectStatus(await createWithKeys(tenant), 201);
    const callsBefore = h.aws.calls.length;
    expectRefused(await createWithKeys(tenant), 1);
    expect(h.aws.calls.length).toBe(callsBefore);
  });
});
