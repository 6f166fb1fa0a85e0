import type { Kysely } from 'kysely';
import type { SealedSecret } from '../../adapters/crypto/envelope.ts';
import type { Dialect } from '../../adapters/db/database.ts';
import type {
  Database,
  WebhookDeliveriesTable,
  WebhookEndpointsTable,
} from '../../adapters/db/schema.ts';
import { newId } from '../../ids.ts';

/** The field of the secrets table (owner: the endpoint) that holds its signing secret. */
export const WEBHOOK_SECRET_FIELD = 'webhookSecret';

/** Whose endpoints: a tenant's (its id), or the operator's (null). */
export type EndpointOwner = string | null;

export interface WebhookEndpoint {
  id: string;
  tenantId: string | null;
  url: string;
  description: string;
  events: string[];
  enabled: boolean;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  tenantId: string | null;
  eventId: string;
  eventType: string;
  payload: string;
  attempts: number;
  status: WebhookDeliveriesTable['status'];
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastResponseExcerpt: string | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

function toEndpoint(row: WebhookEndpointsTable): WebhookEndpoint {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    url: row.url,
    description: row.description,
    events: JSON.parse(row.events) as string[],
    enabled: row.enabled === 1,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toDelivery(row: WebhookDeliveriesTable): WebhookDelivery {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    tenantId: row.tenant_id,
    eventId: row.event_id,
    eventType: row.event_type,
    payload: row.payload,
    attempts: Number(row.attempt),
    status: row.status,
    nextAttemptAt: row.next_attempt_at,
    lastAttemptAt: row.last_attempt_at,
    lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
    lastResponseExcerpt: row.last_response_excerpt,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
  };
}

/**
 * Endpoints, their sealed secrets, and deliveries. Every endpoint method takes the owner first (a
 * tenant id, or null for the operator's) and filters by it, as tenant ids are filtered elsewhere.
 */
export function createWebhooksRepository(db: Kysely<Database>, dialect: Dialect) {
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's where builders are generic per table.
  const ownedBy = (owner: EndpointOwner) => (eb: any) =>
    owner === null ? eb('tenant_id', 'is', null) : eb('tenant_id', '=', owner);

  return {
    async createEndpoint(
      row: WebhookEndpointsTable,
      sealed: SealedSecret,
      executor: Kysely<Database>,
    ): Promise<WebhookEndpoint> {
      await executor.insertInto('webhook_endpoints').values(row).execute();
      await executor
        .insertInto('secrets')
        .values({
          id: newId('secret'),
          tenant_id: row.tenant_id,
          owner_id: row.id,
          field: WEBHOOK_SECRET_FIELD,
          key_id: sealed.keyId,
          wrapped_key: sealed.wrappedKey,
          ciphertext: sealed.ciphertext,
          created_at: row.created_at,
          updated_at: row.created_at,
        })
        .execute();
      return toEndpoint(row);
    },

    async findEndpoint(
      owner: EndpointOwner,
      id: string,
      executor: Kysely<Database> = db,
    ): Promise<WebhookEndpoint | undefined> {
      const row = await executor
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where(ownedBy(owner))
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toEndpoint(row) : undefined;
    },

    async listEndpoints(owner: EndpointOwner): Promise<WebhookEndpoint[]> {
      const rows = await db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where(ownedBy(owner))
        .orderBy('id', 'asc')
        .execute();
      return rows.map(toEndpoint);
    },

    /** The enabled endpoints that hear a tenant's events: the tenant's own and the operator's. */
    async listListeners(tenantId: string, executor: Kysely<Database>): Promise<WebhookEndpoint[]> {
      const rows = await executor
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('enabled', '=', 1)
        .where((eb) => eb.or([eb('tenant_id', '=', tenantId), eb('tenant_id', 'is', null)]))
        .orderBy('id', 'asc')
        .execute();
      return rows.map(toEndpoint);
    },

    async updateEndpoint(
      owner: EndpointOwner,
      id: string,
      set: Partial<Pick<WebhookEndpointsTable, 'url' | 'description' | 'events' | 'enabled'>> & {
        updated_at: string;
      },
      executor: Kysely<Database>,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('webhook_endpoints')
        .set(set)
        .where(ownedBy(owner))
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Deletes the endpoint, its secret and (by cascade) its deliveries. */
    async deleteEndpoint(
      owner: EndpointOwner,
      id: string,
      executor: Kysely<Database>,
    ): Promise<boolean> {
      const result = await executor
        .deleteFrom('webhook_endpoints')
        .where(ownedBy(owner))
        .where('id', '=', id)
        .executeTakeFirst();
      await executor
        .deleteFrom('secrets')
        .where(ownedBy(owner))
        .where('owner_id', '=', id)
        .where('field', '=', WEBHOOK_SECRET_FIELD)
        .execute();
      return Number(result.numDeletedRows) > 0;
    },

    async findSecret(owner: EndpointOwner, endpointId: string): Promise<SealedSecret | undefined> {
      const row = await db
        .selectFrom('secrets')
        .select(['key_id', 'wrapped_key', 'ciphertext'])
        .where(ownedBy(owner))
        .where('owner_id', '=', endpointId)
        .where('field', '=', WEBHOOK_SECRET_FIELD)
        .executeTakeFirst();
      return row
        ? { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext }
        : undefined;
    },

    async insertDeliveries(
      rows: WebhookDeliveriesTable[],
      executor: Kysely<Database>,
    ): Promise<void> {
      if (rows.length) await executor.insertInto('webhook_deliveries').values(rows).execute();
    },

    /** One endpoint's deliveries, newest first; `before` is the id of the last one of the previous page. */
    async listDeliveries(
      owner: EndpointOwner,
      endpointId: string,
      options: { limit: number; before?: string },
    ): Promise<{ deliveries: WebhookDelivery[]; more: boolean }> {
      let query = db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where(ownedBy(owner))
        .where('endpoint_id', '=', endpointId)
        .orderBy('id', 'desc')
        .limit(options.limit + 1);
      if (options.before) query = query.where('id', '<', options.before);
      const rows = await query.execute();
      return {
        deliveries: rows.slice(0, options.limit).map(toDelivery),
        more: rows.length > options.limit,
      };
    },

    async findDelivery(id: string): Promise<WebhookDelivery | undefined> {
      const row = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toDelivery(row) : undefined;
    },

    /**
     * Claims up to `limit` due deliveries for `owner` until `until`: exactly one replica gets each.
     * PostgreSQL: the candidates are locked with FOR UPDATE SKIP LOCKED, so replicas claiming at the
     * same moment take different rows; SQLite: one statement is atomic (and one process owns the file).
     * A claim that expired (its replica died mid-delivery) is due again.
     */
    async claimDue(
      owner: string,
      now: string,
      until: string,
      limit: number,
    ): Promise<WebhookDelivery[]> {
      const rows = await db
        .updateTable('webhook_deliveries')
        .set({ claimed_by: owner, claim_expires_at: until })
        .where('id', 'in', (eb) => {
          const candidates = eb
            .selectFrom('webhook_deliveries')
            .select('id')
            .where('status', '=', 'pending')
            .where('next_attempt_at', '<=', now)
            .where((w) =>
              w.or([w('claim_expires_at', 'is', null), w('claim_expires_at', '<', now)]),
            )
            .orderBy('next_attempt_at', 'asc')
            .limit(limit);
          return dialect === 'postgres' ? candidates.forUpdate().skipLocked() : candidates;
        })
        .returningAll()
        .execute();
      return rows.map(toDelivery);
    },

    /** Records an attempt's outcome, if `owner` still holds the claim; false when it lost it. */
    async recordAttempt(
      id: string,
      owner: string,
      set: Partial<WebhookDeliveriesTable>,
    ): Promise<boolean> {
      const result = await db
        .updateTable('webhook_deliveries')
        .set({ ...set, claimed_by: null, claim_expires_at: null })
        .where('id', '=', id)
        .where('claimed_by', '=', owner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>;
