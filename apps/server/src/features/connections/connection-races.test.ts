/**
 * Connecting a set-up while it changes under it: the wizard open in two tabs, or a colleague who
 * discards or edits the set-up while Onramp is still validating the role. The account that is saved
 * must match the set-up it came from, and a refusal must say what happened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

const randomAccount = () => String(Math.floor(Math.random() * 1e12)).padStart(12, '1');

describe.each(TEST_DIALECTS)('a set-up that changes while it connects, on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;

  beforeAll(async () => {
    // A public https URL, so keyless roles are offered: a set-up can change its method meanwhile.
    h = await createHarness(dialect, { publicUrl: 'https://onramp.example.test' });
    a = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const create = async (body: Record<string, unknown> = {}) => {
    const response = await a.admin.request('POST', '/v1/connections', {
      name: `Race ${Math.random().toString(36).slice(2, 8)}`,
      partition: 'aws',
      ...body,
    });
    expectStatus(response, 201);
    return response.body;
  };

  /**
   * Starts POST /v1/accounts for the set-up and holds it inside AWS's AssumeRole until `during` has
   * run: what another tab does while Onramp validates.
   */
  const connectWhile = async (
    connection: { id: string; externalId: string },
    during: () => Promise<unknown>,
  ) => {
    const roleArn = `arn:aws:iam::${randomAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, connection.externalId);
    const original = h.aws.gateway.assumeRole;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.aws.gateway.assumeRole = async (...args) => {
      entered();
      await released;
      return original(...args);
    };
    try {
      const connecting = a.admin.request('POST', '/v1/accounts', {
        method: 'role',
        connectionId: connection.id,
        roleArn,
      });
      await inside;
      const other = await during();
      release();
      return { created: await connecting, other };
    } finally {
      h.aws.gateway.assumeRole = original;
    }
  };

  it('refuses to connect a set-up whose partition changed meanwhile, saying so', async () => {
    const c = await create();
    const { created, other } = await connectWhile(c, () =>
      a.admin.request('PATCH', `/v1/connections/${c.id}`, { partition: 'aws-us-gov' }),
    );
    expectStatus(other as never, 200);
    expectProblem(created, 409, 'connectionId');
    expect(created.body.errors[0].code, JSON.stringify(created.body)).toBe('changed');
    const after = await a.admin.request('GET', `/v1/connections/${c.id}`);
    expect(after.body).toMatchObject({
      status: 'pending',
      partition: 'aws-us-gov',
      accountId: null,
    });
    const list = await a.admin.request('GET', `/v1/accounts?q=${encodeURIComponent(c.name)}`);
    expect(list.body.accounts).toEqual([]);
  });

  it('refuses to connect a set-up switched to a keyless role meanwhile, saying so', async () => {
    const c = await create();
    const { created, other } = await connectWhile(c, () =>
      a.admin.request('PATCH', `/v1/connections/${c.id}`, { method: 'oidc_role' }),
    );
    expectStatus(other as never, 200);
    // The role trusts the hub with the external ID; the set-up now asks for a keyless role.
    expectProblem(created, 409, 'connectionId');
    expect(created.body.errors[0].code, JSON.stringify(created.body)).toBe('changed');
    expect(created.body.errors[0].hint).toContain('method');
    const after = await a.admin.request('GET', `/v1/connections/${c.id}`);
    expect(after.body).toMatchObject({ status: 'pending', method: 'oidc_role', accountId: null });
  });

  it('refuses to connect with an external ID the set-up no longer has', async () => {
    const c = await create();
    const { created, other } = await connectWhile(c, () =>
      a.admin.request('POST', `/v1/connections/${c.id}/external-id`),
    );
    expectStatus(other as never, 200);
    expectProblem(created, 409, 'connectionId');
    expect(created.body.errors[0].code).toBe('changed');
    const rows = await h.database.db
      .selectFrom('accounts')
      .select('id')
      .where('connection_id', '=', c.id)
      .execute();
    expect(rows).toEqual([]);
  });

  it('says the set-up was discarded when another tab discarded it meanwhile', async () => {
    const c = await create();
    const { created, other } = await connectWhile(c, () =>
      a.admin.request('DELETE', `/v1/connections/${c.id}`),
    );
    expectStatus(other as never, 204);
    expectProblem(created, 409, 'connectionId');
    expect(created.body.errors[0].code).toBe('discarded');
    expect(created.body.detail).not.toContain('null');
  });

  it('names the account that won when two tabs connect one set-up at once', async () => {
    const c = await create();
    const roleArn = `arn:aws:iam::${randomAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, c.externalId);
    const second = `arn:aws:iam::${randomAccount()}:role/OnrampRole`;
    h.aws.addRole(second, c.externalId);
    const responses = await Promise.all(
      // Names of their own, so that only the set-up is shared.
      [roleArn, second].map((arn, i) =>
        a.admin.request('POST', '/v1/accounts', {
          method: 'role',
          connectionId: c.id,
          roleArn: arn,
          name: `${c.name} tab ${i + 1}`,
        }),
      ),
    );
    const won = responses.find((r) => r.status === 201);
    const lost = responses.find((r) => r.status !== 201);
    expect(won, JSON.stringify(responses.map((r) => r.body))).toBeDefined();
    expectProblem(lost as never, 409, 'connectionId');
    expect(lost?.body.detail).toContain(won?.body.id);
    expect(lost?.body.detail).not.toContain('null');
  });

  it('keeps the external ID in use in the templates when a regeneration races a check that switches', async () => {
    const c = await create();
    const roleArn = `arn:aws:iam::${randomAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, c.externalId);
    const connected = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: c.id,
      roleArn,
    });
    expectStatus(connected, 201);
    const accountId = connected.body.id as string;
    const first = await a.admin.request('POST', `/v1/accounts/${accountId}/external-id/regenerate`);
    expectStatus(first, 200);
    // The tenant's role now trusts the first new ID: the next check will switch to it.
    h.aws.addRole(roleArn, first.body.externalId);

    const original = h.aws.gateway.assumeRole;
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    h.aws.gateway.assumeRole = async (partition, input) => {
      if (input.externalId === first.body.externalId) {
        entered();
        await released;
      }
      return original(partition, input);
    };
    try {
      const checking = a.admin.request('POST', `/v1/accounts/${accountId}/check`);
      await inside;
      // Another tab regenerates again while the check is testing the first new ID.
      const second = await a.admin.request(
        'POST',
        `/v1/accounts/${accountId}/external-id/regenerate`,
      );
      expectStatus(second, 200);
      release();
      expectStatus(await checking, 200);
    } finally {
      h.aws.gateway.assumeRole = original;
    }
    const account = await h.database.db
      .selectFrom('accounts')
      .select('external_id')
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow();
    const shown = await a.admin.request('GET', `/v1/connections/${c.id}`);
    // Whatever Onramp assumes the role with must stay in the templates' trust policy.
    expect(
      [shown.body.externalId, shown.body.previousExternalId],
      JSON.stringify({ inUse: account.external_id, shown: shown.body }),
    ).toContain(account.external_id);
  });
});
