import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';

/**
 * One rule for naming a tenant: `?tenant=` means what the Onramp-Tenant header means, on every route
 * the OpenAPI document lists (so a route added later is covered without touching this test). The rule
 * is the auth hook's, the same on either engine: SQLite suffices.
 */
describe('?tenant= on every route', () => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let operator: Actor;
  let operations: { method: string; path: string }[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await createHarness('sqlite', {
      webhookSettings: { allowPrivate: true },
      brandConfig: { returnUrls: ['https://app.acme.example'] },
    });
    a = await h.tenant();
    b = await h.tenant();
    operator = await h.operator();
    // A record of every kind in tenant a, for the routes that read one.
    const keys = h.aws.addUser('aws', '123456789012');
    const account = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'Keys',
      partition: 'aws',
      ...keys,
    });
    expectStatus(account, 201);
    const connection = await a.admin.request('POST', '/v1/connections', {
      name: 'Role',
      partition: 'aws',
    });
    expectStatus(connection, 201);
    const webhook = await a.admin.request('POST', '/v1/webhooks', {
      url: 'http://127.0.0.1:9/hooks',
      events: ['account.created'],
    });
    expectStatus(webhook, 201);
    const organization = await a.admin.request('POST', '/v1/organizations', {
      name: 'Organization',
      partition: 'aws',
    });
    expectStatus(organization, 201);
    const token = await a.token(['accounts:read']);
    ids['/v1/tenants/{id}'] = a.id;
    ids['/v1/organizations/{id}'] = organization.body.id;
    ids['/v1/users/{id}'] = a.viewer.userId;
    ids['/v1/tokens/{id}'] = token.tokenId;
    ids['/v1/accounts/{id}'] = account.body.id;
    ids['/v1/connections/{id}'] = connection.body.id;
    ids['/v1/webhooks/{id}'] = webhook.body.endpoint.id;
    const session = await a.admin.request('POST', '/v1/connect-sessions', {
      returnUrl: 'https://app.acme.example/aws',
    });
    expectStatus(session, 201);
    ids['/v1/connect-sessions/{id}'] = session.body.id;

    const spec = await h.anonymous.request('GET', '/openapi.json');
    // A hosted connect session's routes act on no tenant anyone names: only the session's own,
    // by its cookie; they read neither credentials nor the tenant parameter (hosted-connect.test.ts).
    operations = Object.entries(spec.body.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => !path.startsWith('/v1/connect/'))
      .flatMap(([path, byMethod]) => Object.keys(byMethod).map((method) => ({ method, path })));
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The route's URL with real ids of tenant a, and the query parameters it is given. */
  const urlOf = (path: string, query: Record<string, string | string[]> = {}) => {
    const base = path.replace(/^(\/v1\/[a-z-]+)\/\{id\}/, (match, prefix: string) => {
      const id = ids[match] ?? ids[`${prefix}/{id}`];
      if (!id) throw new Error(`no record for ${path}: add one to this test`);
      return `${prefix}/${id}`;
    });
    const search = new URLSearchParams();
    for (const [name, values] of Object.entries(query))
      for (const value of [values].flat()) search.append(name, value);
    return search.size ? `${base}?${search}` : base;
  };
  const comparable = (response: TestResponse) => ({
    status: response.status,
    body:
      typeof response.body === 'object' && response.body
        ? { ...response.body, requestId: undefined }
        : response.body,
  });

  it('reads the same with ?tenant= as with the header, for the operator and for a tenant', async () => {
    const reads = operations.filter((o) => o.method === 'get');
    expect(reads.length).toBeGreaterThan(15);
    for (const [actor, tenant] of [
      [operator, a.id],
      [a.admin, a.id],
      // Another tenant's: refused alike, whichever way it is named.
      [b.admin, a.id],
    ] as const) {
      for (const { path } of reads) {
        const byHeader = await actor.request('GET', urlOf(path), undefined, {
          'onramp-tenant': tenant,
        });
        const byQuery = await actor.request('GET', urlOf(path, { tenant }));
        expect(comparable(byQuery), `${actor.label} GET ${path}: ${byQuery.text}`).toEqual(
          comparable(byHeader),
        );
      }
    }
  });

  it('refuses, on every route, two different tenants or the parameter twice, naming tenant', async () => {
    for (const { method, path } of operations) {
      const different = await operator.request(
        method.toUpperCase(),
        urlOf(path, { tenant: b.id }),
        undefined,
        {
          'onramp-tenant': a.id,
        },
      );
      expectProblem(different, 400, 'tenant');
      expect(different.body.errors[0].hint, `${method} ${path}`).toMatch(/Onramp-Tenant/);
      expectProblem(
        await operator.request(method.toUpperCase(), urlOf(path, { tenant: [a.id, b.id] })),
        400,
        'tenant',
      );
    }
  });

  it('answers an unknown tenant alike on every route, whichever way it is named', async () => {
    for (const { method, path } of operations) {
      const byHeader = await operator.request(method.toUpperCase(), urlOf(path), undefined, {
        'onramp-tenant': 'ten_unknown',
      });
      const byQuery = await operator.request(
        method.toUpperCase(),
        urlOf(path, { tenant: 'ten_unknown' }),
      );
      expect(byQuery.status, `${method} ${path}: ${byQuery.text}`).toBe(byHeader.status);
    }
  });

  it('is ignored for a caller without credentials, who gets 401 as without it', async () => {
    const response = await h.anonymous.request('GET', urlOf('/v1/accounts', { tenant: a.id }));
    expectProblem(response, 401);
  });
});
