import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOG_REDACT } from '../../http/logging.ts';
import { createWebhookDeliverer, type WebhookDeliverer } from '../../jobs/webhook-deliverer.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import {
  type ReceivedWebhook,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../testing/webhook-receiver.ts';
import { verifySignature } from './webhook-signature.ts';

const EVENTS = [
  'account.created',
  'account.updated',
  'account.deleted',
  'account.health_changed',
  'account.credentials_rotated',
];

describe.each(TEST_DIALECTS)('webhooks on %s', (dialect) => {
  let h: Harness;
  let strict: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let receiver: WebhookReceiver;
  let deliverer: WebhookDeliverer;
  let now = Date.now();
  let sequence = 0;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    h = await createHarness(dialect, {
      clock: () => new Date(now),
      webhookSettings: { allowPrivate: true, timeoutMs: 2_000 },
    });
    // As deployed: private addresses refused, and a resolver the test controls.
    strict = await createHarness(dialect, {
      webhookSettings: {
        lookup: async (host) => {
          const answers: Record<string, string[]> = {
            'hooks.example.com': ['93.184.215.14'],
            'rebind.example.com': ['10.20.30.40'],
          };
          const found = answers[host];
          if (!found) throw new Error('ENOTFOUND');
          return found.map((address) => ({ address, family: 4 as const }));
        },
      },
    });
    a = await h.tenant();
    b = await h.tenant();
    deliverer = createWebhookDeliverer(h.services, { owner: 'test-deliverer' });
  });
  afterAll(async () => {
    await strict?.close();
    await h?.close();
    await receiver?.close();
  });
  beforeEach(() => {
    receiver.clear();
    // Tests move the clock forward; sessions created at the real time stay valid.
    now = Date.now();
  });

  const register = async (tenant: TestTenant, body: Record<string, unknown> = {}) => {
    const response = await tenant.admin.request('POST', '/v1/webhooks', {
      url: receiver.url(`/t/${++sequence}`),
      events: EVENTS,
      ...body,
    });
    expectStatus(response, 201);
    return response.body as { endpoint: { id: string; url: string }; secret: string };
  };

  const createAccount = async (tenant: TestTenant) => {
    const keys = h.aws.addUser('aws', String(400000000000 + ++sequence));
    const response = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: `Keys ${sequence}`,
      partition: 'aws',
      ...keys,
    });
    expectStatus(response, 201);
    return response.body as { id: string; name: string };
  };

  it('refuses bad URLs and private addresses, naming the field', async () => {
    const s = await strict.tenant();
    for (const url of [
      'not a url',
      'ftp://hooks.example.com/x',
      'https://user:secret@hooks.example.com/x',
      'http://127.0.0.1:8080/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:10.0.0.1]/hook',
      'http://[fd00:ec2::254]/',
      'https://rebind.example.com/hook',
      'https://unknown.example.com/hook',
    ]) {
      const response = await s.admin.request('POST', '/v1/webhooks', { url, events: EVENTS });
      expectProblem(response, 422, 'url');
    }
    expectProblem(
      await s.admin.request('POST', '/v1/webhooks', { url: 'https://hooks.example.com/x' }),
      400,
      'events',
    );
    expectProblem(
      await s.admin.request('POST', '/v1/webhooks', {
        url: 'https://hooks.example.com/x',
        events: ['account.exploded'],
      }),
      400,
    );
    const ok = await s.admin.request('POST', '/v1/webhooks', {
      url: 'https://hooks.example.com/x',
      events: ['account.created'],
    });
    expectStatus(ok, 201);
    // A change of URL is checked the same way.
    expectProblem(
      await s.admin.request('PATCH', `/v1/webhooks/${ok.body.endpoint.id}`, {
        url: 'http://10.0.0.1/',
      }),
      422,
      'url',
    );
  });

  it('shows the secret once: never in a list, a get, or the audit', async () => {
    const { endpoint, secret } = await register(a);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const list = await a.admin.request('GET', '/v1/webhooks');
    const one = await a.admin.request('GET', `/v1/webhooks/${endpoint.id}`);
    const audit = await a.admin.request('GET', '/v1/audit');
    for (const response of [list, one, audit]) {
      expectStatus(response, 200);
      expect(response.text).not.toContain(secret);
      expect(response.text).not.toContain(secret.slice(6));
    }
    expect(one.body).toMatchObject({ id: endpoint.id, scope: 'tenant', tenantId: a.id });
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toContain(
      'webhook.created',
    );
    // Stored sealed, not in clear.
    const rows = await h.database.db.selectFrom('secrets').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(secret.slice(6));
  });

  it('delivers account events, signed so the receiver can verify them', async () => {
    const t = await h.tenant();
    const { endpoint, secret } = await register(t);
    const account = await createAccount(t);
    expect(await deliverer.runOnce()).toBeGreaterThanOrEqual(1);
    const mine = receiver.received.filter((r) => r.json?.data?.account?.id === account.id);
    expect(mine).toHaveLength(1);
    const delivery = mine[0];
    if (!delivery) throw new Error('no delivery');
    expect(delivery.json).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      type: 'account.created',
      tenantId: t.id,
      data: { account: { id: account.id, name: account.name, status: 'valid' } },
    });
    const headers = {
      id: String(delivery.headers['onramp-webhook-id']),
      timestamp: String(delivery.headers['onramp-webhook-timestamp']),
      signature: String(delivery.headers['onramp-webhook-signature']),
    };
    expect(headers.id).toBe(delivery.json.id);
    // The README's verification, by hand…
    const expected = createHmac('sha256', secret)
      .update(`${headers.timestamp}.${delivery.body}`)
      .digest('hex');
    expect(headers.signature).toBe(`v1=${expected}`);
    // …and with the helper, which also refuses a tampered body and a wrong secret.
    const nowSeconds = Math.floor(now / 1000);
    expect(verifySignature(secret, headers, delivery.body, nowSeconds)).toBe(true);
    expect(verifySignature(secret, headers, `${delivery.body} `, nowSeconds)).toBe(false);
    expect(verifySignature(`${secret}x`, headers, delivery.body, nowSeconds)).toBe(false);
    expect(verifySignature(secret, headers, delivery.body, nowSeconds + 3600)).toBe(false);

    // Updates, rotations and deletions are events too.
    await t.admin.request('PATCH', `/v1/accounts/${account.id}`, { name: `${account.name} 2` });
    const rotated = h.aws.addUser('aws', String(400000000000 + sequence), 'rotated');
    await t.admin.request('PUT', `/v1/accounts/${account.id}/credentials`, {
      method: 'access_keys',
      ...rotated,
    });
    await t.admin.request('DELETE', `/v1/accounts/${account.id}`);
    await deliverer.runOnce();
    const types = receiver.received
      .filter((r) => r.json?.data?.account?.id === account.id && r.json.tenantId === t.id)
      .map((r) => r.json.type);
    // Deliveries are concurrent: receivers order events by their payload, not by arrival.
    expect(types.sort()).toEqual([
      'account.created',
      'account.credentials_rotated',
      'account.deleted',
      'account.updated',
    ]);
    for (const r of receiver.received) expect(r.body).not.toContain(rotated.secretAccessKey);

    const log = await t.admin.request('GET', `/v1/webhooks/${endpoint.id}/deliveries`);
    expectStatus(log, 200);
    expect(log.body.deliveries[0]).toMatchObject({
      eventType: 'account.deleted',
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
      lastResponseExcerpt: 'ok',
    });
  });

  it('sends only the events an endpoint chose, and nothing once disabled', async () => {
    const { endpoint } = await register(a, { events: ['account.deleted'] });
    const account = await createAccount(a);
    await deliverer.runOnce();
    const log = await a.admin.request('GET', `/v1/webhooks/${endpoint.id}/deliveries`);
    expect(log.body.deliveries).toEqual([]);
    expectStatus(
      await a.admin.request('PATCH', `/v1/webhooks/${endpoint.id}`, { enabled: false }),
      200,
    );
    await a.admin.request('DELETE', `/v1/accounts/${account.id}`);
    await deliverer.runOnce();
    const after = await a.admin.request('GET', `/v1/webhooks/${endpoint.id}/deliveries`);
    expect(after.body.deliveries).toEqual([]);
  });

  it('retries a failing endpoint with backoff, then succeeds; gives up after a day', async () => {
    const t = await h.tenant();
    const { endpoint } = await register(t, { events: ['account.created'] });
    receiver.answer(500, 503);
    await createAccount(t);
    await deliverer.runOnce();
    // A token, not a session: the clock moves past a session's lifetime below.
    const reader = await t.token(['admin']);
    const log = async () =>
      (await reader.request('GET', `/v1/webhooks/${endpoint.id}/deliveries`)).body.deliveries[0];
    const first = await log();
    expect(first).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500 });
    expect(first.lastResponseExcerpt).toHaveLength(500);
    expect(Date.parse(first.nextAttemptAt) - now).toBe(30_000);
    // Not due yet: nothing is sent.
    const sent = receiver.received.length;
    await deliverer.runOnce();
    expect(receiver.received.length).toBe(sent);
    now += 31_000;
    await deliverer.runOnce();
    const second = await log();
    expect(second).toMatchObject({ status: 'pending', attempts: 2, lastStatusCode: 503 });
    expect(Date.parse(second.nextAttemptAt) - now).toBe(60_000);
    now += 61_000;
    await deliverer.runOnce();
    expect(await log()).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200 });
    // Every attempt carried the same event id.
    const ids = new Set(receiver.received.map((r) => r.headers['onramp-webhook-id']));
    expect(ids.size).toBe(1);

    // An endpoint that keeps failing is given up on a day after the event.
    receiver.answer(...Array<number>(50).fill(500));
    await createAccount(t);
    await deliverer.runOnce();
    now += 25 * 3_600_000;
    await deliverer.runOnce();
    expect(await log()).toMatchObject({ status: 'failed', attempts: 2, nextAttemptAt: null });
    receiver.clear();
  });

  it('sends a test event on demand and logs it', async () => {
    const { endpoint, secret } = await register(a);
    const test = await a.admin.request('POST', `/v1/webhooks/${endpoint.id}/test`);
    expectStatus(test, 200);
    expect(test.body).toMatchObject({
      eventType: 'webhook.test',
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 200,
    });
    const got = receiver.received.at(-1);
    expect(got?.json).toMatchObject({ type: 'webhook.test', data: { endpointId: endpoint.id } });
    expect(
      verifySignature(
        secret,
        {
          timestamp: String(got?.headers['onramp-webhook-timestamp']),
          signature: String(got?.headers['onramp-webhook-signature']),
        },
        got?.body ?? '',
        Math.floor(now / 1000),
      ),
    ).toBe(true);
    receiver.answer(500);
    const failing = await a.admin.request('POST', `/v1/webhooks/${endpoint.id}/test`);
    expect(failing.body).toMatchObject({ status: 'pending', lastStatusCode: 500 });
    const log = await a.admin.request('GET', `/v1/webhooks/${endpoint.id}/deliveries?limit=1`);
    expect(log.body.deliveries).toHaveLength(1);
    expect(log.body.next).toEqual(expect.any(String));
    const next = await a.admin.request(
      'GET',
      `/v1/webhooks/${endpoint.id}/deliveries?limit=1&cursor=${log.body.next}`,
    );
    expect(next.body.deliveries[0].status).toBe('delivered');
  });

  /** The signatures of a received delivery, and whether each secret verifies it at `now`. */
  const signaturesOf = (delivery: ReceivedWebhook | undefined) => {
    if (!delivery) throw new Error('no delivery received');
    const headers = {
      timestamp: String(delivery.headers['onramp-webhook-timestamp']),
      signature: String(delivery.headers['onramp-webhook-signature']),
    };
    return {
      candidates: headers.signature.split(' '),
      verifies: (secret: string) =>
        verifySignature(secret, headers, delivery.body, Math.floor(now / 1000)),
      signedWith: (secret: string) =>
        `v1=${createHmac('sha256', secret).update(`${headers.timestamp}.${delivery.body}`).digest('hex')}`,
    };
  };

  const rotate = (actor: Actor, id: string, body?: unknown) =>
    actor.request('POST', `/v1/webhooks/${id}/rotate-secret`, body);

  it('rotates the signing secret: both sign during the grace period, then only the new one', async () => {
    const t = await h.tenant();
    const { endpoint, secret: old } = await register(t);
    // A token, not a session: the clock moves past a session's lifetime below.
    const admin = await t.token(['admin']);
    const rotated = await rotate(admin, endpoint.id, {});
    expectStatus(rotated, 200);
    const fresh = rotated.body.secret as string;
    expect(fresh).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(fresh).not.toBe(old);
    const expiresAt = new Date(now + 24 * 3_600_000).toISOString();
    expect(rotated.body.endpoint).toMatchObject({
      id: endpoint.id,
      scope: 'tenant',
      previousSecretExpiresAt: expiresAt,
    });
    expect(Object.keys(rotated.body).sort()).toEqual(['endpoint', 'secret']);

    // An event during the grace period: signed with both, the new secret's signature first.
    const account = await createAccount(t);
    await deliverer.runOnce();
    const during = signaturesOf(
      receiver.received.find((r) => r.json?.data?.account?.id === account.id),
    );
    expect(during.candidates).toEqual([during.signedWith(fresh), during.signedWith(old)]);
    expect(during.verifies(fresh)).toBe(true);
    expect(during.verifies(old)).toBe(true);
    expect(during.verifies(`${fresh}x`)).toBe(false);

    // Neither secret is ever shown again, nor audited, nor stored in clear.
    const list = await admin.request('GET', '/v1/webhooks');
    const one = await admin.request('GET', `/v1/webhooks/${endpoint.id}`);
    const audit = await admin.request('GET', '/v1/audit');
    for (const response of [list, one, audit]) {
      expectStatus(response, 200);
      for (const secret of [fresh, old]) {
        expect(response.text).not.toContain(secret);
        expect(response.text).not.toContain(secret.slice(6));
      }
    }
    expect(one.body.previousSecretExpiresAt).toBe(expiresAt);
    const auditRows = await h.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', endpoint.id)
      .execute();
    const entry = auditRows.find((r) => r.action === 'webhook.secret_rotated');
    expect(entry).toMatchObject({ tenant_id: t.id, actor_type: 'token' });
    expect(JSON.parse(entry?.details ?? '{}')).toMatchObject({
      previousSecretValidForHours: 24,
      previousSecretExpiresAt: expiresAt,
    });
    const secretRows = await h.database.db
      .selectFrom('secrets')
      .selectAll()
      .where('owner_id', '=', endpoint.id)
      .execute();
    expect(secretRows.map((r) => r.field).sort()).toEqual([
      'webhookPreviousSecret',
      'webhookSecret',
    ]);
    for (const secret of [fresh, old]) {
      expect(JSON.stringify([...auditRows, ...secretRows])).not.toContain(secret.slice(6));
    }

    // The replaced secret is sealed like the current one: a master-key rotation re-wraps both.
    const { rewrapAll } = await import('../../commands/keys-rotate.ts');
    h.keyring.add();
    expect((await rewrapAll(h.database.db, h.keyring)).failed).toEqual([]);
    receiver.clear();
    expectStatus(await admin.request('POST', `/v1/webhooks/${endpoint.id}/test`), 200);
    const afterKeyRotation = signaturesOf(receiver.received.at(-1));
    expect(afterKeyRotation.verifies(fresh)).toBe(true);
    expect(afterKeyRotation.verifies(old)).toBe(true);

    // Once the grace period is over, only the new secret signs, and the old one is dropped.
    now += 24 * 3_600_000 + 1_000;
    receiver.clear();
    const test = await admin.request('POST', `/v1/webhooks/${endpoint.id}/test`);
    expect(test.body).toMatchObject({ status: 'delivered' });
    const after = signaturesOf(receiver.received.at(-1));
    expect(after.candidates).toEqual([after.signedWith(fresh)]);
    expect(after.verifies(fresh)).toBe(true);
    expect(after.verifies(old)).toBe(false);
    const expired = await admin.request('GET', `/v1/webhooks/${endpoint.id}`);
    expect(expired.body.previousSecretExpiresAt).toBeNull();
    const left = await h.database.db
      .selectFrom('secrets')
      .select('field')
      .where('owner_id', '=', endpoint.id)
      .execute();
    expect(left.map((r) => r.field)).toEqual(['webhookSecret']);
  });

  it('drops a replaced secret once its grace period is over, even from an endpoint with no deliveries', async () => {
    const { admin } = await h.tenant();
    const created = await admin.request('POST', '/v1/webhooks', {
      url: receiver.url('/idle'),
      events: ['account.deleted'],
    });
    expectStatus(created, 201);
    const id = created.body.endpoint.id;
    expectStatus(
      await admin.request('POST', `/v1/webhooks/${id}/rotate-secret`, {
        previousSecretValidForHours: 1,
      }),
      200,
    );
    const fields = async () =>
      (
        await h.database.db
          .selectFrom('secrets')
          .select('field')
          .where('owner_id', '=', id)
          .orderBy('field')
          .execute()
      ).map((r) => r.field);
    await deliverer.runOnce();
    expect(await fields()).toEqual(['webhookPreviousSecret', 'webhookSecret']);
    now += 3_600_000 + 1_000;
    await deliverer.runOnce();
    expect(await fields()).toEqual(['webhookSecret']);
    const row = await h.database.db
      .selectFrom('webhook_endpoints')
      .select('previous_secret_expires_at')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.previous_secret_expires_at).toBeNull();
  });

  it('stops the old secret at once with 0 hours, and keeps only the secret just replaced', async () => {
    const t = await h.tenant();
    const { endpoint, secret: first } = await register(t);
    // Without a body: the default grace period.
    const second = await rotate(t.admin, endpoint.id);
    expectStatus(second, 200);
    expect(second.body.endpoint.previousSecretExpiresAt).toBe(
      new Date(now + 24 * 3_600_000).toISOString(),
    );
    const third = await rotate(t.admin, endpoint.id, { previousSecretValidForHours: 2 });
    expectStatus(third, 200);
    receiver.clear();
    await t.admin.request('POST', `/v1/webhooks/${endpoint.id}/test`);
    const both = signaturesOf(receiver.received.at(-1));
    expect(both.candidates).toHaveLength(2);
    expect(both.verifies(third.body.secret)).toBe(true);
    expect(both.verifies(second.body.secret)).toBe(true);
    expect(both.verifies(first)).toBe(false);

    const immediate = await rotate(t.admin, endpoint.id, { previousSecretValidForHours: 0 });
    expectStatus(immediate, 200);
    expect(immediate.body.endpoint.previousSecretExpiresAt).toBeNull();
    receiver.clear();
    await t.admin.request('POST', `/v1/webhooks/${endpoint.id}/test`);
    const only = signaturesOf(receiver.received.at(-1));
    expect(only.candidates).toEqual([only.signedWith(immediate.body.secret)]);
    expect(only.verifies(third.body.secret)).toBe(false);
    const fields = await h.database.db
      .selectFrom('secrets')
      .select('field')
      .where('owner_id', '=', endpoint.id)
      .execute();
    expect(fields.map((r) => r.field)).toEqual(['webhookSecret']);
  });

  it('refuses a bad grace period naming the field, and another tenant’s endpoint with 404', async () => {
    const { endpoint, secret } = await register(a);
    for (const previousSecretValidForHours of [-1, 169, 1.5, '24', null]) {
      expectProblem(
        await rotate(a.admin, endpoint.id, { previousSecretValidForHours }),
        400,
        'previousSecretValidForHours',
      );
    }
    expectProblem(await rotate(b.admin, endpoint.id, {}), 404);
    expectProblem(await rotate(a.admin, 'wh_00000000000000000000000000', {}), 404);
    // Nothing changed: the endpoint still signs with its one secret.
    receiver.clear();
    await a.admin.request('POST', `/v1/webhooks/${endpoint.id}/test`);
    const delivery = signaturesOf(receiver.received.at(-1));
    expect(delivery.candidates).toEqual([delivery.signedWith(secret)]);
    const one = await a.admin.request('GET', `/v1/webhooks/${endpoint.id}`);
    expect(one.body.previousSecretExpiresAt).toBeNull();
    const audited = await h.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('target_id', '=', endpoint.id)
      .execute();
    expect(audited.map((r) => r.action)).not.toContain('webhook.secret_rotated');
  });

  it('describes the rotation in the OpenAPI', async () => {
    const spec = await h.anonymous.request('GET', '/openapi.json');
    expectStatus(spec, 200);
    const operation = spec.body.paths['/v1/webhooks/{id}/rotate-secret']?.post;
    expect(operation?.tags).toEqual(['webhooks']);
    expect(JSON.stringify(operation.requestBody)).toContain('previousSecretValidForHours');
    expect(JSON.stringify(operation.responses['200'])).toContain('previousSecretExpiresAt');
  });

  it('keeps endpoints to their tenant', async () => {
    const { endpoint } = await register(a);
    const viewer = a.viewer;
    const readToken = await a.token(['accounts:read', 'accounts:write']);
    for (const route of [
      { method: 'GET', url: `/v1/webhooks/${endpoint.id}` },
      { method: 'PATCH', url: `/v1/webhooks/${endpoint.id}`, body: { enabled: false } },
      { method: 'DELETE', url: `/v1/webhooks/${endpoint.id}` },
      { method: 'GET', url: `/v1/webhooks/${endpoint.id}/deliveries` },
      { method: 'POST', url: `/v1/webhooks/${endpoint.id}/test` },
      { method: 'POST', url: `/v1/webhooks/${endpoint.id}/rotate-secret`, body: {} },
    ]) {
      await expectSecured(h, route, { forbidden: [viewer, readToken], otherTenant: [b.admin] });
    }
    const listed = await b.admin.request('GET', '/v1/webhooks');
    expect(listed.body.endpoints.map((e: { id: string }) => e.id)).not.toContain(endpoint.id);
    // b's accounts do not reach a's endpoint.
    await createAccount(b);
    await deliverer.runOnce();
    expect(receiver.received.filter((r) => r.json?.tenantId === b.id)).toEqual([]);
    // The owner can delete it; then it is gone.
    expectStatus(await a.admin.request('DELETE', `/v1/webhooks/${endpoint.id}`), 204);
    expectProblem(await a.admin.request('GET', `/v1/webhooks/${endpoint.id}`), 404);
  });

  it('lets the operator register an endpoint that receives every tenant’s events', async () => {
    const operator = await h.operator();
    const created = await operator.request('POST', '/v1/webhooks', {
      url: receiver.url('/operator'),
      events: ['account.created'],
    });
    expectStatus(created, 201);
    expect(created.body.endpoint).toMatchObject({ scope: 'operator', tenantId: null });
    // Tenants do not see it.
    const aList = await a.admin.request('GET', '/v1/webhooks');
    expect(aList.body.endpoints.map((e: { id: string }) => e.id)).not.toContain(
      created.body.endpoint.id,
    );
    expectProblem(await a.admin.request('GET', `/v1/webhooks/${created.body.endpoint.id}`), 404);
    const fromA = await createAccount(a);
    const fromB = await createAccount(b);
    await deliverer.runOnce();
    const atOperator = receiver.received.filter((r) => r.path === '/operator');
    expect(atOperator.map((r) => [r.json.tenantId, r.json.data.account.id])).toEqual(
      expect.arrayContaining([
        [a.id, fromA.id],
        [b.id, fromB.id],
      ]),
    );
    expect(atOperator).toHaveLength(2);
    const log = await operator.request(
      'GET',
      `/v1/webhooks/${created.body.endpoint.id}/deliveries`,
    );
    expect(log.body.deliveries.map((d: { status: string }) => d.status)).toEqual([
      'delivered',
      'delivered',
    ]);
    // Operator secrets are sealed without a tenant, and still open after a key rotation.
    const { rewrapAll } = await import('../../commands/keys-rotate.ts');
    h.keyring.add();
    const report = await rewrapAll(h.database.db, h.keyring);
    expect(report.failed).toEqual([]);
    expect(
      (await operator.request('POST', `/v1/webhooks/${created.body.endpoint.id}/test`)).body,
    ).toMatchObject({ status: 'delivered' });
    // Only the operator rotates its secret; the replaced one, sealed without a tenant, still signs.
    expectProblem(await rotate(a.admin, created.body.endpoint.id, {}), 404);
    const rotated = await rotate(operator, created.body.endpoint.id, {});
    expectStatus(rotated, 200);
    expect(rotated.body.endpoint).toMatchObject({ scope: 'operator', tenantId: null });
    receiver.clear();
    await operator.request('POST', `/v1/webhooks/${created.body.endpoint.id}/test`);
    const delivery = signaturesOf(receiver.received.at(-1));
    expect(delivery.verifies(rotated.body.secret)).toBe(true);
    expect(delivery.verifies(created.body.secret)).toBe(true);
  });
});

