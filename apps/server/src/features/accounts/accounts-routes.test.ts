import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessKeys } from '../../ports/aws-gateway.ts';
import { type AwsGateway, AwsProblem } from '../../ports/aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';
import { createConnectionsRepository } from '../connections/connections-repository.ts';
import { createAccountsRepository, SECRET_ACCESS_KEY_FIELD } from './accounts-repository.ts';

/** How the wrapped AWS behaves for the next calls: as the fake, unreachable, or broken. */
type AwsMode = 'fake' | 'upstream' | 'broken';

describe.each(TEST_DIALECTS)('accounts on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let awsMode: AwsMode = 'fake';
  /** Every secret access key the tests handed to Onramp: no response may ever contain one. */
  const secrets = new Set<string>();
  let sequence = 0;
  const unique = (prefix: string) => `${prefix} ${++sequence}`;
  const awsAccount = () => String(300000000000 + ++sequence);

  beforeAll(async () => {
    // The harness's fake AWS, behind a switch that makes it unreachable or broken on demand.
    const gate = async <T>(call: () => Promise<T>): Promise<T> => {
      if (awsMode === 'upstream') {
        throw new AwsProblem('upstream', 'accessKeyId', 'Throttling', 'AWS throttled the request.');
      }
      if (awsMode === 'broken') throw new Error('socket hang up at 10.0.0.1 with internal detail');
      return call();
    };
    // Every method of the port goes through the switch.
    const aws = new Proxy({} as AwsGateway, {
      get:
        (_target, name) =>
        (...args: unknown[]) =>
          gate(() => Reflect.apply(h.aws.gateway[name as keyof AwsGateway], h.aws.gateway, args)),
    });
    h = await createHarness(dialect, { aws });
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    awsMode = 'fake';
  });

  /** Every request of these tests goes through here, and its raw text is searched for every secret. */
  const call = async (
    actor: Actor,
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<TestResponse> => {
    const response = await actor.request(method, url, body, headers);
    for (const secret of secrets) {
      expect(response.text.includes(secret), `a response carried a secret: ${method} ${url}`).toBe(
        false,
      );
    }
    return response;
  };

  const newKeys = (
    accountId = awsAccount(),
    partition: 'aws' | 'aws-us-gov' | 'aws-cn' = 'aws',
  ) => {
    const keys = h.aws.addUser(partition, accountId);
    secrets.add(keys.secretAccessKey);
    return keys;
  };

  const keysBody = (keys: AccessKeys, extra: Record<string, unknown> = {}) => ({
    method: 'access_keys',
    name: unique('Keys'),
    partition: 'aws',
    accessKeyId: keys.accessKeyId,
    secretAccessKey: keys.secretAccessKey,
    ...extra,
  });

  const createKeysAccount = async (
    tenant: TestTenant,
    extra: Record<string, unknown> = {},
    accountId = awsAccount(),
  ) => {
    const keys = newKeys(accountId, (extra.partition as 'aws') ?? 'aws');
    const response = await call(tenant.admin, 'POST', '/v1/accounts', keysBody(keys, extra));
    expectStatus(response, 201);
    return { account: response.body, keys };
  };

  const createConnection = async (tenant: TestTenant, extra: Record<string, unknown> = {}) => {
    const response = await call(tenant.admin, 'POST', '/v1/connections', {
      name: unique('Role'),
      description: 'From the set-up',
      partition: 'aws',
      ...extra,
    });
    expectStatus(response, 201);
    return response.body as {
      id: string;
      externalId: string;
      name: string;
      bundles: string[];
      regions: string[];
    };
  };

  const createRoleAccount = async (tenant: TestTenant, extra: Record<string, unknown> = {}) => {
    const connection = await createConnection(tenant);
    const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, connection.externalId);
    const response = await call(tenant.admin, 'POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.id,
      roleArn,
      ...extra,
    });
    expectStatus(response, 201);
    return { account: response.body, connection, roleArn };
  };

  const count = async (table: 'accounts' | 'secrets' | 'connections', tenantId: string) => {
    const row = await h.database.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  const auditOf = (targetId: string) =>
    h.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', targetId)
      .orderBy('seq')
      .execute();

  const repository = () => createAccountsRepository(h.database.db, () => new Date());

  /** The stored secret access key, opened with the envelope, as Onramp would to use it. */
  const storedSecret = async (tenantId: string, accountId: string) => {
    const sealed = await repository().findSecret(tenantId, accountId, SECRET_ACCESS_KEY_FIELD);
    if (!sealed) return undefined;
    return h.deps.envelope.open(sealed, {
      tenantId,
      ownerId: accountId,
      field: SECRET_ACCESS_KEY_FIELD,
    });
  };

  describe('POST /v1/accounts/validate', () => {
    it('checks keys step by step and stores nothing', async () => {
      const accountId = awsAccount();
      const keys = newKeys(accountId);
      const before = {
        accounts: await count('accounts', a.id),
        secrets: await count('secrets', a.id),
      };
      const response = await call(a.admin, 'POST', '/v1/accounts/validate', keysBody(keys));
      expectStatus(response, 200);
      expect(response.body).toMatchObject({
        valid: true,
        identity: { accountId, arn: `arn:aws:iam::${accountId}:user/onramp` },
        errors: [],
      });
      expect(
        response.body.checks.map((c: { name: string; status: string }) => [c.name, c.status]),
      ).toEqual([
        ['shape', 'passed'],
        ['identity', 'passed'],
        ['permissions', 'passed'],
      ]);
      for (const check of response.body.checks) expect(check.durationMs).toBeGreaterThanOrEqual(0);
      expect(await count('accounts', a.id)).toBe(before.accounts);
      expect(await count('secrets', a.id)).toBe(before.secrets);
    });

    it('checks a role, including that it refuses to be assumed without the external ID', async () => {
      const connection = await createConnection(a);
      const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
      h.aws.addRole(roleArn, connection.externalId);
      const response = await call(a.admin, 'POST', '/v1/accounts/validate', {
        method: 'role',
        connectionId: connection.id,
        roleArn,
      });
      expectStatus(response, 200);
      expect(response.body.valid).toBe(true);
      expect(
        response.body.checks.map((c: { name: string; status: string }) => [c.name, c.status]),
      ).toEqual([
        ['shape', 'passed'],
        ['hub', 'passed'],
        ['identity', 'passed'],
        ['external_id_required', 'passed'],
        ['permissions', 'passed'],
      ]);
      const connectionAfter = await call(a.admin, 'GET', `/v1/connections/${connection.id}`);
      expect(connectionAfter.body.status).toBe('pending');
    });

    it('reports what failed with 200, and skips what depends on it', async () => {
      const keys = newKeys();
      const response = await call(
        a.admin,
        'POST',
        '/v1/accounts/validate',
        keysBody(keys, {
          secretAccessKey: `${keys.secretAccessKey.slice(0, 39)}${keys.secretAccessKey.endsWith('x') ? 'y' : 'x'}`,
        }),
      );
      expectStatus(response, 200);
      expect(response.body.valid).toBe(false);
      expect(response.body.identity).toBeNull();
      expect(response.body.errors.map((e: { field: string }) => e.field)).toEqual([
        'secretAccessKey',
      ]);
      expect(response.body.checks.map((c: { status: string }) => c.status)).toEqual([
        'passed',
        'failed',
        'skipped',
      ]);
    });
  });

  describe('POST /v1/accounts with access keys', () => {
    it('saves a validated account, seals the secret and never returns it', async () => {
      const accountId = awsAccount();
      const keys = newKeys(accountId);
      const response = await call(
        a.admin,
        'POST',
        '/v1/accounts',
        keysBody(keys, {
          name: 'Billing',
          description: 'Cost reports',
          bundles: ['cost-inventory'],
          regions: ['eu-west-1'],
        }),
      );
      expectStatus(response, 201);
      const account = response.body;
      expect(account).toMatchObject({
        id: expect.stringMatching(/^acct_/),
        name: 'Billing',
        description: 'Cost reports',
        partition: 'aws',
        method: 'access_keys',
        awsAccountId: accountId,
        principalArn: `arn:aws:iam::${accountId}:user/onramp`,
        roleArn: null,
        accessKeyId: keys.accessKeyId,
        connectionId: null,
        bundles: ['cost-inventory'],
        regions: ['eu-west-1'],
        status: 'valid',
        lastCheckedAt: expect.any(String),
      });
      const permissions = account.checks.find((c: { name: string }) => c.name === 'permissions');
      expect(permissions).toMatchObject({
        status: 'passed',
        detail: expect.stringContaining('action checks of the chosen bundles are allowed'),
      });
      expect(Object.keys(account)).not.toContain('secretAccessKey');

      const rows = await h.database.db
        .selectFrom('secrets')
        .selectAll()
        .where('owner_id', '=', account.id)
        .execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ tenant_id: a.id, field: 'secretAccessKey' });
      expect(JSON.stringify(rows)).not.toContain(keys.secretAccessKey);
      expect(await storedSecret(a.id, account.id)).toBe(keys.secretAccessKey);
      const accountRow = await h.database.db
        .selectFrom('accounts')
        .selectAll()
        .where('id', '=', account.id)
        .executeTakeFirstOrThrow();
      expect(JSON.stringify(accountRow)).not.toContain(keys.secretAccessKey);

      const audit = await auditOf(account.id);
      expect(audit.map((e) => e.action)).toEqual(['account.created']);
      expect(audit[0]).toMatchObject({
        tenant_id: a.id,
        actor_id: a.admin.userId,
        request_id: response.headers['x-request-id'],
        source_ip: expect.any(String),
      });
      expect(audit[0]?.details).toContain(keys.accessKeyId);
      expect(audit[0]?.details).not.toContain(keys.secretAccessKey);

      const read = await call(a.viewer, 'GET', `/v1/accounts/${account.id}`);
      expectStatus(read, 200);
      // The same account, without the notices of its creation.
      const { notices, ...saved } = account;
      expect(notices).toEqual([]);
      expect(read.body).toEqual(saved);
    });

    it('refuses a wrong secret on secretAccessKey, with the checks, and saves nothing', async () => {
      const keys = newKeys();
      const wrong = `${keys.secretAccessKey.slice(0, 39)}${keys.secretAccessKey.endsWith('A') ? 'B' : 'A'}`;
      secrets.add(wrong);
      const before = await count('accounts', a.id);
      const response = await call(
        a.admin,
        'POST',
        '/v1/accounts',
        keysBody(keys, { secretAccessKey: wrong }),
      );
      expectProblem(response, 422, 'secretAccessKey');
      expect(
        response.body.checks.map((c: { name: string; status: string }) => [c.name, c.status]),
      ).toEqual([
        ['shape', 'passed'],
        ['identity', 'failed'],
        ['permissions', 'skipped'],
      ]);
      expect(await count('accounts', a.id)).toBe(before);
    });

    it('refuses an unknown access key on accessKeyId', async () => {
      const secret = 'A'.repeat(40);
      const response = await call(
        a.admin,
        'POST',
        '/v1/accounts',
        keysBody({ accessKeyId: 'AKIA0000000000000000', secretAccessKey: secret }),
      );
      expectProblem(response, 422, 'accessKeyId');
      expect(response.body.errors[0].code).toBe('InvalidClientTokenId');
    });

    it('refuses temporary (ASIA) keys on accessKeyId without asking AWS', async () => {
      const calls = h.aws.calls.length;
      const response = await call(
        a.admin,
        'POST',
        '/v1/accounts',
        keysBody({ accessKeyId: 'ASIA1234567890ABCDEF', secretAccessKey: 'B'.repeat(40) }),
      );
      expectProblem(response, 422, 'accessKeyId');
      expect(response.body.errors[0]).toMatchObject({
        field: 'accessKeyId',
        code: 'temporary_access_key',
      });
      expect(h.aws.calls.length).toBe(calls);
    });

    it('refuses a secret of the wrong shape without repeating it', async () => {
      const secret = 'short-secret-value-123';
      secrets.add(secret);
      const response = await call(
        a.admin,
        'POST',
        '/v1/accounts',
        keysBody({ accessKeyId: 'AKIA1234567890ABCDEF', secretAccessKey: secret }),
      );
      expectProblem(response, 422, 'secretAccessKey');
      expect(response.body.errors[0].code).toBe('invalid_format');
    });

    it('refuses the root user’s keys on accessKeyId', async () => {
      const keys = h.aws.addRootKeys('aws', awsAccount());
      secrets.add(keys.secretAccessKey);
      const response = await call(a.admin, 'POST', '/v1/accounts', keysBody(keys));
      expectProblem(response, 422, 'accessKeyId');
      expect(response.body.errors[0]).toMatchObject({
        code: 'root_access_key',
        hint: expect.stringContaining('dedicated IAM user'),
      });
    });

    it('refuses keys of another partition', async () => {
      const keys = newKeys(awsAccount(), 'aws-us-gov');
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts', keysBody(keys, { partition: 'aws' })),
        422,
        'partition',
      );
    });

    it('connects keys in aws-cn, where no hub is needed', async () => {
      const { account } = await createKeysAccount(a, { partition: 'aws-cn' });
      expect(account.partition).toBe('aws-cn');
    });

    it('answers 502 when AWS is unreachable, and 500 without details when something breaks', async () => {
      const keys = newKeys();
      const before = await count('accounts', a.id);
      awsMode = 'upstream';
      const upstream = await call(a.admin, 'POST', '/v1/accounts', keysBody(keys));
      expectProblem(upstream, 502);
      expect(upstream.body.type).toBe('urn:onramp:problem:upstream_unavailable');
      expect(upstream.body.detail).not.toMatch(/invalid/i);
      expect(upstream.body.errors).toEqual([]);
      const dry = await call(a.admin, 'POST', '/v1/accounts/validate', keysBody(keys));
      expectProblem(dry, 502);

      awsMode = 'broken';
      const broken = await call(a.admin, 'POST', '/v1/accounts', keysBody(keys));
      expectProblem(broken, 500);
      expect(broken.text).not.toContain('10.0.0.1');
      expect(await count('accounts', a.id)).toBe(before);
    });

    it('refuses a duplicate name with 409 on name, before asking AWS', async () => {
      const { account } = await createKeysAccount(a);
      const calls = h.aws.calls.length;
      const response = await call(
        a.admin,
        'POST',
        '/v1/accounts',
        keysBody(newKeys(), { name: account.name }),
      );
      expectProblem(response, 409, 'name');
      expect(h.aws.calls.length).toBe(calls);
      // The same name in another tenant is fine.
      await createKeysAccount(b, { name: account.name });
    });

    it('keeps one account when two requests race for the same name', async () => {
      const name = unique('Race');
      const bodies = [keysBody(newKeys(), { name }), keysBody(newKeys(), { name })];
      const before = {
        accounts: await count('accounts', a.id),
        secrets: await count('secrets', a.id),
      };
      const responses = await Promise.all(
        bodies.map((body) => call(a.admin, 'POST', '/v1/accounts', body)),
      );
      expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(await count('accounts', a.id)).toBe(before.accounts + 1);
      expect(await count('secrets', a.id)).toBe(before.secrets + 1);
    });

    it('refuses bad input, naming the field', async () => {
      const keys = newKeys();
      expectProblem(
        await call(
          a.admin,
          'POST',
          '/v1/accounts',
          keysBody(keys, { bundles: ['no-such-bundle'] }),
        ),
        422,
        'bundles[0]',
      );
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts', keysBody(keys, { regions: ['cn-north-1'] })),
        422,
        'regions[0]',
      );
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts', keysBody(keys, { name: 'x'.repeat(101) })),
        400,
        'name',
      );
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts', keysBody(keys, { partition: 'mars' })),
        400,
        'partition',
      );
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts', { ...keysBody(keys), accessKeyId: undefined }),
        400,
        'accessKeyId',
      );
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts', { ...keysBody(keys), method: 'password' }),
        400,
      );
      expectProblem(await call(a.admin, 'POST', '/v1/accounts', 'not json'), 400);
    });

    it('enforces the tenant’s limits, naming them', async () => {
      const limited = await h.tenant(undefined, {
        maxAccounts: 1,
        partitions: ['aws', 'aws-cn'],
        methods: ['access_keys'],
      });
      await createKeysAccount(limited);
      const full = await call(limited.admin, 'POST', '/v1/accounts', keysBody(newKeys()));
      expectProblem(full, 422);
      expect(full.body).toMatchObject({
        type: 'urn:onramp:problem:limit_reached',
        limit: 'maxAccounts',
      });
      expect(full.body.detail).toContain('maxAccounts');

      const govOnly = await h.tenant(undefined, { partitions: ['aws-us-gov'] });
      const partition = await call(govOnly.admin, 'POST', '/v1/accounts', keysBody(newKeys()));
      expectProblem(partition, 422, 'partition');
      expect(partition.body.limit).toBe('partitions');

      const rolesOnly = await h.tenant(undefined, { methods: ['role'] });
      const method = await call(rolesOnly.admin, 'POST', '/v1/accounts', keysBody(newKeys()));
      expectProblem(method, 422, 'method');
      expect(method.body.limit).toBe('methods');
    });
  });

  describe('POST /v1/accounts with a role', () => {
    it('connects the set-up’s role with its external ID, named after the set-up', async () => {
      const { account, connection, roleArn } = await createRoleAccount(a);
      expect(account).toMatchObject({
        name: connection.name,
        description: 'From the set-up',
        method: 'role',
        roleArn,
        principalArn: roleArn,
        accessKeyId: null,
        connectionId: connection.id,
        bundles: connection.bundles,
        regions: connection.regions,
        status: 'valid',
      });
      const c = await call(a.admin, 'GET', `/v1/connections/${connection.id}`);
      expect(c.body).toMatchObject({ status: 'connected', accountId: account.id });
      const secretRows = await h.database.db
        .selectFrom('secrets')
        .select('id')
        .where('owner_id', '=', account.id)
        .execute();
      expect(secretRows).toEqual([]);
      // A second account from the same set-up is refused.
      const again = await call(a.admin, 'POST', '/v1/accounts', {
        method: 'role',
        connectionId: connection.id,
        roleArn,
        name: unique('Again'),
      });
      expectProblem(again, 409, 'connectionId');
    });

    it('takes a name and description given with the role', async () => {
      const { account } = await createRoleAccount(a, { name: unique('Named'), description: '' });
      expect(account.name).toMatch(/^Named/);
      expect(account.description).toBe('');
    });

    it('refuses a role that trusts Onramp without the external-ID condition, showing the condition to add', async () => {
      const connection = await createConnection(a);
      const roleArn = `arn:aws:iam::${awsAccount()}:role/OpenRole`;
      h.aws.addRole(roleArn, null);
      const response = await call(a.admin, 'POST', '/v1/accounts', {
        method: 'role',
        connectionId: connection.id,
        roleArn,
      });
      expectProblem(response, 422, 'roleArn');
      const error = response.body.errors[0];
      expect(error.code).toBe('external_id_not_required');
      expect(error.hint).toContain(
        `"Condition": {"StringEquals": {"sts:ExternalId": "${connection.externalId}"}}`,
      );
      expect(
        response.body.checks.find((c: { name: string }) => c.name === 'external_id_required')
          .status,
      ).toBe('failed');
      const c = await call(a.admin, 'GET', `/v1/connections/${connection.id}`);
      expect(c.body.status).toBe('pending');
    });

    it('refuses a role that does not trust this external ID', async () => {
      const connection = await createConnection(a);
      const roleArn = `arn:aws:iam::${awsAccount()}:role/OtherRole`;
      h.aws.addRole(roleArn, 'onramp-some-other-external-id');
      const response = await call(a.admin, 'POST', '/v1/accounts', {
        method: 'role',
        connectionId: connection.id,
        roleArn,
      });
      expectProblem(response, 422, 'roleArn');
      expect(response.body.errors[0].code).toBe('AccessDenied');
    });

    it('refuses a role ARN of another partition', async () => {
      const connection = await createConnection(a);
      const roleArn = `arn:aws-us-gov:iam::${awsAccount()}:role/OnrampRole`;
      h.aws.addRole(roleArn, connection.externalId);
      const response = await call(a.admin, 'POST', '/v1/accounts', {
        method: 'role',
        connectionId: connection.id,
        roleArn,
      });
      expectProblem(response, 422, 'roleArn');
      expect(response.body.errors[0].code).toBe('wrong_partition');
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts', {
          method: 'role',
          connectionId: connection.id,
          roleArn: 'arn:aws:s3:::bucket',
        }),
        422,
        'roleArn',
      );
    });

    it('refuses roles in aws-cn, which has no hub identity, on partition', async () => {
      expectProblem(
        await call(a.admin, 'POST', '/v1/connections', { name: unique('CN'), partition: 'aws-cn' }),
        422,
        'partition',
      );
      // A set-up stored while aws-cn had a hub (the operator removed it since) cannot be connected either.
      const stored = await createConnectionsRepository(h.database.db, () => new Date()).create(
        a.id,
        {
          name: unique('Old CN'),
          description: '',
          partition: 'aws-cn',
          bundles: ['cost-inventory', 'kubernetes-clusters', 'nodes-ec2'],
          regions: [],
          externalId: `onramp-${'c'.repeat(43)}`,
          roleName: 'OnrampRole',
        },
      );
      const roleArn = `arn:aws-cn:iam::${awsAccount()}:role/OnrampRole`;
      h.aws.addRole(roleArn, stored.externalId);
      const calls = h.aws.calls.length;
      const response = await call(a.admin, 'POST', '/v1/accounts', {
        method: 'role',
        connectionId: stored.id,
        roleArn,
      });
      expectProblem(response, 422, 'partition');
      expect(response.body.errors[0].code).toBe('hub_not_configured');
      expect(h.aws.calls.length).toBe(calls);
    });

    it('refuses a connection that is not this tenant’s', async () => {
      const theirs = await createConnection(b);
      const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
      h.aws.addRole(roleArn, theirs.externalId);
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts', {
          method: 'role',
          connectionId: theirs.id,
          roleArn,
        }),
        404,
        'connectionId',
      );
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts/validate', {
          method: 'role',
          connectionId: theirs.id,
          roleArn,
        }),
        404,
        'connectionId',
      );
      expectProblem(
        await call(a.admin, 'POST', '/v1/accounts', { method: 'role', roleArn }),
        400,
        'connectionId',
      );
    });

    it('connects a set-up once when two requests race for it', async () => {
      const connection = await createConnection(a);
      const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
      h.aws.addRole(roleArn, connection.externalId);
      const before = await count('accounts', a.id);
      const responses = await Promise.all(
        ['One', 'Two'].map((n) =>
          call(a.admin, 'POST', '/v1/accounts', {
            method: 'role',
            connectionId: connection.id,
            roleArn,
            name: unique(n),
          }),
        ),
      );
      expect(responses.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(await count('accounts', a.id)).toBe(before + 1);
    });
  });

  describe('GET /v1/accounts', () => {
    let tenant: TestTenant;
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      tenant = await h.tenant();
      ids.alpha = (
        await createKeysAccount(
          tenant,
          { name: 'Alpha Prod', description: 'Main 100% production' },
          '411111111111',
        )
      ).account.id;
      ids.beta = (
        await createKeysAccount(tenant, { name: 'beta staging', description: 'QA' }, '422222222222')
      ).account.id;
      ids.gov = (
        await createKeysAccount(tenant, { name: 'Gov', partition: 'aws-us-gov' }, '433333333333')
      ).account.id;
      ids.role = (await createRoleAccount(tenant, { name: 'Role PROD' })).account.id;
      ids.under = (
        await createKeysAccount(tenant, { name: 'under_score', description: 'x' }, '411111111111')
      ).account.id;
    });

    const list = async (query = '', actor: Actor = tenant.viewer) => {
      const response = await call(actor, 'GET', `/v1/accounts${query}`);
      expectStatus(response, 200);
      return response.body as { accounts: { id: string; name: string }[]; next: string | null };
    };

    it('lists the tenant’s accounts by id, and filters them', async () => {
      const all = await list();
      expect(all.accounts.map((x) => x.id)).toEqual(Object.values(ids).sort());
      expect(all.next).toBeNull();
      expect((await list('?partition=aws-us-gov')).accounts.map((x) => x.id)).toEqual([ids.gov]);
      expect((await list('?method=role')).accounts.map((x) => x.id)).toEqual([ids.role]);
      expect((await list('?method=access_keys&partition=aws')).accounts.map((x) => x.id)).toEqual(
        [ids.alpha, ids.beta, ids.under].sort(),
      );
      expect((await list('?status=valid')).accounts).toHaveLength(5);
      expect((await list('?status=invalid')).accounts).toHaveLength(0);
      expect((await list('?awsAccountId=411111111111')).accounts.map((x) => x.id)).toEqual(
        [ids.alpha, ids.under].sort(),
      );
    });

    it('searches names and descriptions ignoring case, with LIKE’s wildcards taken literally', async () => {
      expect((await list('?q=prod')).accounts.map((x) => x.id)).toEqual(
        [ids.alpha, ids.role].sort(),
      );
      expect((await list('?q=STAGING')).accounts.map((x) => x.id)).toEqual([ids.beta]);
      expect((await list('?q=qa')).accounts.map((x) => x.id)).toEqual([ids.beta]);
      expect((await list(`?q=${encodeURIComponent('100%')}`)).accounts.map((x) => x.id)).toEqual([
        ids.alpha,
      ]);
      expect((await list(`?q=${encodeURIComponent('%')}`)).accounts.map((x) => x.id)).toEqual([
        ids.alpha,
      ]);
      expect((await list('?q=_')).accounts.map((x) => x.id)).toEqual([ids.under]);
      expect((await list('?q=nothing-like-this')).accounts).toEqual([]);
    });

    it('pages with an opaque cursor', async () => {
      const seen: string[] = [];
      let query = '?limit=2';
      let pages = 0;
      for (;;) {
        const page = await list(query);
        pages += 1;
        expect(page.accounts.length).toBeLessThanOrEqual(2);
        seen.push(...page.accounts.map((x) => x.id));
        if (!page.next) break;
        expect(page.next).not.toContain('acct_');
        query = `?limit=2&cursor=${encodeURIComponent(page.next)}`;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(Object.values(ids).sort());
      const filtered = await list('?limit=1&method=access_keys&partition=aws');
      expect(filtered.next).not.toBeNull();
      const second = await list(
        `?limit=1&method=access_keys&partition=aws&cursor=${filtered.next}`,
      );
      expect(second.accounts[0]?.id).toBe([ids.alpha, ids.beta, ids.under].sort()[1]);
    });

    it('refuses bad filters, naming them', async () => {
      expectProblem(await call(tenant.viewer, 'GET', '/v1/accounts?cursor=garbage'), 400, 'cursor');
      expectProblem(await call(tenant.viewer, 'GET', '/v1/accounts?limit=0'), 400, 'limit');
      expectProblem(
        await call(tenant.viewer, 'GET', '/v1/accounts?partition=mars'),
        400,
        'partition',
      );
      expectProblem(
        await call(tenant.viewer, 'GET', '/v1/accounts?awsAccountId=12'),
        400,
        'awsAccountId',
      );
    });

    it('never shows another tenant’s accounts', async () => {
      const others = await list('', b.viewer);
      for (const id of Object.values(ids))
        expect(others.accounts.map((x) => x.id)).not.toContain(id);
      expect((await list('?q=Alpha', b.admin)).accounts).toEqual([]);
    });
  });

  describe('PATCH /v1/accounts/:id', () => {
    it('renames and describes an account, and audits what changed', async () => {
      const { account } = await createKeysAccount(a);
      const name = unique('Renamed');
      const response = await call(a.admin, 'PATCH', `/v1/accounts/${account.id}`, {
        name,
        description: 'New words',
      });
      expectStatus(response, 200);
      expect(response.body).toMatchObject({ name, description: 'New words', status: 'valid' });
      const audit = await auditOf(account.id);
      expect(audit.map((e) => e.action)).toEqual(['account.created', 'account.updated']);
      expect(JSON.parse(audit[1]?.details ?? '{}')).toMatchObject({
        changed: ['name', 'description'],
        name,
      });
    });

    it('refuses a duplicate name and bad permissions, naming the field', async () => {
      const { account } = await createKeysAccount(a);
      const { account: other } = await createKeysAccount(a);
      expectProblem(
        await call(a.admin, 'PATCH', `/v1/accounts/${account.id}`, { name: other.name }),
        409,
        'name',
      );
      expectProblem(
        await call(a.admin, 'PATCH', `/v1/accounts/${account.id}`, {
          bundles: ['nodes-ec2', 'nope'],
        }),
        422,
        'bundles[1]',
      );
      expectProblem(
        await call(a.admin, 'PATCH', `/v1/accounts/${account.id}`, { regions: ['eu-west-99'] }),
        422,
        'regions[0]',
      );
      expectProblem(
        await call(a.admin, 'PATCH', `/v1/accounts/${account.id}`, { name: '' }),
        400,
        'name',
      );
      const unchanged = await call(a.admin, 'GET', `/v1/accounts/${account.id}`);
      expect(unchanged.body).toMatchObject({ name: account.name, bundles: account.bundles });
    });

    it('checks a role again when its permissions change, and keeps the set-up’s templates in step', async () => {
      const { account, connection, roleArn } = await createRoleAccount(a);
      const assumed = () => h.aws.calls.filter((c) => c.target === roleArn).length;
      const before = assumed();
      const response = await call(a.admin, 'PATCH', `/v1/accounts/${account.id}`, {
        bundles: ['nodes-ec2', 'nodes-autoscaling'],
        regions: ['us-east-1'],
      });
      expectStatus(response, 200);
      expect(response.body).toMatchObject({
        bundles: ['nodes-autoscaling', 'nodes-ec2'],
        regions: ['us-east-1'],
        status: 'valid',
      });
      expect(assumed()).toBeGreaterThan(before);
      const c = await call(a.admin, 'GET', `/v1/connections/${connection.id}`);
      expect(c.body).toMatchObject({
        bundles: ['nodes-autoscaling', 'nodes-ec2'],
        regions: ['us-east-1'],
      });

      // The role was deleted in AWS: the next change records the account as invalid, with why.
      h.aws.deleteRole(roleArn);
      const broken = await call(a.admin, 'PATCH', `/v1/accounts/${account.id}`, { regions: [] });
      expectStatus(broken, 200);
      expect(broken.body.status).toBe('invalid');
      expect(broken.body.checks.find((x: { name: string }) => x.name === 'identity').status).toBe(
        'failed',
      );
    });
  });

  describe('PUT /v1/accounts/:id/credentials', () => {
    it('replaces keys after validating them, and audits the rotation', async () => {
      const accountId = awsAccount();
      const { account, keys } = await createKeysAccount(a, {}, accountId);
      const fresh = newKeys(accountId);
      const response = await call(a.admin, 'PUT', `/v1/accounts/${account.id}/credentials`, {
        method: 'access_keys',
        ...fresh,
      });
      expectStatus(response, 200);
      expect(response.body).toMatchObject({ accessKeyId: fresh.accessKeyId, status: 'valid' });
      expect(await storedSecret(a.id, account.id)).toBe(fresh.secretAccessKey);
      const audit = await auditOf(account.id);
      expect(audit.map((e) => e.action)).toEqual([
        'account.created',
        'account.credentials_rotated',
      ]);
      const details = JSON.parse(audit[1]?.details ?? '{}');
      expect(details).toMatchObject({
        previousAccessKeyId: keys.accessKeyId,
        accessKeyId: fresh.accessKeyId,
      });
      expect(audit[1]?.details).not.toContain(fresh.secretAccessKey);
      expect(await count('secrets', a.id)).toBeGreaterThan(0);
      const rows = await h.database.db
        .selectFrom('secrets')
        .select('id')
        .where('owner_id', '=', account.id)
        .execute();
      expect(rows).toHaveLength(1);
    });

    it('leaves the old keys in place when the new ones fail', async () => {
      const accountId = awsAccount();
      const { account, keys } = await createKeysAccount(a, {}, accountId);
      const fresh = newKeys(accountId);
      const wrongSecret = `${fresh.secretAccessKey.slice(0, 39)}${fresh.secretAccessKey.endsWith('Z') ? 'Y' : 'Z'}`;
      secrets.add(wrongSecret);
      const response = await call(a.admin, 'PUT', `/v1/accounts/${account.id}/credentials`, {
        method: 'access_keys',
        accessKeyId: fresh.accessKeyId,
        secretAccessKey: wrongSecret,
      });
      expectProblem(response, 422, 'secretAccessKey');
      expect(response.body.checks).toBeInstanceOf(Array);

      const otherAccount = newKeys(awsAccount());
      const mismatch = await call(a.admin, 'PUT', `/v1/accounts/${account.id}/credentials`, {
        method: 'access_keys',
        ...otherAccount,
      });
      expectProblem(mismatch, 422, 'accessKeyId');
      expect(mismatch.body.errors[0].code).toBe('account_mismatch');

      expectProblem(
        await call(a.admin, 'PUT', `/v1/accounts/${account.id}/credentials`, {
          method: 'role',
          roleArn: `arn:aws:iam::${accountId}:role/X`,
        }),
        422,
        'method',
      );
      expectProblem(
        await call(a.admin, 'PUT', `/v1/accounts/${account.id}/credentials`, {
          method: 'access_keys',
          accessKeyId: 'ASIA1234567890ABCDEF',
          secretAccessKey: 'C'.repeat(40),
        }),
        422,
        'accessKeyId',
      );

      const after = await call(a.admin, 'GET', `/v1/accounts/${account.id}`);
      expect(after.body.accessKeyId).toBe(keys.accessKeyId);
      expect(after.body.updatedAt).toBe(account.updatedAt);
      expect(await storedSecret(a.id, account.id)).toBe(keys.secretAccessKey);
      // …and the stored keys still work.
      const stored = await storedSecret(a.id, account.id);
      const check = await call(
        a.admin,
        'POST',
        '/v1/accounts/validate',
        keysBody({ accessKeyId: after.body.accessKeyId, secretAccessKey: stored ?? '' }),
      );
      expect(check.body.valid).toBe(true);
      expect((await auditOf(account.id)).map((e) => e.action)).toEqual(['account.created']);
    });

    it('replaces a role ARN after validating it with the set-up’s external ID', async () => {
      const { account, connection, roleArn } = await createRoleAccount(a);
      const accountId = roleArn.split(':')[4];
      const open = `arn:aws:iam::${accountId}:role/Open`;
      h.aws.addRole(open, null);
      const refused = await call(a.admin, 'PUT', `/v1/accounts/${account.id}/credentials`, {
        method: 'role',
        roleArn: open,
      });
      expectProblem(refused, 422, 'roleArn');
      expect((await call(a.admin, 'GET', `/v1/accounts/${account.id}`)).body.roleArn).toBe(roleArn);

      const next = `arn:aws:iam::${accountId}:role/path/OnrampRole2`;
      h.aws.addRole(next, connection.externalId);
      const response = await call(a.admin, 'PUT', `/v1/accounts/${account.id}/credentials`, {
        method: 'role',
        roleArn: next,
      });
      expectStatus(response, 200);
      expect(response.body).toMatchObject({ roleArn: next, principalArn: next });
      expect((await auditOf(account.id)).map((e) => e.action)).toEqual([
        'account.created',
        'account.credentials_rotated',
      ]);
    });
  });

  describe('DELETE /v1/accounts/:id', () => {
    it('deletes the account, purges its secret in the same step, and keeps the audit trail', async () => {
      const { account } = await createKeysAccount(a);
      const response = await call(a.admin, 'DELETE', `/v1/accounts/${account.id}`);
      expectStatus(response, 204);
      expectProblem(await call(a.admin, 'GET', `/v1/accounts/${account.id}`), 404);
      const rows = await h.database.db
        .selectFrom('secrets')
        .select('id')
        .where('owner_id', '=', account.id)
        .execute();
      expect(rows).toEqual([]);
      const audit = await auditOf(account.id);
      expect(audit.map((e) => e.action)).toEqual(['account.created', 'account.deleted']);
      expect(audit[1]).toMatchObject({
        actor_id: a.admin.userId,
        request_id: response.headers['x-request-id'],
      });
      expectProblem(await call(a.admin, 'DELETE', `/v1/accounts/${account.id}`), 404);
    });

    it('lets the set-up of a deleted role account be connected again', async () => {
      const { account, connection, roleArn } = await createRoleAccount(a);
      expectStatus(await call(a.admin, 'DELETE', `/v1/accounts/${account.id}`), 204);
      const c = await call(a.admin, 'GET', `/v1/connections/${connection.id}`);
      expect(c.body).toMatchObject({
        status: 'pending',
        accountId: null,
        externalId: connection.externalId,
      });
      const again = await call(a.admin, 'POST', '/v1/accounts', {
        method: 'role',
        connectionId: connection.id,
        roleArn,
      });
      expectStatus(again, 201);
    });
  });

  it('documents its routes in the OpenAPI document', async () => {
    const response = await h.send('GET', '/openapi.json', {});
    expectStatus(response, 200);
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/accounts',
        '/v1/accounts/validate',
        '/v1/accounts/{id}',
        '/v1/accounts/{id}/credentials',
      ]),
    );
    const secret = JSON.stringify(response.body.paths['/v1/accounts'].post.requestBody);
    expect(secret).toContain('"writeOnly":true');
  });

  describe('security', () => {
    it('secures every route: sign-in, role or scope, and tenant', async () => {
      const { account, keys } = await createKeysAccount(a);
      const readOnly = [await a.token(['credentials:vend'])];
      const writers = [a.viewer, await a.token(['accounts:read'])];
      const other = [b.admin, b.viewer, await b.token(['accounts:read', 'accounts:write'])];
      const body = keysBody(newKeys());
      await expectSecured(
        h,
        { method: 'POST', url: '/v1/accounts/validate', body },
        { forbidden: writers },
      );
      await expectSecured(h, { method: 'POST', url: '/v1/accounts', body }, { forbidden: writers });
      await expectSecured(h, { method: 'GET', url: '/v1/accounts' }, { forbidden: readOnly });
      const url = `/v1/accounts/${account.id}`;
      await expectSecured(h, { method: 'GET', url }, { forbidden: readOnly, otherTenant: other });
      await expectSecured(
        h,
        { method: 'PATCH', url, body: { name: unique('Taken') } },
        { forbidden: writers, otherTenant: [b.admin] },
      );
      await expectSecured(
        h,
        { method: 'PUT', url: `${url}/credentials`, body: { method: 'access_keys', ...keys } },
        { forbidden: writers, otherTenant: [b.admin] },
      );
      await expectSecured(
        h,
        { method: 'DELETE', url },
        { forbidden: writers, otherTenant: [b.admin] },
      );
      const still = await call(a.admin, 'GET', url);
      expectStatus(still, 200);
      expect(still.body).toMatchObject({ name: account.name, accessKeyId: keys.accessKeyId });
      expect(await storedSecret(a.id, account.id)).toBe(keys.secretAccessKey);

      const token = await a.token(['accounts:read', 'accounts:write']);
      expectStatus(await call(token, 'POST', '/v1/accounts/validate', keysBody(newKeys())), 200);
      const operator = await h.operator();
      expectStatus(await call(operator, 'GET', url, undefined, { 'onramp-tenant': a.id }), 200);
      expectProblem(await call(operator, 'GET', url, undefined, { 'onramp-tenant': b.id }), 404);
      expectProblem(
        await call(operator, 'POST', '/v1/accounts', keysBody(newKeys()), {
          'onramp-tenant': 'ten_nonexistent',
        }),
        404,
      );
    });
  });
});
