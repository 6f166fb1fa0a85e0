import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../testing/harness.ts';
import { encodeCursor } from './pagination.ts';

let sequence = 0;
const unique = (prefix: string) => `${prefix} ${++sequence}`;

/** A list route, how to add a record to it, and where its records are in the response. */
interface ListSpec {
  name: string;
  url: string;
  /** The response's array: `connections`, `tokens`… */
  key: string;
  /** Who lists and creates in tenant `t` (the operator for tenants). */
  actor: (t: TestTenant) => Actor;
  create: (t: TestTenant) => Promise<void>;
}

/**
 * Every list answers a page at a time (`limit`, default 50, at most 200) and a `next` cursor, as
 * GET /v1/accounts does: walking the pages sees every record that existed exactly once, even while
 * records are added; a cursor the API did not give out is a 400 on `cursor`; another tenant's records
 * never appear.
 */
describe.each(TEST_DIALECTS)('paginated lists on %s', (dialect) => {
  let h: Harness;
  let operator: Actor;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    h = await createHarness(dialect, {
      collectionCaps: { pendingConnections: 500, webhooks: 500, tokens: 500, users: 500 },
      webhookSettings: { allowPrivate: true },
    });
    operator = await h.operator();
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const created = (status: number, text: string) => expect(status, text).toBe(201);

  const specs: ListSpec[] = [
    {
      name: 'connections',
      url: '/v1/connections',
      key: 'connections',
      actor: (t) => t.admin,
      create: async (t) => {
        const r = await t.admin.request('POST', '/v1/connections', {
          name: unique('Set-up'),
          partition: 'aws',
        });
        created(r.status, r.text);
      },
    },
    {
      name: 'webhooks',
      url: '/v1/webhooks',
      key: 'endpoints',
      actor: (t) => t.admin,
      create: async (t) => {
        const r = await t.admin.request('POST', '/v1/webhooks', {
          url: `http://127.0.0.1:9/hook/${++sequence}`,
          events: ['account.created'],
        });
        created(r.status, r.text);
      },
    },
    {
      name: 'tokens',
      url: '/v1/tokens',
      key: 'tokens',
      actor: (t) => t.admin,
      create: async (t) => {
        const r = await t.admin.request('POST', '/v1/tokens', {
          name: unique('ci'),
          scopes: ['accounts:read'],
        });
        created(r.status, r.text);
      },
    },
    {
      name: 'users',
      url: '/v1/users',
      key: 'users',
      actor: (t) => t.admin,
      create: async (t) => {
        const r = await t.admin.request('POST', '/v1/users', {
          email: `user-${++sequence}-${dialect}@example.com`,
          name: unique('User'),
          password: 'a long enough password',
          role: 'tenant_viewer',
        });
        created(r.status, r.text);
      },
    },
    {
      name: 'tenants',
      url: '/v1/tenants',
      key: 'tenants',
      actor: () => operator,
      create: async () => {
        const r = await operator.request('POST', '/v1/tenants', { name: unique('Tenant') });
        created(r.status, r.text);
      },
    },
    {
      name: 'audit',
      url: '/v1/audit',
      key: 'entries',
      actor: (t) => t.admin,
      // Any change is an entry.
      create: async (t) => {
        const r = await t.admin.request('POST', '/v1/tokens', {
          name: unique('audited'),
          scopes: ['accounts:read'],
        });
        created(r.status, r.text);
      },
    },
  ];

  /** Every id of a list, read in one page of the largest size (the lists here are small). */
  const allIds = async (spec: ListSpec, tenant: TestTenant): Promise<string[]> => {
    const response = await spec.actor(tenant).request('GET', `${spec.url}?limit=200`);
    expectStatus(response, 200);
    expect(response.body.next, 'the lists of these tests fit one page of 200').toBeNull();
    return response.body[spec.key].map((item: { id: string }) => item.id);
  };

  describe.each(specs.map((s) => [s.name, s] as const))('GET %s', (_name, spec) => {
    it('walks every record exactly once across pages while records are added', async () => {
      for (let i = 0; i < 5; i++) {
        await spec.create(a);
        await spec.create(b);
      }
      const before = await allIds(spec, a);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const url = `${spec.url}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await spec.actor(a).request('GET', url);
        expectStatus(page, 200);
        expect(page.body[spec.key].length).toBeLessThanOrEqual(2);
        seen.push(...page.body[spec.key].map((item: { id: string }) => item.id));
        cursor = page.body.next;
        // Another record arrives between every two pages.
        await spec.create(a);
        pages += 1;
        expect(pages, 'the walk must end').toBeLessThan(500);
      } while (cursor !== null);

      expect(new Set(seen).size, 'no record is seen twice').toBe(seen.length);
      for (const id of before)
        expect(
          seen.filter((s) => s === id),
          id,
        ).toHaveLength(1);
      if (spec.name !== 'tenants') {
        const others = new Set(await allIds(spec, b));
        expect(seen.filter((id) => others.has(id))).toEqual([]);
      }
    });

    it('bounds `limit` and refuses a cursor it did not give out', async () => {
      const actor = spec.actor(a);
      expectProblem(await actor.request('GET', `${spec.url}?limit=0`), 400, 'limit');
      expectProblem(await actor.request('GET', `${spec.url}?limit=201`), 400, 'limit');
      expectProblem(await actor.request('GET', `${spec.url}?limit=ten`), 400, 'limit');
      for (const cursor of [
        'garbage!',
        encodeCursor('acct_x'),
        encodeCursor('1 or 1=1'),
        'x'.repeat(101),
      ]) {
        expectProblem(
          await actor.request('GET', `${spec.url}?cursor=${encodeURIComponent(cursor)}`),
          400,
          'cursor',
        );
      }
      const one = await actor.request('GET', `${spec.url}?limit=1`);
      expectStatus(one, 200);
      expect(one.body[spec.key]).toHaveLength(1);
      expect(typeof one.body.next).toBe('string');
    });
  });

  it('answers 50 records by default, and 200 at most', async () => {
    const tenant = await h.tenant();
    await Promise.all(Array.from({ length: 205 }, () => specs[2]?.create(tenant)));
    const first = await tenant.admin.request('GET', '/v1/tokens');
    expectStatus(first, 200);
    expect(first.body.tokens).toHaveLength(50);
    const largest = await tenant.admin.request('GET', '/v1/tokens?limit=200');
    expect(largest.body.tokens).toHaveLength(200);
    const rest = await tenant.admin.request(
      'GET',
      `/v1/tokens?limit=200&cursor=${largest.body.next}`,
    );
    expect(rest.body).toMatchObject({ next: null });
    expect(rest.body.tokens).toHaveLength(5);
  });

  it('refuses a bad cursor on the lists that had pages already', async () => {
    const accountList = await a.admin.request('GET', '/v1/accounts?cursor=garbage');
    expectProblem(accountList, 400, 'cursor');
    // The audit log's older `before` is still understood, and checked as strictly.
    expectProblem(await a.admin.request('GET', '/v1/audit?before=abc'), 400, 'before');
    const page = await a.admin.request('GET', '/v1/audit?limit=1');
    const older = await a.admin.request('GET', `/v1/audit?limit=1&before=${page.body.next}`);
    const same = await a.admin.request('GET', `/v1/audit?limit=1&cursor=${page.body.next}`);
    expectStatus(older, 200);
    expect(older.body).toEqual(same.body);
  });
});