describe('webhook secret rotation', () => {
  it('writes neither secret to a log line, at the most verbose level', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const receiver = await startWebhookReceiver();
    const h = await createHarness('sqlite', {
      logger: { level: 'trace', stream, redact: LOG_REDACT },
      webhookSettings: { allowPrivate: true },
    });
    try {
      const tenant = await h.tenant();
      const created = await tenant.admin.request('POST', '/v1/webhooks', {
        url: receiver.url('/logged'),
        events: ['account.created'],
      });
      expectStatus(created, 201);
      const rotated = await tenant.admin.request(
        'POST',
        `/v1/webhooks/${created.body.endpoint.id}/rotate-secret`,
        { previousSecretValidForHours: 1 },
      );
      expectStatus(rotated, 200);
      const test = await tenant.admin.request(
        'POST',
        `/v1/webhooks/${created.body.endpoint.id}/test`,
      );
      expect(test.body).toMatchObject({ status: 'delivered' });
      expect(String(receiver.received[0]?.headers['onramp-webhook-signature'])).toContain(' ');
      expect(lines.join('')).toContain('rotate-secret');
      for (const secret of [created.body.secret, rotated.body.secret] as string[]) {
        expect(lines.join('').includes(secret.slice(6)), 'a log line carries a secret').toBe(false);
      }
    } finally {
      await h.close();
      await receiver.close();
    }
  });
});
