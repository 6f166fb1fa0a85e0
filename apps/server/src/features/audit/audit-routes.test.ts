import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { createAuditRepository } from './audit-repository.ts';

describe.each(TEST_DIALECTS)('the audit log on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('records who did what, from where, newest first, in pages', async () => {
    for (const name of ['one', 'two', 'three']) {
      expectStatus(
        await a.admin.request('POST', '/v1/tokens', { name, scopes: ['accounts:read'] }),
        201,
      );
    }
    const first = await a.admin.request('GET', '/v1/audit?limit=2');
    expectStatus(first, 200);
    expect(first.body.entries.map((e: { details: { name: string } }) => e.details.name)).toEqual([
      'three',
      'two',
    ]);
    expect(first.body.entries[0]).toMatchObject({
      action: 'token.created',
      actorType: 'user',
      tenantId: a.id,
      sourceIp: '127.0.0.1',
      requestId: expect.stringMatching(/^req_/),
    });
    const second = await a.admin.request('GET', `/v1/audit?limit=2&before=${first.body.next}`);
    expect(second.body.entries.map((e: { details: { name: string } }) => e.details.name)).toEqual([
      'one',
    ]);
    expect(second.body.next).toBeNull();
  });

  it('groups entries that arrive together, each stored before its call returns', async () => {
    const audit = createAuditRepository(h.database.db, h.deps.clock);
    const stored = async () =>
      Number(
        (
          await h.database.db
            .selectFrom('audit_log')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('action', '=', 'test.grouped')
            .executeTakeFirstOrThrow()
        ).n,
      );
    const entries = Array.from({ length: 120 }, (_, i) =>
      audit.appendGrouped({
        tenantId: a.id,
        actorType: 'system',
        actorId: null,
        action: 'test.grouped',
        targetId: `t${i}`,
      }),
    );
    // Nothing is written until the group is (and no call has returned before that).
    expect(await stored()).toBe(0);
    await entries[0];
    expect(await stored()).toBe(120);
    await Promise.all(entries);
    // A group that cannot be written fails every call in it: no response claims an entry it lacks.
    const refused = audit.appendGrouped({
      tenantId: a.id,
      actorType: 'system',
      actorId: null,
      // NOT NULL in the database: the insert fails.
      action: null as unknown as string,
    });
    await expect(refused).rejects.toThrow();
    expect(await stored()).toBe(120);
  });

  it('stores every field of every grouped entry in its own column, whatever the group size', async () => {
    const audit = createAuditRepository(h.database.db, h.deps.clock);
    // Two groups of different sizes, then the first size again (its insert is reused).
    for (const size of [3, 7, 3]) {
      await Promise.all(
        Array.from({ length: size }, (_, i) =>
          audit.appendGrouped({
            tenantId: i % 2 ? a.id : null,
            actorType: 'token',
            actorId: `tok_${size}_${i}`,
            action: 'test.columns',
            targetType: i % 2 ? 'account' : undefined,
            targetId: `acct_${size}_${i}`,
            requestId: `req_${size}_${i}`,
            sourceIp: `10.0.${size}.${i}`,
            details: { size, i },
          }),
        ),
      );
    }
    const rows = await h.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'test.columns')
      .orderBy('seq')
      .execute();
    expect(rows).toHaveLength(13);
    for (const row of rows) {
      const { size, i } = JSON.parse(row.details) as { size: number; i: number };
      expect(row).toMatchObject({
        tenant_id: i % 2 ? a.id : null,
        actor_type: 'token',
        actor_id: `tok_${size}_${i}`,
        target_type: i % 2 ? 'account' : null,
        target_id: `acct_${size}_${i}`,
        request_id: `req_${size}_${i}`,
        source_ip: `10.0.${size}.${i}`,
      });
      expect(row.id).toMatch(/^aud_/);
    }
  });

  it('shows each tenant only its own entries', async () => {
    await b.admin.request('POST', '/v1/tokens', { name: 'b-only', scopes: ['accounts:read'] });
    expect((await a.admin.request('GET', '/v1/audit')).text).not.toContain('b-only');
    expect((await b.admin.request('GET', '/v1/audit')).text).toContain('b-only');
    expectProblem(await a.admin.request('GET', `/v1/audit?tenant=${b.id}`), 403);
  });

  it('rejects a bad cursor and is closed to viewers', async () => {
    expectProblem(await a.admin.request('GET', '/v1/audit?before=abc'), 400, 'before');
    await expectSecured(h, { method: 'GET', url: '/v1/audit' }, { forbidden: [a.viewer] });
  });
});
