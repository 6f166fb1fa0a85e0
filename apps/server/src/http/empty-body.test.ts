import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../testing/harness.ts';

/** Routes whose body is optional: no body is the same as `{}`. */
const OPTIONAL_BODY = new Set([
  'post /v1/accounts/{id}/credentials',
  'post /v1/webhooks/{id}/rotate-secret',
]);

/** Routes whose body is not JSON (the logo is the image itself): an empty JSON body is the wrong type. */
const RAW_BODY = new Set(['put /v1/operator/settings/logo']);

interface RawResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely.
  body: any;
  text: string;
}

/**
 * One request written byte by byte on a real socket, as curl, fetch wrappers and HTTP libraries send
 * it: `Content-Type: application/json` and no body (with `Content-Length: 0`, or with no length at all).
 */
function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  withLength: boolean,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = raw.split('\r\n\r\n');
      const status = Number(head.split(' ')[1]);
      const isChunked = /transfer-encoding: chunked/i.test(head);
      let text = rest.join('\r\n\r\n');
      if (isChunked) text = text.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : text;
      } catch {}
      resolve({ status, body, text });
    });
    const lines = [
      `${method} ${path} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Connection: close',
      'Content-Type: application/json',
      ...(withLength ? ['Content-Length: 0'] : []),
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    // Written, not ended: a client that half-closes its socket has its request aborted by Node.
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

describe.each(TEST_DIALECTS)('an empty JSON body on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let port: number;
  let sequence = 0;

  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const address = h.app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(async () => {
    await h?.close();
  });

  const inject = async (actor: Actor, method: string, url: string): Promise<RawResponse> => {
    const response = await h.app.inject({
      method: method as 'POST',
      url,
      headers: { ...actor.headers, 'content-type': 'application/json' },
      payload: '',
    });
    return {
      status: response.statusCode,
      body: response.body ? JSON.parse(response.body) : undefined,
      text: response.body,
    };
  };
  const ways = [
    ['app.inject', (actor: Actor, m: string, u: string) => inject(actor, m, u)],
    [
      'a socket, Content-Length: 0',
      (actor: Actor, m: string, u: string) => rawRequest(port, m, u, actor.headers, true),
    ],
    [
      'a socket, no Content-Length',
      (actor: Actor, m: string, u: string) => rawRequest(port, m, u, actor.headers, false),
    ],
  ] as const;

  /** Every POST, PUT, PATCH and DELETE of the API, from its own OpenAPI document. */
  const operations = () => {
    const doc = h.app.swagger() as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    return Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([method]) => ['post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, op]) => ({
          method: method.toUpperCase(),
          path,
          takesNoBody: !op.requestBody || OPTIONAL_BODY.has(`${method} ${path}`),
          raw: RAW_BODY.has(`${method} ${path}`),
        })),
    );
  };

  it.each(ways)(
    'reaches every bodiless route, and names the missing body elsewhere (%s)',
    async (_, send) => {
      const operator = await h.operator();
      const actor = { ...operator, headers: { ...operator.headers, 'onramp-tenant': a.id } };
      const found = operations();
      expect(found.filter((o) => o.takesNoBody).length).toBeGreaterThan(10);
      // Signing out last: it ends the session the others use.
      found.sort((x, y) => Number(x.path === '/v1/session') - Number(y.path === '/v1/session'));
      for (const { method, path, takesNoBody, raw } of found) {
        const url = path
          .replace('{id}', 'xyz_doesnotexist00000000000')
          .replace('{kind}', 'member')
          .replace('{awsAccountId}', '123456789012');
        const response = await send(actor, method, url);
        const label = `${method} ${path}: ${response.status} ${response.text}`;
        if (raw) {
          // The image itself is the body: JSON is refused as the wrong type, on its field.
          expect(response.status, label).toBe(415);
          expect(response.body.errors?.[0]?.field, label).toBe('logo');
        } else if (takesNoBody) {
          // Past the body: the route itself answered (here mostly 404 for the unknown id).
          expect(response.status, label).not.toBe(400);
          expect(response.status, label).not.toBe(415);
          expect(response.status, label).toBeLessThan(500);
        } else {
          expect(response.status, label).toBe(400);
          expect(response.body.errors, label).toEqual([
            { field: 'body', code: 'required', message: 'This request needs a JSON body.' },
          ]);
        }
      }
    },
  );

  it.each(ways)('checks, regenerates, vends and deletes for real (%s)', async (_, send) => {
    const keys = h.aws.addUser('aws', String(600000000000 + ++sequence));
    const account = await a.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Keys ${sequence}`,
      partition: 'aws',
      ...keys,
    });
    expectStatus(account, 201);
    const id = account.body.id as string;
    const check = await send(a.admin, 'POST', `/v1/accounts/${id}/check`);
    expect(check.status, check.text).toBe(200);
    expect(check.body.status).toBe('valid');

    const vendor = await a.token(['credentials:vend']);
    const vend = await send(vendor, 'POST', `/v1/accounts/${id}/credentials`);
    expect(vend.status, vend.text).toBe(200);
    expect(vend.body.accessKeyId).toMatch(/^ASIA/);

    const connection = await a.admin.request('POST', '/v1/connections', {
      name: `Role ${sequence}`,
      partition: 'aws',
    });
    expectStatus(connection, 201);
    const regenerated = await send(
      a.admin,
      'POST',
      `/v1/connections/${connection.body.id}/external-id`,
    );
    expect(regenerated.status, regenerated.text).toBe(200);
    expect(regenerated.body.externalId).not.toBe(connection.body.externalId);
    const dropped = await send(a.admin, 'DELETE', `/v1/connections/${connection.body.id}`);
    expect(dropped.status, dropped.text).toBe(204);

    const deleted = await send(a.admin, 'DELETE', `/v1/accounts/${id}`);
    expect(deleted.status, deleted.text).toBe(204);
    expectStatus(await a.admin.request('GET', `/v1/accounts/${id}`), 404);
  });

  it('writes nothing when a route that needs a body gets none', async () => {
    const before = await a.admin.request('GET', '/v1/accounts');
    const response = await rawRequest(port, 'POST', '/v1/accounts', a.admin.headers, true);
    expect(response.status, response.text).toBe(400);
    expect(response.body.errors[0]).toMatchObject({ field: 'body', code: 'required' });
    const after = await a.admin.request('GET', '/v1/accounts');
    expect(after.body.accounts).toEqual(before.body.accounts);
  });

  it('still refuses a body that is not JSON', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/accounts/validate',
      headers: { ...a.admin.headers, 'content-type': 'application/json' },
      payload: '{"method":',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors[0]).toMatchObject({ field: 'body', code: 'invalid_format' });
    const poisoned = await h.app.inject({
      method: 'POST',
      url: '/v1/accounts/validate',
      headers: { ...a.admin.headers, 'content-type': 'application/json' },
      payload: '{"__proto__":{"admin":true}}',
    });
    expect(poisoned.statusCode).toBe(400);
  });
});
