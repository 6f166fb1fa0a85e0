/**
 * A pending connection through the wizard's life: changed by PATCH (its external ID never moves),
 * listed while pending, and expired after ONRAMP_PENDING_CONNECTION_DAYS without a change.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

const DAY = 24 * 60 * 60 * 1000;

describe.each(TEST_DIALECTS)('pending connection lifecycle on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let now = Date.now();

  beforeAll(async () => {
    h = await createHarness(dialect, { clock: () => new Date(now), pendingConnectionDays: 3 });
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    now = Date.now();
  });

  const create = async (tenant: TestTenant, body: Record<string, unknown> = {}) => {
    const response = await tenant.admin.request('POST', '/v1/connections', {
      name: `Wizard ${Math.random().toString(36).slice(2, 8)}`,
      partition: 'aws',
      ...body,
    });
    expectStatus(response, 201);
    return response.body;
  };
  const patch = (tenant: TestTenant, id: string, body: unknown) =>
    tenant.admin.request('PATCH', `/v1/connections/${id}`, body);

  it('changes name, partition, permissions, regions and role name, and never the external ID', async () => {
    const c = await create(a);
    const renamed = await patch(a, c.id, { name: 'Production (EU)', description: 'Main' });
    expectStatus(renamed, 200);
    expect(renamed.body).toMatchObject({ name: 'Production (EU)', description: 'Main' });
    expect(renamed.body.externalId).toBe(c.externalId);

    const narrowed = await patch(a, c.id, {
      bundles: ['cost-inventory'],
      regions: ['eu-west-1'],
      roleName: 'PlatformAccess',
      setupMethod: 'terraform',
    });
    expectStatus(narrowed, 200);
    expect(narrowed.body).toMatchObject({
      bundles: ['cost-inventory'],
      regions: ['eu-west-1'],
      roleName: 'PlatformAccess',
      setupMethod: 'terraform',
      externalId: c.externalId,
    });

    // Another partition: its hub, its defaults and all regions, the same external ID.
    const gov = await patch(a, c.id, { partition: 'aws-us-gov' });
    expectStatus(gov, 200);
    expect(gov.body.partition).toBe('aws-us-gov');
    expect(gov.body.trustedPrincipal.arn).toMatch(/^arn:aws-us-gov:iam::/);
    expect(gov.body.regions).toEqual([]);
    expect(gov.body.bundles.length).toBeGreaterThan(0);
    expect(gov.body.externalId).toBe(c.externalId);

    // The templates carry the same external ID after every change.
    const steps = await a.admin.request('GET', `/v1/connections/${c.id}/steps`);
    expect(steps.text).toContain(c.externalId);
    const tf = await a.admin.request('GET', `/v1/connections/${c.id}/terraform`);
    expect(tf.text).toContain(c.externalId);
    expect(tf.text).toContain('PlatformAccess');

    // Back to aws, nothing else changed: the same connection, no new one.
    const back = await patch(a, c.id, { partition: 'aws' });
    expectStatus(back, 200);
    const list = await a.admin.request('GET', '/v1/connections?status=pending&limit=200');
    expect(list.body.connections.filter((x: { id: string }) => x.id === c.id)).toHaveLength(1);

    const audit = await h.database.db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('target_id', '=', c.id)
      .orderBy('seq')
      .execute();
    expect(audit.filter((e) => e.action === 'connection.updated')).toHaveLength(4);
    for (const entry of audit) expect(entry.details).not.toContain(c.externalId);
  });

  it('does nothing, and audits nothing, for a PATCH that changes nothing', async () => {
    const c = await create(a);
    const same = await patch(a, c.id, { name: c.name, partition: 'aws', bundles: c.bundles });
    expectStatus(same, 200);
    expect(same.body.externalId).toBe(c.externalId);
    const audit = await h.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', '=', c.id)
      .where('action', '=', 'connection.updated')
      .execute();
    expect(audit).toHaveLength(0);
  });

  it('refuses hostile and bad values with the field, and changes nothing', async () => {
    const c = await create(a);
    const cases: [unknown, number, string][] = [
      [{ externalId: 'onramp-mine-now-0123456789' }, 400, 'externalId'],
      [{ roleName: 'no spaces' }, 400, 'roleName'],
      [{ roleName: 'x'.repeat(65) }, 400, 'roleName'],
      [{ name: 'evil\u0000name' }, 400, 'name'],
      [{ name: '   ' }, 400, 'name'],
      [{ partition: 'aws-xx' }, 400, 'partition'],
      [{ setupMethod: 'rm -rf' }, 400, 'setupMethod'],
      [{ regions: ['us-gov-west-1'] }, 422, 'regions[0]'],
      [{ bundles: ['nodes-ec2', 'no-such-bundle'] }, 422, 'bundles[1]'],
      // No hub identity in China on this server: refused like create.
      [{ partition: 'aws-cn' }, 422, 'partition'],
    ];
    for (const [body, status, field] of cases) {
      expectProblem(await patch(a, c.id, body), status, field);
    }
    expectProblem(await patch(a, c.id, '{"name": '), 400, 'body');
    const after = await a.admin.request('GET', `/v1/connections/${c.id}`);
    expect(after.body).toEqual({ ...c, expiresAt: after.body.expiresAt });
  });

  it('enforces the tenant’s partition limit on a change of partition', async () => {
    const limited = await h.tenant(undefined, { partitions: ['aws'] });
    const c = await create(limited);
    const response = await patch(limited, c.id, { partition: 'aws-us-gov' });
    expectProblem(response, 422, 'partition');
    expect(response.body.errors[0].code).toBe('limit_reached');
  });

  it('is the tenant’s own, for admins and writers only', async () => {
    const c = await create(a);
    await expectSecured(
      h,
      { method: 'PATCH', url: `/v1/connections/${c.id}`, body: { name: 'Taken over' } },
      {
        forbidden: [a.viewer, await a.token(['accounts:read'])],
        otherTenant: [b.admin, await b.token(['accounts:write'])],
      },
    );
    const after = await a.admin.request('GET', `/v1/connections/${c.id}`);
    expect(after.body.name).toBe(c.name);
    const writer = await a.token(['accounts:write']);
    expectStatus(
      await writer.request('PATCH', `/v1/connections/${c.id}`, { name: 'By token' }),
      200,
    );
  });

  it('refuses to change a connected set-up (409)', async () => {
    const c = await create(a);
    const roleArn = `arn:aws:iam::${String(Math.floor(Math.random() * 1e12)).padStart(12, '1')}:role/${c.roleName}`;
    h.aws.addRole(roleArn, c.externalId);
    const account = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: c.id,
      roleArn,
    });
    expectStatus(account, 201);
    expect(account.body.roleOrigin).toBe('pasted_arn');
    const response = await patch(a, c.id, { regions: ['eu-west-1'] });
    expectProblem(response, 409, 'connectionId');
    expect(response.body.errors[0].code).toBe('already_connected');
  });

  it('keeps both fields of two PATCHes sent at once, with intact JSON', async () => {
    for (let round = 0; round < 5; round++) {
      const c = await create(a);
      const [first, second] = await Promise.all([
        patch(a, c.id, { name: `Renamed ${round}` }),
        patch(a, c.id, { regions: ['eu-west-1', 'us-east-1'] }),
      ]);
      expectStatus(first as never, 200);
      expectStatus(second as never, 200);
      const after = await a.admin.request('GET', `/v1/connections/${c.id}`);
      expect(after.body).toMatchObject({
        name: `Renamed ${round}`,
        regions: ['eu-west-1', 'us-east-1'],
        externalId: c.externalId,
      });
      const row = await h.database.db
        .selectFrom('connections')
        .select(['bundles', 'regions'])
        .where('id', '=', c.id)
        .executeTakeFirstOrThrow();
      expect(JSON.parse(row.regions)).toEqual(['eu-west-1', 'us-east-1']);
      expect(JSON.parse(row.bundles)).toEqual(c.bundles);
    }
  });

  it('lists pending set-ups until they expire, then says so and refuses to go on', async () => {
    const tenant = await h.tenant();
    const token = await tenant.token(['accounts:read', 'accounts:write']);
    const made = await token.request('POST', '/v1/connections', { name: 'Old', partition: 'aws' });
    expectStatus(made, 201);
    const c = made.body;
    expect(Date.parse(c.expiresAt) - now).toBe(3 * DAY);
    expect(c.expired).toBe(false);

    const listed = await token.request('GET', '/v1/connections?status=pending');
    expect(listed.body.connections.map((x: { id: string }) => x.id)).toEqual([c.id]);

    // A change keeps it alive: expiry counts from the last change.
    now += 2 * DAY;
    expectStatus(await token.request('PATCH', `/v1/connections/${c.id}`, { name: 'Kept' }), 200);
    now += 2 * DAY;
    const stillListed = await token.request('GET', '/v1/connections?status=pending');
    expect(stillListed.body.connections).toHaveLength(1);

    now += 2 * DAY;
    const gone = await token.request('GET', '/v1/connections?status=pending');
    expect(gone.body.connections).toEqual([]);
    const shown = await token.request('GET', `/v1/connections/${c.id}`);
    expectStatus(shown, 200);
    expect(shown.body.expired).toBe(true);
    const refused = await token.request('PATCH', `/v1/connections/${c.id}`, { name: 'Again' });
    expectProblem(refused, 409, 'connectionId');
    expect(refused.body.errors[0]).toMatchObject({
      code: 'expired',
      message: expect.stringContaining('expired'),
    });
    const roleArn = `arn:aws:iam::123456789012:role/${c.roleName}`;
    h.aws.addRole(roleArn, c.externalId);
    const connect = await token.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: c.id,
      roleArn,
    });
    expectProblem(connect, 409, 'connectionId');
    expectProblem(
      await token.request('POST', `/v1/connections/${c.id}/external-id`),
      409,
      'connectionId',
    );
    // Discarding an expired set-up still works.
    expectStatus(await token.request('DELETE', `/v1/connections/${c.id}`), 204);
  });
});
