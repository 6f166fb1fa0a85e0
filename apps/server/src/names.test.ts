import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from './testing/databases.ts';
import { createHarness, expectProblem, type Harness, type TestTenant } from './testing/harness.ts';

/** A name that reads "invoice.exe" backwards-forwards, and one that carries a terminal escape. */
const HOSTILE = ['invoice\u202Egpj.exe', 'prod\u001b]0;pwned\u0007', 'nul\u0000byte'];

describe.each(TEST_DIALECTS)('names and descriptions over HTTP on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let operator: Awaited<ReturnType<Harness['operator']>>;
  let userId: string;
  let accountId: string;
  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    operator = await h.operator();
    userId = (await a.admin.request('GET', '/v1/users')).body.users[0].id;
    const created = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'Plain name',
      partition: 'aws',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    accountId = created.body.id;
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each(HOSTILE)('every route refuses %j with a 400 naming the field', async (text) => {
    const admin = a.admin;
    const cases: [string, Promise<Parameters<typeof expectProblem>[0]>, string][] = [
      [
        'connection name',
        admin.request('POST', '/v1/connections', { name: text, partition: 'aws' }),
        'name',
      ],
      [
        'connection description',
        admin.request('POST', '/v1/connections', {
          name: 'ok',
          description: text,
          partition: 'aws',
        }),
        'description',
      ],
      [
        'account name',
        admin.request('POST', '/v1/accounts', {
          method: 'access_keys',
          name: text,
          partition: 'aws',
          accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
          secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        }),
        'name',
      ],
      [
        'account rename',
        admin.request('PATCH', `/v1/accounts/${accountId}`, { name: text }),
        'name',
      ],
      [
        'account description',
        admin.request('PATCH', `/v1/accounts/${accountId}`, { description: text }),
        'description',
      ],
      [
        'user name',
        admin.request('POST', '/v1/users', {
          email: 'n@a.example',
          name: text,
          password: 'an unguessable passphrase 7',
          role: 'tenant_viewer',
        }),
        'name',
      ],
      ['user rename', admin.request('PATCH', `/v1/users/${userId}`, { name: text }), 'name'],
      [
        'token name',
        admin.request('POST', '/v1/tokens', { name: text, scopes: ['accounts:read'] }),
        'name',
      ],
      [
        'webhook description',
        admin.request('POST', '/v1/webhooks', {
          url: 'https://hooks.example.com/x',
          events: ['account.created'],
          description: text,
        }),
        'description',
      ],
      ['tenant name', operator.request('POST', '/v1/tenants', { name: text }), 'name'],
      [
        'tenant admin name',
        operator.request('POST', '/v1/tenants', {
          name: 'ok tenant',
          admin: { email: 'x@t.example', name: text, password: 'an unguessable passphrase 7' },
        }),
        'admin.name',
      ],
      ['tenant rename', operator.request('PATCH', `/v1/tenants/${a.id}`, { name: text }), 'name'],
      [
        'operator name at set-up',
        h.anonymous.request('POST', '/v1/setup', {
          setupToken: 'setup_whatever-token',
          email: 'o@example.com',
          name: text,
          password: 'an unguessable passphrase 7',
        }),
        'name',
      ],
    ];
    for (const [what, pending, field] of cases) {
      const response = await pending;
      expectProblem(response, 400, field);
      const error = response.body.errors.find((e: { field: string }) => e.field === field);
      expect(error.message, what).toMatch(/must not contain U\+/);
    }
  });
});
