import type { WebhookEventType } from '@onramp/contracts';
import type { Kysely } from 'kysely';
import type { Envelope, SealedSecret, SecretBinding } from '../../adapters/crypto/envelope.ts';
import type { Dialect } from '../../adapters/db/dialect.ts';
import type { Database, WebhookDeliveriesTable } from '../../adapters/db/schema.ts';
import { OPERATOR_SECRET_SCOPE } from '../../adapters/db/schema.ts';
import { decodeCursor, encodeCursor, toPage } from '../../http/pagination.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { isId, newId } from '../../ids.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import { type CollectionCaps, insertWithinCap } from '../tenants/collection-caps.ts';
import { checkEndpointUrl, type GuardOptions, systemLookup } from './address-guard.ts';
import { sendDelivery } from './webhook-sender.ts';
import { SECRET_PREFIX } from './webhook-signature.ts';
import {
  createWebhooksRepository,
  type EndpointOwner,
  WEBHOOK_PREVIOUS_SECRET_FIELD,
  WEBHOOK_SECRET_FIELD,
  type WebhookDelivery,
  type WebhookEndpoint,
} from './webhooks-repository.ts';

/** How webhooks behave; every field has a default. */
export interface WebhookSettings {
  /** Allow endpoints on private, loopback and link-local addresses (labs and tests only). */
  allowPrivate?: boolean;
  /** Resolves host names (injected in tests). */
  lookup?: GuardOptions['lookup'];
  /** How long one delivery attempt may take. Default 10 s. */
  timeoutMs?: number;
}

/** Who acts on endpoints: a tenant (its id) or the operator (null), and for the audit, who and from where. */
export interface WebhookCaller {
  owner: EndpointOwner;
  actorType: 'user' | 'token' | 'system';
  actorId: string | null;
  requestId: string;
  sourceIp: string;
}

export interface WebhookEvent {
  tenantId: string;
  type: WebhookEventType;
  data: Record<string, unknown>;
}

/**
 * An event whose data is already JSON text, for `publishAll`: the caller serialises it before the
 * transaction that records it, so the transaction holds its locks only for the writes.
 */
export interface SerialisedWebhookEvent {
  tenantId: string;
  type: WebhookEventType;
  dataJson: string;
}

export interface EndpointInput {
  url: string;
  events: WebhookEventType[];
  description: string;
  enabled: boolean;
}

/** Retries: 30 s, doubling, at most an hour apart, for a day after the event; then `failed`. */
export const FIRST_RETRY_MS = 30_000;
export const MAX_RETRY_MS = 3_600_000;
export const GIVE_UP_AFTER_MS = 86_400_000;

export function retryDelayMs(failedAttempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failedAttempts - 1), MAX_RETRY_MS);
}

/** What the webhooks service uses. */
export interface WebhooksServiceDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  randomBytes: (size: number) => Uint8Array;
  envelope: Envelope;
  audit: AuditLog;
  webhookSettings?: WebhookSettings | undefined;
  /** How many endpoints a tenant (or the operator) may register (features/tenants/collection-caps.ts). */
  collectionCaps?: Partial<CollectionCaps> | undefined;
}

/**
 * Webhook endpoints (a tenant's, or the operator's for every tenant), the outbox that records events in
 * the same transaction as the change they report, and the delivery of one outbox row.
 */
