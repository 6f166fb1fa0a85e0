import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../adapters/db/database.ts';
import type { AwsGateway } from '../../ports/aws-gateway.ts';
import { createTestDatabase, TEST_DIALECTS } from '../../testing/databases.ts';
import { createFakeAws } from '../../testing/fake-aws.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

describe.each(TEST_DIALECTS)('connecting a principal twice on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let sequence = 0;
  const awsAccount = () => String(700000000000 + ++sequence);

  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const connectKeys = (tenant: TestTenant, keys: object, name = `Keys ${++sequence}`) =>
    tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name,
      partition: 'aws',
      ...keys,
    });

  const startConnection = async (tenant: TestTenant) => {
    const created = await tenant.admin.request('POST', '/v1/connections', {
      name: `Role ${++sequence}`,
      partition: 'aws',
    });
    expectStatus(created, 201);
    return created.body as { id: string; externalId: string };
  };

  it('refuses the same access key ID with 409 naming the account that has it, before asking AWS', async () => {
    const keys = h.aws.addUser('aws', awsAccount());
    const first = await connectKeys(a, keys, 'Production keys');
    expectStatus(first, 201);
    expect(first.body.notices).toEqual([]);
    const callsBefore = h.aws.calls.length;
    const second = await connectKeys(a, keys, 'Production keys again');
    expectProblem(second, 409, 'accessKeyId');
    expect(second.body.existingAccount).toEqual({ id: first.body.id, name: 'Production keys' });
    expect(second.body.errors[0]).toMatchObject({ code: 'already_connected' });
    expect(second.body.errors[0].message).toContain(first.body.id);
    expect(second.body.errors[0].message).toContain('Production keys');
    // Refused before AWS was asked, and the secret is nowhere in the answer.
    expect(h.aws.calls.length).toBe(callsBefore);
    expect(second.text).not.toContain((keys as { secretAccessKey: string }).secretAccessKey);
    const list = await a.admin.request('GET', `/v1/accounts?q=${first.body.awsAccountId}`);
    expect(list.body.accounts).toHaveLength(1);
  });

  it('warns of the duplicate when validating, before any save', async () => {
    const keys = h.aws.addUser('aws', awsAccount());
    const first = await connectKeys(a, keys);
    expectStatus(first, 201);
    const validated = await a.admin.request('POST', '/v1/accounts/validate', {
      method: 'access_keys',
      name: 'Whatever',
      partition: 'aws',
      ...keys,
    });
    expectStatus(validated, 200);
    expect(validated.body.notices).toEqual([
      expect.objectContaining({
        code: 'already_connected',
        accounts: [{ id: first.body.id, name: first.body.name }],
      }),
    ]);
  });

  it('refuses the same role ARN through a second connection', async () => {
    const one = await startConnection(a);
    const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, one.externalId);
    const first = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: one.id,
      roleArn,
    });
    expectStatus(first, 201);
    const two = await startConnection(a);
    const second = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: two.id,
      roleArn,
    });
    expectProblem(second, 409, 'roleArn');
    expect(second.body.existingAccount).toEqual({ id: first.body.id, name: first.body.name });
    // The second connection stays pending, to be used for another role.
    const pending = await a.admin.request('GET', `/v1/connections/${two.id}`);
    expect(pending.body.status).toBe('pending');
  });

  it('allows another principal in the same AWS account, with a notice naming the other account', async () => {
    const account = awsAccount();
    const first = await connectKeys(a, h.aws.addUser('aws', account), 'Team one');
    expectStatus(first, 201);
    const second = await connectKeys(a, h.aws.addUser('aws', account), 'Team two');
    expectStatus(second, 201);
    expect(second.body.notices).toEqual([
      {
        code: 'same_aws_account',
        message: expect.stringContaining(`"Team one" (${first.body.id})`),
        accounts: [{ id: first.body.id, name: 'Team one' }],
      },
    ]);
    // A GET answers the account as ever, without notices.
    const got = await a.admin.request('GET', `/v1/accounts/${second.body.id}`);
    expect(got.body.notices).toBeUndefined();
  });

  it('lets another tenant connect the same key: the rule holds within a tenant', async () => {
    const keys = h.aws.addUser('aws', awsAccount());
    expectStatus(await connectKeys(a, keys), 201);
    const theirs = await connectKeys(b, keys);
    expectStatus(theirs, 201);
    expect(theirs.body.notices).toEqual([]);
  });

  it('refuses new keys that another account of the tenant already uses', async () => {
    const account = awsAccount();
    const oneKeys = h.aws.addUser('aws', account);
    const twoKeys = h.aws.addUser('aws', account);
    const one = await connectKeys(a, oneKeys, `One ${sequence}`);
    const two = await connectKeys(a, twoKeys, `Two ${sequence}`);
    expectStatus(two, 201);
    const replaced = await a.admin.request('PUT', `/v1/accounts/${two.body.id}/credentials`, {
      method: 'access_keys',
      ...oneKeys,
    });
    expectProblem(replaced, 409, 'accessKeyId');
    expect(replaced.body.existingAccount.id).toBe(one.body.id);
    const kept = await a.admin.request('GET', `/v1/accounts/${two.body.id}`);
    expect(kept.body.accessKeyId).toBe((twoKeys as { accessKeyId: string }).accessKeyId);
    // Its own keys again are no conflict.
    const same = await a.admin.request('PUT', `/v1/accounts/${two.body.id}/credentials`, {
      method: 'access_keys',
      ...twoKeys,
    });
    expectStatus(same, 200);
  });
});

