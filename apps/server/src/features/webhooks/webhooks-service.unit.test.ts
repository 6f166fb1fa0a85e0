import type { WebhookEventType } from '@onramp/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../http/problems.ts';
import { createUnitWorld, type UnitWorld } from '../../testing/fakes.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';
import type { HostLookup } from './address-guard.ts';
import { SECRET_PREFIX } from './webhook-signature.ts';
import {
  createWebhooksService,
  FIRST_RETRY_MS,
  GIVE_UP_AFTER_MS,
  type WebhookCaller,
  type WebhookSettings,
} from './webhooks-service.ts';

/**
 * The webhooks service on its own: SQLite in memory, a resolver the test answers, an audit log that
 * is a list. Deliveries go to a receiver on 127.0.0.1 (the one test that sends), never to an app.
 */
const PUBLIC = '93.184.216.34';

describe('webhooks service', () => {
  let w: UnitWorld;
  /** What the fake resolver answers, by host name. */
  let dns: Map<string, string>;
  const lookup: HostLookup = async (hostname) => {
    const address = dns.get(hostname);
    if (!address) throw Object.assign(new Error(`no such host ${hostname}`), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  beforeEach(async () => {
    w = await createUnitWorld();
    dns = new Map([
      ['hooks.example.com', PUBLIC],
      ['intranet.example.com', '10.0.0.5'],
    ]);
  });
  afterEach(() => w.drop());

  const service = (settings: WebhookSettings = {}) =>
    createWebhooksService({
      ...w.deps,
      audit: w.audit.log,
      webhookSettings: { lookup, ...settings },
    });
  const tenantCaller = (tenantId: string): WebhookCaller => ({
    owner: tenantId,
    actorType: 'user',
    actorId: 'usr_unit',
    requestId: 'req_unit',
    sourceIp: '192.0.2.1',
  });
  const operator: WebhookCaller = { ...tenantCaller('x'), owner: null, actorId: 'usr_operator' };
  const endpoint = (
    url: string,
    events: WebhookEventType[] = ['account.created'],
    enabled = true,
  ) => ({
    url,
    events,
    description: '',
    enabled,
  });

  it('creates an endpoint on a public address, with a secret shown once and a redacted audit', async () => {
    const { endpoint: created, secret } = await service().createEndpoint(
      tenantCaller(w.caller.tenantId),
      endpoint('https://hooks.example.com/onramp?token=abc'),
    );
    expect(secret.startsWith(SECRET_PREFIX)).toBe(true);
    expect(created).toMatchObject({ tenantId: w.caller.tenantId, enabled: true });
    const entry = w.audit.entries.at(-1);
    expect(entry).toMatchObject({
      action: 'webhook.created',
      targetId: created.id,
      inTransaction: true,
    });
    expect(entry?.details?.url).toBe('https://hooks.example.com/onramp');
    expect(JSON.stringify(w.audit.entries)).not.toContain(secret);
    const stored = await w.database.db.selectFrom('secrets').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  it('refuses private, loopback and metadata addresses unless allowed', async () => {
    const caller = tenantCaller(w.caller.tenantId);
    for (const url of [
      'https://intranet.example.com/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://127.0.0.1:8080/hook',
      'http://[::1]/hook',
    ]) {
      const refused = await service()
        .createEndpoint(caller, endpoint(url))
        .catch((e: unknown) => e);
      expect(refused, url).toBeInstanceOf(AppError);
      expect((refused as AppError).errors[0]?.field, url).toBe('url');
    }
    expect(w.audit.entries).toEqual([]);
    const allowed = await service({ allowPrivate: true }).createEndpoint(
      caller,
      endpoint('https://intranet.example.com/hook'),
    );
    expect(allowed.endpoint.url).toBe('https://intranet.example.com/hook');
  });

  it('an event goes to its tenant’s endpoints and the operator’s, enabled and wanting it', async () => {
    const webhooks = service();
    const other = await w.otherTenant();
    const mine = await webhooks.createEndpoint(
      tenantCaller(w.caller.tenantId),
      endpoint('https://hooks.example.com/mine'),
    );
    await webhooks.createEndpoint(
      tenantCaller(w.caller.tenantId),
      endpoint('https://hooks.example.com/mine-off', ['account.created'], false),
    );
    await webhooks.createEndpoint(
      tenantCaller(w.caller.tenantId),
      endpoint('https://hooks.example.com/mine-deleted-only', ['account.deleted']),
    );
    await webhooks.createEndpoint(
      tenantCaller(other.tenantId),
      endpoint('https://hooks.example.com/theirs'),
    );
    const operators = await webhooks.createEndpoint(
      operator,
      endpoint('https://hooks.example.com/operator'),
    );

    const count = await w.database.db.transaction().execute((trx) =>
      webhooks.publish(
        {
          tenantId: w.caller.tenantId,
          type: 'account.created',
          data: { account: { id: 'acc_1' } },
        },
        trx,
      ),
    );
    expect(count).toBe(2);
    const deliveries = await w.database.db
      .selectFrom('webhook_deliveries')
      .select(['endpoint_id', 'tenant_id', 'event_type', 'payload', 'status'])
      .orderBy('endpoint_id')
      .execute();
    expect(deliveries.map((d) => d.endpoint_id).sort()).toEqual(
      [mine.endpoint.id, operators.endpoint.id].sort(),
    );
    expect(new Set(deliveries.map((d) => d.payload)).size).toBe(1);
    expect(JSON.parse(deliveries[0]?.payload ?? '{}')).toMatchObject({
      type: 'account.created',
      tenantId: w.caller.tenantId,
      data: { account: { id: 'acc_1' } },
    });
    expect(deliveries.every((d) => d.status === 'pending')).toBe(true);
  });

  it('an event nobody listens to records nothing; a rolled-back change leaves no delivery', async () => {
    const webhooks = service();
    await webhooks.createEndpoint(
      tenantCaller(w.caller.tenantId),
      endpoint('https://hooks.example.com/mine'),
    );
    const unheard = await w.database.db
      .transaction()
      .execute((trx) =>
        webhooks.publish({ tenantId: w.caller.tenantId, type: 'account.deleted', data: {} }, trx),
      );
    expect(unheard).toBe(0);
    await w.database.db
      .transaction()
      .execute(async (trx) => {
        await webhooks.publish(
          { tenantId: w.caller.tenantId, type: 'account.created', data: {} },
          trx,
        );
        throw new Error('the change failed');
      })
      .catch(() => undefined);
    expect(await w.database.db.selectFrom('webhook_deliveries').selectAll().execute()).toEqual([]);
  });

  describe('attempts', () => {
    let receiver: WebhookReceiver;
    beforeEach(async () => {
      receiver = await startWebhookReceiver();
    });
    afterEach(() => receiver.close());

    it('records each answer, backs off, and delivers on a 2xx', async () => {
      const webhooks = service({ allowPrivate: true });
      const { endpoint: created, secret } = await webhooks.createEndpoint(
        tenantCaller(w.caller.tenantId),
        endpoint(receiver.url('/hook')),
      );
      await w.database.db
        .transaction()
        .execute((trx) =>
          webhooks.publish({ tenantId: w.caller.tenantId, type: 'account.created', data: {} }, trx),
        );
      receiver.answer(500, 503);
      const claimNow = async () => {
        const [claimed] = await webhooks.claimDue('worker-1', 10, 60_000);
        expect(claimed).toBeDefined();
        return webhooks.attempt(claimed as NonNullable<typeof claimed>, 'worker-1');
      };

      const first = await claimNow();
      expect(first).toMatchObject({
        endpointId: created.id,
        status: 'pending',
        attempts: 1,
        lastStatusCode: 500,
        lastError: 'The endpoint answered 500.',
        nextAttemptAt: new Date(w.time.now.getTime() + FIRST_RETRY_MS).toISOString(),
      });
      // Not due yet: nobody claims it.
      expect(await webhooks.claimDue('worker-1', 10, 60_000)).toEqual([]);

      w.time.now = new Date(w.time.now.getTime() + FIRST_RETRY_MS);
      const second = await claimNow();
      expect(second).toMatchObject({ attempts: 2, lastStatusCode: 503 });
      expect(second.nextAttemptAt).toBe(
        new Date(w.time.now.getTime() + 2 * FIRST_RETRY_MS).toISOString(),
      );

      w.time.now = new Date(w.time.now.getTime() + 2 * FIRST_RETRY_MS);
      const third = await claimNow();
      expect(third).toMatchObject({
        status: 'delivered',
        attempts: 3,
        lastStatusCode: 200,
        lastError: null,
        nextAttemptAt: null,
        deliveredAt: w.time.now.toISOString(),
      });
      expect(receiver.received).toHaveLength(3);
      expect(JSON.stringify(receiver.received[2]?.headers)).not.toContain(secret);
    });

    it('gives up a day after the event', async () => {
      const webhooks = service({ allowPrivate: true });
      await webhooks.createEndpoint(tenantCaller(w.caller.tenantId), endpoint(receiver.url()));
      await w.database.db
        .transaction()
        .execute((trx) =>
          webhooks.publish({ tenantId: w.caller.tenantId, type: 'account.created', data: {} }, trx),
        );
      receiver.answer(500);
      w.time.now = new Date(w.time.now.getTime() + GIVE_UP_AFTER_MS);
      const [claimed] = await webhooks.claimDue('worker-1', 10, 60_000);
      const last = await webhooks.attempt(claimed as NonNullable<typeof claimed>, 'worker-1');
      expect(last).toMatchObject({ status: 'failed', lastStatusCode: 500, nextAttemptAt: null });
    });
  });

  it('a name that now resolves to a private address is not sent to, and retried later', async () => {
    const webhooks = service();
    await webhooks.createEndpoint(
      tenantCaller(w.caller.tenantId),
      endpoint('https://hooks.example.com/hook'),
    );
    await w.database.db
      .transaction()
      .execute((trx) =>
        webhooks.publish({ tenantId: w.caller.tenantId, type: 'account.created', data: {} }, trx),
      );
    dns.set('hooks.example.com', '169.254.169.254');
    const [claimed] = await webhooks.claimDue('worker-1', 10, 60_000);
    const attempt = await webhooks.attempt(claimed as NonNullable<typeof claimed>, 'worker-1');
    expect(attempt).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatusCode: null,
      nextAttemptAt: new Date(w.time.now.getTime() + FIRST_RETRY_MS).toISOString(),
    });
    expect(attempt.lastError).toMatch(/link-local/);
  });
});