export function createWebhooksService(deps: WebhooksServiceDeps) {
  const repo = createWebhooksRepository(deps.db, deps.dialect);
  const now = () => deps.clock().toISOString();
  const guard: GuardOptions = {
    allowPrivate: deps.webhookSettings?.allowPrivate ?? false,
    lookup: deps.webhookSettings?.lookup ?? systemLookup,
  };
  const timeoutMs = deps.webhookSettings?.timeoutMs ?? 10_000;
  const binding = (
    owner: EndpointOwner,
    endpointId: string,
    field: string = WEBHOOK_SECRET_FIELD,
  ) => ({
    tenantId: owner ?? OPERATOR_SECRET_SCOPE,
    ownerId: endpointId,
    field,
  });
  const newSecret = () =>
    `${SECRET_PREFIX}${Buffer.from(deps.randomBytes(32)).toString('base64url')}`;

  /** An expiry that has passed is no expiry: the replaced secret no longer signs. */
  const isLive = (expiresAt: string | null): expiresAt is string =>
    expiresAt !== null && expiresAt > now();
  const withLiveExpiry = (endpoint: WebhookEndpoint): WebhookEndpoint =>
    isLive(endpoint.previousSecretExpiresAt)
      ? endpoint
      : { ...endpoint, previousSecretExpiresAt: null };

  async function requireEndpoint(owner: EndpointOwner, id: string): Promise<WebhookEndpoint> {
    const endpoint = await repo.findEndpoint(owner, id);
    if (!endpoint) throw notFound('This webhook endpoint');
    return withLiveExpiry(endpoint);
  }

  /** Opens a sealed secret; undefined when it cannot be (a master key missing from the keyring). */
  function openOrUndefined(
    sealed: SealedSecret | undefined,
    secretBinding: SecretBinding,
  ): string | undefined {
    if (!sealed) return undefined;
    try {
      return deps.envelope.open(sealed, secretBinding);
    } catch {
      return undefined;
    }
  }

  /**
   * The secrets a delivery to this endpoint is signed with, newest first: the current one, and the
   * one a rotation replaced while it is still live. An expired one is dropped on the way.
   */
  async function signingSecretsOf(endpoint: {
    id: string;
    tenant_id: string | null;
    previous_secret_expires_at: string | null;
  }): Promise<{ exists: boolean; current: string | undefined; previous: string | undefined }> {
    const sealed = await repo.findSecrets(endpoint.tenant_id, endpoint.id);
    const current = openOrUndefined(sealed.current, binding(endpoint.tenant_id, endpoint.id));
    const expiresAt = endpoint.previous_secret_expires_at;
    if (expiresAt !== null && !isLive(expiresAt))
      await repo.clearExpiredPreviousSecret(endpoint.tenant_id, endpoint.id, now());
    const previous = isLive(expiresAt)
      ? openOrUndefined(
          sealed.previous,
          binding(endpoint.tenant_id, endpoint.id, WEBHOOK_PREVIOUS_SECRET_FIELD),
        )
      : undefined;
    return { exists: sealed.current !== undefined, current, previous };
  }

  async function ensureUrlAllowed(url: string): Promise<void> {
    const issue = await checkEndpointUrl(url, guard);
    if (issue) throw new AppError('validation_failed', issue.message, [issue]);
  }

  function audit(
    caller: WebhookCaller,
    action: string,
    id: string,
    details: Record<string, unknown>,
    executor: Kysely<Database>,
  ) {
    return deps.audit.append(
      {
        tenantId: caller.owner,
        actorType: caller.actorType,
        actorId: caller.actorId,
        action,
        targetType: 'webhook',
        targetId: id,
        requestId: caller.requestId,
        sourceIp: caller.sourceIp,
        details,
      },
      executor,
    );
  }

  function deliveryRow(
    endpoint: WebhookEndpoint,
    eventId: string,
    type: string,
    payload: string,
    at: string,
  ): WebhookDeliveriesTable {
    return {
      id: newId('webhookDelivery'),
      endpoint_id: endpoint.id,
      tenant_id: endpoint.tenantId,
      event_id: eventId,
      event_type: type,
      payload,
      attempt: 0,
      status: 'pending',
      next_attempt_at: at,
      last_attempt_at: null,
      last_status_code: null,
      last_response_excerpt: null,
      last_error: null,
      delivered_at: null,
      claimed_by: null,
      claim_expires_at: null,
      created_at: at,
    };
  }

  /**
   * Makes one attempt of a delivery this replica has claimed, and records the outcome: delivered on a
   * 2xx; otherwise retried with backoff until a day after the event, then failed.
   */
  async function attempt(delivery: WebhookDelivery, owner: string): Promise<WebhookDelivery> {
    const endpoint = await deps.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', delivery.endpointId)
      .executeTakeFirst();
    const attemptedAt = deps.clock();
    const attempts = delivery.attempts + 1;
    let result: Awaited<ReturnType<typeof sendDelivery>>;
    if (!endpoint) {
      result = { kind: 'error', message: 'The endpoint or its secret no longer exists.' };
    } else if (endpoint.enabled !== 1) {
      result = { kind: 'error', message: 'The endpoint is disabled.' };
    } else {
      const { exists, current, previous } = await signingSecretsOf(endpoint);
      result = !exists
        ? { kind: 'error', message: 'The endpoint or its secret no longer exists.' }
        : current === undefined
          ? { kind: 'error', message: 'The signing secret could not be opened (see the keyring).' }
          : await sendDelivery(
              {
                url: endpoint.url,
                secrets: previous === undefined ? [current] : [current, previous],
                eventId: delivery.eventId,
                body: delivery.payload,
                timestamp: Math.floor(attemptedAt.getTime() / 1000),
              },
              guard,
              timeoutMs,
            );
    }
    const ok = result.kind === 'response' && result.statusCode >= 200 && result.statusCode < 300;
    const retryAt = attemptedAt.getTime() + retryDelayMs(attempts);
    const giveUp = retryAt > Date.parse(delivery.createdAt) + GIVE_UP_AFTER_MS;
    const set: Partial<WebhookDeliveriesTable> = {
      attempt: attempts,
      last_attempt_at: attemptedAt.toISOString(),
      last_status_code: result.kind === 'response' ? result.statusCode : null,
      last_response_excerpt: result.kind === 'response' ? result.excerpt : null,
      last_error:
        result.kind === 'error'
          ? result.message.slice(0, 500)
          : ok
            ? null
            : `The endpoint answered ${result.statusCode}${result.statusCode >= 300 && result.statusCode < 400 ? ' (redirects are not followed)' : ''}.`,
      status: ok ? 'delivered' : giveUp ? 'failed' : 'pending',
      next_attempt_at: ok || giveUp ? null : new Date(retryAt).toISOString(),
      delivered_at: ok ? attemptedAt.toISOString() : null,
    };
    await repo.recordAttempt(delivery.id, owner, set);
    return (await repo.findDelivery(delivery.id)) ?? delivery;
  }

  /**
   * Records many events at once (a catalog change that makes thousands of accounts outdated): the
   * listeners of all their tenants in one read, the deliveries in a few inserts, in the caller's
   * transaction as `publish` does. Returns the number of deliveries.
   */
  async function publishAll(
    events: readonly (WebhookEvent | SerialisedWebhookEvent)[],
    executor: Kysely<Database>,
  ): Promise<number> {
    if (events.length === 0) return 0;
    const endpoints = await repo.listListenersOf(
      [...new Set(events.map((e) => e.tenantId))],
      executor,
    );
    const at = now();
    const rows: WebhookDeliveriesTable[] = [];
    for (const event of events) {
      const listeners = endpoints.filter(
        (e) =>
          (e.tenantId === null || e.tenantId === event.tenantId) && e.events.includes(event.type),
      );
      if (listeners.length === 0) continue;
      const eventId = newId('event');
      // The same text either way: JSON.stringify writes the keys in this order.
      const payload =
        'dataJson' in event
          ? `{"id":${JSON.stringify(eventId)},"type":${JSON.stringify(event.type)},"createdAt":${JSON.stringify(at)},"tenantId":${JSON.stringify(event.tenantId)},"data":${event.dataJson}}`
          : JSON.stringify({
              id: eventId,
              type: event.type,
              createdAt: at,
              tenantId: event.tenantId,
              data: event.data,
            });
      for (const endpoint of listeners)
        rows.push(deliveryRow(endpoint, eventId, event.type, payload, at));
    }
    await repo.insertDeliveries(rows, executor);
    return rows.length;
  }

  return {
    guard,

    async createEndpoint(
      caller: WebhookCaller,
      input: EndpointInput,
    ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
      await ensureUrlAllowed(input.url);
      const id = newId('webhook');
      const secret = newSecret();
      const sealed = deps.envelope.seal(secret, binding(caller.owner, id));
      const at = now();
      const events = [...new Set(input.events)];
      const endpoint = await insertWithinCap(
        deps,
        {
          collection: 'webhooks',
          tenantId: caller.owner,
          count: (trx) => repo.countEndpoints(caller.owner, trx),
        },
        async (trx) => {
          const created = await repo.createEndpoint(
            {
              id,
              tenant_id: caller.owner,
              url: input.url,
              description: input.description,
              events: JSON.stringify(events),
              enabled: input.enabled ? 1 : 0,
              previous_secret_expires_at: null,
              created_by: caller.actorId,
              created_at: at,
              updated_at: at,
            },
            sealed,
            trx,
          );
          await audit(
            caller,
            'webhook.created',
            id,
            { url: redactUrl(input.url), events, enabled: input.enabled },
            trx,
          );
          return created;
        },
      );
      return { endpoint, secret };
    },

    /** One page of an owner's endpoints, by id ascending. */
    async listEndpoints(
      owner: EndpointOwner,
      query: { limit: number; cursor?: string | undefined },
    ): Promise<{ endpoints: WebhookEndpoint[]; next: string | null }> {
      const rows = await repo.listEndpoints(owner, {
        limit: query.limit,
        ...(query.cursor !== undefined
          ? { after: decodeCursor(query.cursor, (k) => isId('webhook', k)) }
          : {}),
      });
      const page = toPage(rows, query.limit, (e) => e.id);
      return { endpoints: page.items.map(withLiveExpiry), next: page.next };
    },

    getEndpoint: requireEndpoint,

    async updateEndpoint(
      caller: WebhookCaller,
      id: string,
      input: Partial<EndpointInput>,
    ): Promise<WebhookEndpoint> {
      const endpoint = await requireEndpoint(caller.owner, id);
      if (input.url !== undefined && input.url !== endpoint.url) await ensureUrlAllowed(input.url);
      const events = input.events ? [...new Set(input.events)] : undefined;
      await deps.db.transaction().execute(async (trx) => {
        if (
          !(await repo.updateEndpoint(
            caller.owner,
            id,
            {
              ...(input.url !== undefined ? { url: input.url } : {}),
              ...(input.description !== undefined ? { description: input.description } : {}),
              ...(events ? { events: JSON.stringify(events) } : {}),
              ...(input.enabled !== undefined ? { enabled: input.enabled ? 1 : 0 } : {}),
              updated_at: now(),
            },
            trx,
          ))
        )
          throw notFound('This webhook endpoint');
        await audit(
          caller,
          'webhook.updated',
          id,
          {
            changed: Object.keys(input).filter(
              (k) => input[k as keyof EndpointInput] !== undefined,
            ),
            url: redactUrl(input.url ?? endpoint.url),
            events: events ?? endpoint.events,
            enabled: input.enabled ?? endpoint.enabled,
          },
          trx,
        );
      });
      return requireEndpoint(caller.owner, id);
    },

    /**
     * Replaces the endpoint's signing secret with a new one, shown in this answer only. The replaced
     * secret keeps signing every delivery beside the new one (`v1=<new> v1=<old>`) for
     * `previousSecretValidForHours` (0: not at all), so receivers can switch without losing a
     * delivery. Only the secret just replaced is kept: rotating again drops an older one.
     */
    async rotateSecret(
      caller: WebhookCaller,
      id: string,
      input: { previousSecretValidForHours: number },
    ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
      const endpoint = await requireEndpoint(caller.owner, id);
      const { current } = await repo.findSecrets(caller.owner, id);
      if (!current) throw new Error(`webhook endpoint ${id} has no signing secret`);
      const secret = newSecret();
      const next = deps.envelope.seal(secret, binding(caller.owner, id));
      // A secret that cannot be opened (its master key is gone) cannot sign either: nothing to keep.
      const replaced = openOrUndefined(current, binding(caller.owner, id));
      const hours = input.previousSecretValidForHours;
      const at = deps.clock();
      const previousExpiresAt =
        hours > 0 && replaced !== undefined
          ? new Date(at.getTime() + hours * 3_600_000).toISOString()
          : null;
      // Sealed again under its own field: the field is bound into the ciphertext (see the envelope).
      const previous =
        previousExpiresAt !== null && replaced !== undefined
          ? deps.envelope.seal(replaced, binding(caller.owner, id, WEBHOOK_PREVIOUS_SECRET_FIELD))
          : null;
      await deps.db.transaction().execute(async (trx) => {
        const rotated = await repo.rotateSecret(
          caller.owner,
          id,
          {
            expected: current,
            next,
            previous,
            previousExpiresAt,
            at: at.toISOString(),
          },
          trx,
        );
        if (!rotated) {
          const message = 'The signing secret was rotated by another request meanwhile.';
          throw new AppError('conflict', message, [
            {
              field: 'id',
              code: 'rotated_meanwhile',
              message,
              hint: 'The other request’s secret is current now; rotate again to get one you have seen.',
            },
          ]);
        }
        await audit(
          caller,
          'webhook.secret_rotated',
          id,
          {
            url: redactUrl(endpoint.url),
            previousSecretValidForHours: hours,
            previousSecretExpiresAt: previousExpiresAt,
          },
          trx,
        );
      });
      return { endpoint: await requireEndpoint(caller.owner, id), secret };
    },

    async removeEndpoint(caller: WebhookCaller, id: string): Promise<void> {
      const endpoint = await requireEndpoint(caller.owner, id);
      await deps.db.transaction().execute(async (trx) => {
        if (!(await repo.deleteEndpoint(caller.owner, id, trx)))
          throw notFound('This webhook endpoint');
        await audit(caller, 'webhook.deleted', id, { url: redactUrl(endpoint.url) }, trx);
      });
    },

    async listDeliveries(
      owner: EndpointOwner,
      id: string,
      query: { limit: number; cursor?: string | undefined },
    ): Promise<{ deliveries: WebhookDelivery[]; next: string | null }> {
      await requireEndpoint(owner, id);
      const before =
        query.cursor !== undefined
          ? decodeCursor(query.cursor, (k) => isId('webhookDelivery', k))
          : undefined;
      const page = await repo.listDeliveries(owner, id, {
        limit: query.limit,
        ...(before ? { before } : {}),
      });
      const last = page.deliveries.at(-1);
      return {
        deliveries: page.deliveries,
        next: page.more && last ? encodeCursor(last.id) : null,
      };
    },

    /**
     * Sends a `webhook.test` event to one endpoint now and returns the delivery with the endpoint's
     * answer. It is an ordinary delivery: when it fails, the worker retries it like any other.
     */
    async sendTest(caller: WebhookCaller, id: string): Promise<WebhookDelivery> {
      const endpoint = await requireEndpoint(caller.owner, id);
      const at = now();
      const eventId = newId('event');
      const payload = JSON.stringify({
        id: eventId,
        type: 'webhook.test',
        createdAt: at,
        tenantId: endpoint.tenantId,
        data: { endpointId: endpoint.id, message: 'A test event from Onramp.' },
      });
      const row = deliveryRow(endpoint, eventId, 'webhook.test', payload, at);
      // Claimed by this request from the start, so no worker sends it at the same time.
      const owner = `test:${row.id}`;
      row.claimed_by = owner;
      row.claim_expires_at = new Date(deps.clock().getTime() + timeoutMs + 60_000).toISOString();
      await deps.db.transaction().execute(async (trx) => {
        await repo.insertDeliveries([row], trx);
        await audit(caller, 'webhook.tested', id, { url: redactUrl(endpoint.url), eventId }, trx);
      });
      const delivery = await repo.findDelivery(row.id);
      if (!delivery) throw new Error(`delivery ${row.id} vanished`);
      return attempt(delivery, owner);
    },

    /**
     * Records an event in the outbox: one delivery per enabled endpoint that wants it (the tenant's
     * own and the operator's). Call it with the transaction of the change it reports, so an event is
     * recorded if and only if the change is.
     */
    publish(event: WebhookEvent, executor: Kysely<Database>): Promise<number> {
      return publishAll([event], executor);
    },

    publishAll,

    /**
     * Drops replaced secrets whose grace period is over from endpoints that have had no delivery
     * since (a delivery drops them on its way too): a secret that no longer signs is not kept.
     */
    async purgeExpiredPreviousSecrets(): Promise<number> {
      const at = now();
      const expired = await repo.findExpiredPreviousSecrets(at, 100);
      for (const endpoint of expired)
        await repo.clearExpiredPreviousSecret(endpoint.owner, endpoint.id, at);
      return expired.length;
    },

    /** Claims due deliveries for one replica (see the repository), for `claimMs`. */
    claimDue(owner: string, limit: number, claimMs: number): Promise<WebhookDelivery[]> {
      const at = deps.clock();
      return repo.claimDue(
        owner,
        at.toISOString(),
        new Date(at.getTime() + claimMs).toISOString(),
        limit,
      );
    },

    attempt,
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;

/** What the audit log keeps of a URL: no query string or fragment (they may carry a token). */
function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

/** What other features need to record events: the outbox only. */
export type EventPublisher = Pick<WebhooksService, 'publish'>;