describe.each(TEST_DIALECTS)('two identical creates at once on %s', (dialect) => {
  it('answers one 201 and one 409 naming the account the other made', async () => {
    // Both requests pass the early check: AWS answers neither until both have asked.
    const fake = createFakeAws();
    let waiting: (() => void)[] = [];
    const gateway: AwsGateway = {
      ...fake.gateway,
      identifyKeys: async (partition, keys) => {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length === 2) {
            for (const go of waiting) go();
            waiting = [];
          }
        });
        return fake.gateway.identifyKeys(partition, keys);
      },
    };
    const h = await createHarness(dialect, { aws: gateway });
    try {
      const tenant = await h.tenant();
      const keys = fake.addUser('aws', '712345678901');
      const body = { method: 'access_keys', name: 'Same', partition: 'aws', ...keys };
      const answers = await Promise.all([
        tenant.admin.request('POST', '/v1/accounts', body),
        tenant.admin.request('POST', '/v1/accounts', body),
      ]);
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses, answers.map((r) => r.text).join('\n')).toEqual([201, 409]);
      const created = answers.find((r) => r.status === 201);
      const refused = answers.find((r) => r.status === 409);
      expectProblem(refused as NonNullable<typeof refused>, 409, 'accessKeyId');
      expect(refused?.body.existingAccount).toEqual({ id: created?.body.id, name: 'Same' });
      const list = await tenant.admin.request('GET', '/v1/accounts');
      expect(list.body.accounts).toHaveLength(1);
      // Neither left a secret behind for an account that does not exist.
      const secrets = await h.database.db.selectFrom('secrets').select('owner_id').execute();
      expect(secrets.map((s) => s.owner_id)).toEqual([created?.body.id]);
    } finally {
      await h.close();
    }
  });
});

describe.each(TEST_DIALECTS)('migration 0010_account_identity_index on %s', (dialect) => {
  it('keeps accounts that already shared a principal, and refuses new twins', async () => {
    const database = await createTestDatabase(dialect, ':memory:', {
      upTo: '0006_users_hardening',
    });
    try {
      const db = database.db;
      const at = (minute: number) => `2030-01-01T00:0${minute}:00.000Z`;
      await db
        .insertInto('tenants')
        .values({ id: 'ten_1', name: 'One', limits: '{}', created_at: at(0), updated_at: at(0) })
        .execute();
      const row = (
        id: string,
        minute: number,
        method: 'role' | 'access_keys',
        arnOrKey: string,
      ) => ({
        id,
        tenant_id: 'ten_1',
        name: id,
        description: '',
        partition: 'aws',
        method,
        aws_account_id: '123456789012',
        principal_arn: method === 'role' ? arnOrKey : 'arn:aws:iam::123456789012:user/u',
        role_arn: method === 'role' ? arnOrKey : null,
        external_id: null,
        connection_id: null,
        access_key_id: method === 'access_keys' ? arnOrKey : null,
        bundles: '[]',
        regions: '[]',
        status: 'valid' as const,
        status_detail: '{}',
        last_checked_at: null,
        stale_since: null,
        created_at: at(minute),
        updated_at: at(minute),
      });
      const role = 'arn:aws:iam::123456789012:role/OnrampRole';
      await db
        .insertInto('accounts')
        .values([
          row('acct_b', 1, 'role', role),
          row('acct_a', 2, 'role', role),
          row('acct_c', 3, 'access_keys', 'AKIAEXAMPLE000000001'),
          row('acct_d', 3, 'access_keys', 'AKIAEXAMPLE000000001'),
          row('acct_e', 4, 'access_keys', 'AKIAEXAMPLE000000002'),
        ])
        .execute();
      await migrateToLatest(database);
      const keys = await db
        .selectFrom('accounts')
        .select(['id', 'credential_key'])
        .orderBy('id')
        .execute();
      expect(keys).toEqual([
        { id: 'acct_a', credential_key: null },
        { id: 'acct_b', credential_key: `role:${role}` },
        { id: 'acct_c', credential_key: 'key:AKIAEXAMPLE000000001' },
        { id: 'acct_d', credential_key: null },
        { id: 'acct_e', credential_key: 'key:AKIAEXAMPLE000000002' },
      ]);
      await expect(
        db
          .insertInto('accounts')
          .values({
            ...row('acct_f', 5, 'access_keys', 'AKIAEXAMPLE000000002'),
            credential_key: 'key:AKIAEXAMPLE000000002',
          })
          .execute(),
      ).rejects.toThrow();
    } finally {
      await database.drop();
    }
  });
});
