import { regionIds } from '@onramp/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  HUBS,
  type TestTenant,
} from '../../testing/harness.ts';
import { CACHE_HEADER } from './credentials-routes.ts';

describe.each(TEST_DIALECTS)('credential vending and console links on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let sequence = 0;
  const awsAccount = () => String(400000000000 + ++sequence);

  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const createRoleAccount = async (
    tenant: TestTenant,
    connection: Record<string, unknown> = {},
  ) => {
    const created = await tenant.admin.request('POST', '/v1/connections', {
      name: `Role ${++sequence}`,
      partition: 'aws',
      ...connection,
    });
    expectStatus(created, 201);
    const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, created.body.externalId);
    const response = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: created.body.id,
      roleArn,
    });
    expectStatus(response, 201);
    return { id: response.body.id as string, roleArn, bundles: response.body.bundles as string[] };
  };

  const createKeysAccount = async (tenant: TestTenant) => {
    const keys = h.aws.addUser('aws', awsAccount());
    const response = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Keys ${++sequence}`,
      partition: 'aws',
      ...keys,
    });
    expectStatus(response, 201);
    return { id: response.body.id as string, keys };
  };

  const awsCalls = (op: string, target: string) =>
    h.aws.calls.filter((c) => c.op === op && c.target === target).length;
  /** AssumeRole calls made to vend (validation assumes the role too, as `onramp-validate`). */
  const vendCalls = (roleArn: string) =>
    h.aws.assumeRoleInputs.filter(
      (i) => i.roleArn === roleArn && i.sessionName.startsWith('onramp-tok_'),
    ).length;

  describe('POST /v1/accounts/:id/credentials', () => {
    it('assumes the role with the external ID, named and tagged after the token, and audits it without the credentials', async () => {
      const { id, roleArn } = await createRoleAccount(a);
      const service = await a.token(['credentials:vend']);
      const before = awsCalls('assumeRole', roleArn);
      const response = await service.request('POST', `/v1/accounts/${id}/credentials`, {});
      expectStatus(response, 200);
      expect(Object.keys(response.body).sort()).toEqual([
        'accessKeyId',
        'expiration',
        'secretAccessKey',
        'sessionToken',
      ]);
      expect(response.body.accessKeyId).toMatch(/^ASIA/);
      expect(response.headers[CACHE_HEADER]).toBe('miss');
      expect(awsCalls('assumeRole', roleArn) - before).toBe(1);
      const input = h.aws.assumeRoleInputs.at(-1);
      expect(input).toMatchObject({
        roleArn,
        externalId: expect.stringMatching(/^onramp-/),
        sessionName: `onramp-${service.tokenId}`.slice(0, 64),
        durationSeconds: 3600,
        tags: [
          { key: 'onramp:token', value: service.tokenId },
          { key: 'onramp:tenant', value: a.id },
        ],
      });
      expect(input?.policy).toBeUndefined();
      // An hour from now: the default duration.
      const expiresIn = Date.parse(response.body.expiration) - Date.now();
      expect(expiresIn).toBeGreaterThan(3500_000);
      expect(expiresIn).toBeLessThanOrEqual(3600_000);

      const audit = await a.admin.request('GET', `/v1/audit?targetId=${id}`);
      expect(audit.body.entries[0]).toMatchObject({
        action: 'account.credentials_vended',
        actorId: service.tokenId,
        details: { method: 'role', bundles: null, durationSeconds: 3600, cache: 'miss' },
      });
      for (const secret of [response.body.secretAccessKey, response.body.sessionToken])
        expect(audit.text).not.toContain(secret);
    });

    it('serves the same credentials from the cache the second time, and audits the hit', async () => {
      const { id, roleArn } = await createRoleAccount(a);
      const service = await a.token(['credentials:vend']);
      const first = await service.request('POST', `/v1/accounts/${id}/credentials`);
      const second = await service.request('POST', `/v1/accounts/${id}/credentials`);
      expectStatus(second, 200);
      expect(second.body).toEqual(first.body);
      expect(second.headers[CACHE_HEADER]).toBe('hit');
      expect(vendCalls(roleArn)).toBe(1);
      const audit = await a.admin.request('GET', `/v1/audit?targetId=${id}`);
      expect(audit.body.entries[0]).toMatchObject({
        action: 'account.credentials_vended',
        details: { cache: 'hit' },
      });
      // Another duration is another session.
      const longer = await service.request('POST', `/v1/accounts/${id}/credentials`, {
        durationSeconds: 1800,
      });
      expect(longer.headers[CACHE_HEADER]).toBe('miss');
      expect(longer.body.accessKeyId).not.toBe(first.body.accessKeyId);
    });

    it('makes one AWS call for 50 concurrent requests for the same credentials', async () => {
      const { id, roleArn } = await createRoleAccount(a);
      const service = await a.token(['credentials:vend']);
      const responses = await Promise.all(
        Array.from({ length: 50 }, () =>
          service.request('POST', `/v1/accounts/${id}/credentials`, {}),
        ),
      );
      for (const response of responses) expectStatus(response, 200);
      expect(new Set(responses.map((r) => r.body.accessKeyId)).size).toBe(1);
      expect(vendCalls(roleArn)).toBe(1);
      expect(responses.filter((r) => r.headers[CACHE_HEADER] === 'miss')).toHaveLength(1);
    });

    it('never hands one token’s session to another token', async () => {
      const { id, roleArn } = await createRoleAccount(a);
      const one = await a.token(['credentials:vend']);
      const two = await a.token(['credentials:vend']);
      const first = await one.request('POST', `/v1/accounts/${id}/credentials`);
      const second = await two.request('POST', `/v1/accounts/${id}/credentials`);
      expect(second.body.accessKeyId).not.toBe(first.body.accessKeyId);
      expect(vendCalls(roleArn)).toBe(2);
      expect(h.aws.assumeRoleInputs.at(-1)?.sessionName).toBe(`onramp-${two.tokenId}`);
    });

    it('narrows the session to some of the account’s bundles with a session policy', async () => {
      const { id, bundles } = await createRoleAccount(a, {
        bundles: ['nodes-ec2', 'cost-explorer'],
      });
      expect(bundles).toEqual(['cost-explorer', 'nodes-ec2']);
      const service = await a.token(['credentials:vend']);
      const response = await service.request('POST', `/v1/accounts/${id}/credentials`, {
        bundles: ['nodes-ec2'],
      });
      expectStatus(response, 200);
      const policy = JSON.parse(h.aws.assumeRoleInputs.at(-1)?.policy ?? '{}');
      const actions = policy.Statement.flatMap((s: { Action: string[] }) => s.Action);
      expect(actions.some((a: string) => a.startsWith('ec2:'))).toBe(true);
      expect(actions.some((a: string) => a.startsWith('ce:'))).toBe(false);
      // Placeholders are filled for the account.
      expect(JSON.stringify(policy)).not.toContain('{{');
      // The narrowed session is cached apart from the full one.
      const full = await service.request('POST', `/v1/accounts/${id}/credentials`);
      expect(full.headers[CACHE_HEADER]).toBe('miss');
      const again = await service.request('POST', `/v1/accounts/${id}/credentials`, {
        bundles: ['nodes-ec2', 'nodes-ec2'],
      });
      expect(again.headers[CACHE_HEADER]).toBe('hit');
      const audit = await a.admin.request('GET', `/v1/audit?targetId=${id}`);
      expect(audit.body.entries[0].details).toMatchObject({ bundles: ['nodes-ec2'] });
    });

    it('refuses a bundle the account does not have, and a narrowing too large for a session policy', async () => {
      const { id } = await createRoleAccount(a, {
        bundles: 'all',
        regions: regionIds('aws').slice(0, 16),
      });
      const service = await a.token(['credentials:vend']);
      const calls = h.aws.calls.length;
      const foreign = await service.request('POST', `/v1/accounts/${id}/credentials`, {
        bundles: ['nodes-ec2', 'no-such-bundle'],
      });
      expectProblem(foreign, 422, 'bundles[1]');
      const everything = await a.admin.request('GET', `/v1/accounts/${id}`);
      const tooLarge = await service.request('POST', `/v1/accounts/${id}/credentials`, {
        bundles: everything.body.bundles,
      });
      expectProblem(tooLarge, 422, 'bundles');
      expect(tooLarge.body.errors[0]).toMatchObject({ code: 'session_policy_too_large' });
      expect(h.aws.calls.length).toBe(calls);
      const small = await service.request('POST', `/v1/accounts/${id}/credentials`, {
        bundles: ['nodes-ec2'],
      });
      expectStatus(small, 200);
    });

    it('caps the duration at an hour when the hub is itself a role (role chaining)', async () => {
      const { id } = await createRoleAccount(a);
      const service = await a.token(['credentials:vend']);
      expect(HUBS.aws?.principalArn).toMatch(/:role\//);
      const response = await service.request('POST', `/v1/accounts/${id}/credentials`, {
        durationSeconds: 7200,
      });
      expectStatus(response, 200);
      expect(h.aws.assumeRoleInputs.at(-1)?.durationSeconds).toBe(3600);
    });

    it('vends a GetSessionToken session for an access-key account, and refuses to narrow it', async () => {
      const { id, keys } = await createKeysAccount(a);
      const service = await a.token(['credentials:vend']);
      const response = await service.request('POST', `/v1/accounts/${id}/credentials`, {
        durationSeconds: 7200,
      });
      expectStatus(response, 200);
      expect(response.body.accessKeyId).toMatch(/^ASIA/);
      expect(response.text).not.toContain(keys.secretAccessKey);
      expect(awsCalls('getSessionToken', keys.accessKeyId)).toBe(1);
      const expiresIn = Date.parse(response.body.expiration) - Date.now();
      expect(expiresIn).toBeGreaterThan(7000_000);
      const narrowed = await service.request('POST', `/v1/accounts/${id}/credentials`, {
        bundles: ['nodes-ec2'],
      });
      expectProblem(narrowed, 422, 'bundles');
    });

    it('does not serve a rotated or re-permissioned account from the cache, nor a deleted one', async () => {
      const { id, roleArn } = await createRoleAccount(a);
      const service = await a.token(['credentials:vend']);
      const first = await service.request('POST', `/v1/accounts/${id}/credentials`);

      const newRole = `arn:aws:iam::${roleArn.split(':')[4]}:role/OnrampRole2`;
      const account = await a.admin.request('GET', `/v1/accounts/${id}`);
      const connection = await a.admin.request(
        'GET',
        `/v1/connections/${account.body.connectionId}`,
      );
      h.aws.addRole(newRole, connection.body.externalId);
      const rotated = await a.admin.request('PUT', `/v1/accounts/${id}/credentials`, {
        method: 'role',
        roleArn: newRole,
      });
      expectStatus(rotated, 200);
      const afterRotation = await service.request('POST', `/v1/accounts/${id}/credentials`);
      expect(afterRotation.headers[CACHE_HEADER]).toBe('miss');
      expect(afterRotation.body.accessKeyId).not.toBe(first.body.accessKeyId);
      expect(h.aws.assumeRoleInputs.at(-1)?.roleArn).toBe(newRole);

      const changed = await a.admin.request('PATCH', `/v1/accounts/${id}`, {
        bundles: ['nodes-ec2'],
      });
      expectStatus(changed, 200);
      const afterChange = await service.request('POST', `/v1/accounts/${id}/credentials`);
      expect(afterChange.headers[CACHE_HEADER]).toBe('miss');

      expectStatus(await a.admin.request('DELETE', `/v1/accounts/${id}`), 204);
      expectProblem(await service.request('POST', `/v1/accounts/${id}/credentials`), 404);
    });

    it('sees an account deleted on another replica within a second', async () => {
      let now = Date.now();
      const other = await createHarness(dialect, { clock: () => new Date(now) });
      try {
        const tenant = await other.tenant();
        const keys = other.aws.addUser('aws', awsAccount());
        const created = await tenant.admin.request('POST', '/v1/accounts', {
          method: 'access_keys',
          name: 'Elsewhere',
          partition: 'aws',
          ...keys,
        });
        expectStatus(created, 201);
        const service = await tenant.token(['credentials:vend']);
        const url = `/v1/accounts/${created.body.id}/credentials`;
        expectStatus(await service.request('POST', url), 200);
        // Deleted behind this replica's back, as another replica's DELETE /v1/accounts/:id would.
        await other.database.db.deleteFrom('accounts').where('id', '=', created.body.id).execute();
        expectStatus(await service.request('POST', url), 200);
        now += 1001;
        expectProblem(await service.request('POST', url), 404);
      } finally {
        await other.close();
      }
    });

    it('says what to fix when AWS refuses, and audits nothing', async () => {
      const { id, roleArn } = await createRoleAccount(a);
      h.aws.deleteRole(roleArn);
      const service = await a.token(['credentials:vend']);
      const response = await service.request('POST', `/v1/accounts/${id}/credentials`);
      expectProblem(response, 422, 'roleArn');
      const audit = await a.admin.request('GET', `/v1/audit?targetId=${id}`);
      expect(audit.body.entries[0].action).not.toBe('account.credentials_vended');
    });

    it('validates the body', async () => {
      const { id } = await createRoleAccount(a);
      const service = await a.token(['credentials:vend']);
      expectProblem(
        await service.request('POST', `/v1/accounts/${id}/credentials`, { durationSeconds: 60 }),
        400,
        'durationSeconds',
      );
      expectProblem(
        await service.request('POST', `/v1/accounts/${id}/credentials`, { bundles: [] }),
        400,
        'bundles',
      );
    });

    it('is for tokens with credentials:vend of the account’s tenant only', async () => {
      const { id } = await createRoleAccount(a);
      await expectSecured(
        h,
        { method: 'POST', url: `/v1/accounts/${id}/credentials`, body: {} },
        {
          forbidden: [a.admin, a.viewer, await a.token(['accounts:read', 'accounts:write'])],
          otherTenant: [await b.token(['credentials:vend'])],
        },
      );
    });
  });

  describe('POST /v1/accounts/:id/console-link', () => {
    it('makes a federation sign-in link from a session of the account’s role, and audits it without the link', async () => {
      const { id, roleArn } = await createRoleAccount(a);
      const response = await a.admin.request('POST', `/v1/accounts/${id}/console-link`);
      expectStatus(response, 200);
      const url = new URL(response.body.url);
      expect(url.origin).toBe('https://signin.aws.amazon.com');
      expect(url.pathname).toBe('/federation');
      expect(url.searchParams.get('Action')).toBe('login');
      expect(url.searchParams.get('Destination')).toBe('https://console.aws.amazon.com/');
      // No public URL: no Issuer (see the Host header test below).
      expect(url.searchParams.has('Issuer')).toBe(false);
      const token = url.searchParams.get('SigninToken') ?? '';
      expect(h.aws.signinTokens.get(token)).toBe(roleArn);
      expect(Date.parse(response.body.expiresAt) - Date.now()).toBeLessThanOrEqual(15 * 60_000);
      expect(h.aws.assumeRoleInputs.at(-1)).toMatchObject({
        roleArn,
        sessionName: `onramp-console-${a.admin.userId}`.slice(0, 64),
        tags: [
          { key: 'onramp:user', value: a.admin.userId },
          { key: 'onramp:tenant', value: a.id },
        ],
      });
      const audit = await a.admin.request('GET', `/v1/audit?targetId=${id}`);
      expect(audit.body.entries[0]).toMatchObject({
        action: 'account.console_link_created',
        actorId: a.admin.userId,
      });
      expect(audit.text).not.toContain(token);
    });

    it('uses the partition’s sign-in and console hosts', async () => {
      const created = await a.admin.request('POST', '/v1/connections', {
        name: `Gov ${++sequence}`,
        partition: 'aws-us-gov',
      });
      const roleArn = `arn:aws-us-gov:iam::${awsAccount()}:role/OnrampRole`;
      h.aws.addRole(roleArn, created.body.externalId);
      const account = await a.admin.request('POST', '/v1/accounts', {
        method: 'role',
        connectionId: created.body.id,
        roleArn,
      });
      expectStatus(account, 201);
      const operator = await h.operator();
      const response = await operator.request(
        'POST',
        `/v1/accounts/${account.body.id}/console-link`,
        undefined,
        { 'onramp-tenant': a.id },
      );
      expectStatus(response, 200);
      const url = new URL(response.body.url);
      expect(url.host).toBe('signin.amazonaws-us-gov.com');
      expect(url.searchParams.get('Destination')).toBe('https://console.amazonaws-us-gov.com/');
    });

    it('refuses an access-key account: console links need a role', async () => {
      const { id } = await createKeysAccount(a);
      expectProblem(
        await a.admin.request('POST', `/v1/accounts/${id}/console-link`),
        422,
        'method',
      );
    });

    it('is for signed-in people who may change accounts, in the account’s tenant', async () => {
      const { id } = await createRoleAccount(a);
      await expectSecured(
        h,
        { method: 'POST', url: `/v1/accounts/${id}/console-link` },
        {
          forbidden: [
            a.viewer,
            await a.token(['accounts:write', 'credentials:vend']),
            await a.token(['admin', 'accounts:write']),
          ],
          otherTenant: [b.admin],
        },
      );
    });

    it('never takes its Issuer from the request: without a public URL there is none', async () => {
      const { id } = await createRoleAccount(a);
      const response = await a.admin.request('POST', `/v1/accounts/${id}/console-link`, undefined, {
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
      });
      expectStatus(response, 200);
      const url = new URL(response.body.url);
      expect(url.searchParams.has('Issuer')).toBe(false);
      expect(response.text).not.toContain('evil.example');
    });

    it('uses the public URL as Issuer, whatever Host or X-Forwarded-Host say, behind a proxy too', async () => {
      const publicUrl = 'https://onramp.example.com';
      const proxied = await createHarness(dialect, { publicUrl, trustProxy: 1 });
      try {
        const tenant = await proxied.tenant();
        const created = await tenant.admin.request('POST', '/v1/connections', {
          name: 'Issuer',
          partition: 'aws',
        });
        const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
        proxied.aws.addRole(roleArn, created.body.externalId);
        const account = await tenant.admin.request('POST', '/v1/accounts', {
          method: 'role',
          connectionId: created.body.id,
          roleArn,
        });
        expectStatus(account, 201);
        const response = await tenant.admin.request(
          'POST',
          `/v1/accounts/${account.body.id}/console-link`,
          undefined,
          { host: 'evil.example', 'x-forwarded-host': 'evil.example' },
        );
        expectStatus(response, 200);
        expect(new URL(response.body.url).searchParams.get('Issuer')).toBe(publicUrl);
        expect(response.text).not.toContain('evil.example');
      } finally {
        await proxied.close();
      }
    });
  });
});
