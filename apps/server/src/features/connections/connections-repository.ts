import type { PartitionId } from '@onramp/core';
import type { Kysely } from 'kysely';
import type { ConnectionsTable, Database } from '../../adapters/db/schema.ts';
import type { Connection, RoleMethod, SetupMethod } from '../../domain/connection.ts';
import { newId } from '../../ids.ts';

/** What a PATCH of a pending connection may change; never the external ID. */
export interface ConnectionChanges {
  name?: string;
  description?: string;
  partition?: PartitionId;
  bundles?: string[];
  regions?: string[];
  roleName?: string;
  setupMethod?: SetupMethod;
  /** While pending only: the wizard's Back and another choice of how the role trusts Onramp. */
  method?: RoleMethod;
}

export interface NewConnection {
  id?: string;
  name: string;
  description: string;
  partition: PartitionId;
  bundles: string[];
  regions: string[];
  externalId: string;
  roleName: string;
  /** Default `role`. */
  method?: RoleMethod;
  /** Set when Onramp makes it for a member account of an organization. */
  organizationId?: string | null;
  /** Set when a hosted connect session makes it. */
  connectSessionId?: string | null;
}

function toConnection(row: ConnectionsTable): Connection {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    partition: row.partition as PartitionId,
    bundles: JSON.parse(row.bundles) as string[],
    regions: JSON.parse(row.regions) as string[],
    externalId: row.external_id,
    roleName: row.role_name,
    status: row.status,
    accountId: row.account_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    previousExternalId: row.previous_external_id,
    previousExternalIdUntil: row.previous_external_id_until,
    setupMethod: (row.setup_method as SetupMethod | null) ?? null,
    method: row.method === 'oidc_role' ? 'oidc_role' : 'role',
    organizationId: row.organization_id ?? null,
    connectSessionId: row.connect_session_id ?? null,
  };
}

/**
 * Connections of one tenant: every method takes the tenant first and filters by it, so a connection id
 * from another tenant finds nothing. Writes take an optional executor to run inside a transaction.
 */
export function createConnectionsRepository(db: Kysely<Database>, clock: () => Date) {
  return {
    async create(
      tenantId: string,
      input: NewConnection,
      executor: Kysely<Database> = db,
    ): Promise<Connection> {
      const now = clock().toISOString();
      const row: ConnectionsTable = {
        id: input.id ?? newId('connection'),
        tenant_id: tenantId,
        name: input.name,
        description: input.description,
        partition: input.partition,
        bundles: JSON.stringify(input.bundles),
        regions: JSON.stringify(input.regions),
        external_id: input.externalId,
        role_name: input.roleName,
        method: input.method ?? 'role',
        status: 'pending',
        account_id: null,
        created_at: now,
        updated_at: now,
        previous_external_id: null,
        previous_external_id_until: null,
        setup_method: null,
        organization_id: input.organizationId ?? null,
        connect_session_id: input.connectSessionId ?? null,
      };
      await executor.insertInto('connections').values(row).execute();
      return toConnection(row);
    },

    async find(
      tenantId: string,
      id: string,
      executor: Kysely<Database> = db,
    ): Promise<Connection | undefined> {
      const row = await executor
        .selectFrom('connections')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toConnection(row) : undefined;
    },

    /** One page, oldest first, read with `limit + 1` rows (see http/pagination.ts). */
    async list(
      tenantId: string,
      options: {
        limit: number;
        after?: string;
        status?: Connection['status'];
        /** Leaves out pending connections last changed before this instant (expired). */
        pendingSince?: string;
      },
    ): Promise<Connection[]> {
      let query = db
        .selectFrom('connections')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        // Member connections of organizations are Onramp's, not set-ups of the tenant's; a hosted
        // connect session's set-up is its customer's, changed only through the session.
        .where('organization_id', 'is', null)
        .where('connect_session_id', 'is', null)
        .orderBy('id', 'asc')
        .limit(options.limit + 1);
      if (options.after !== undefined) query = query.where('id', '>', options.after);
      if (options.status !== undefined) query = query.where('status', '=', options.status);
      const since = options.pendingSince;
      if (since !== undefined)
        query = query.where((eb) =>
          eb.or([eb('status', '!=', 'pending'), eb('updated_at', '>=', since)]),
        );
      return (await query.execute()).map(toConnection);
    },

    /** Set-ups not connected to an account, and not expired: what the tenant's cap counts. */
    async countPending(
      tenantId: string,
      executor: Kysely<Database> = db,
      pendingSince?: string,
    ): Promise<number> {
      let query = executor
        .selectFrom('connections')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('tenant_id', '=', tenantId)
        .where('organization_id', 'is', null)
        .where('connect_session_id', 'is', null)
        .where('status', '=', 'pending');
      if (pendingSince !== undefined) query = query.where('updated_at', '>=', pendingSince);
      const row = await query.executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    /**
     * Reads a connection to change it, holding it until the transaction ends: a no-op UPDATE first
     * takes the row's lock on PostgreSQL and the one writer lock on SQLite, so two PATCHes take turns
     * instead of each writing back what it read before the other's change.
     */
    async findForUpdate(
      tenantId: string,
      id: string,
      trx: Kysely<Database>,
    ): Promise<Connection | undefined> {
      await trx
        .updateTable('connections')
        .set((eb) => ({ updated_at: eb.ref('updated_at') }))
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
      return this.find(tenantId, id, trx);
    },

    /** Changes a pending connection's set-up; false when it is no longer pending. */
    async applyChanges(
      tenantId: string,
      id: string,
      changes: ConnectionChanges,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const set: Partial<ConnectionsTable> = { updated_at: clock().toISOString() };
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.description !== undefined) set.description = changes.description;
      if (changes.partition !== undefined) set.partition = changes.partition;
      if (changes.bundles !== undefined) set.bundles = JSON.stringify(changes.bundles);
      if (changes.regions !== undefined) set.regions = JSON.stringify(changes.regions);
      if (changes.roleName !== undefined) set.role_name = changes.roleName;
      if (changes.setupMethod !== undefined) set.setup_method = changes.setupMethod;
      if (changes.method !== undefined) set.method = changes.method;
      const result = await executor
        .updateTable('connections')
        .set(set)
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * A connected account's new external ID: the old one stays listed in the templates until `until`.
     * Conditional on the external ID the caller read, so two regenerations at once cannot both win.
     */
    async rotateExternalId(
      tenantId: string,
      id: string,
      rotation: { from: string; externalId: string; previous: string; until: string },
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('connections')
        .set({
          external_id: rotation.externalId,
          previous_external_id: rotation.previous,
          previous_external_id_until: rotation.until,
          updated_at: clock().toISOString(),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('external_id', '=', rotation.from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** The grace period is over: the templates list only the current external ID. */
    async dropPreviousExternalId(
      tenantId: string,
      id: string,
      previous: string,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('connections')
        .set({
          previous_external_id: null,
          previous_external_id_until: null,
          updated_at: clock().toISOString(),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('previous_external_id', '=', previous)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Replaces the external ID of a pending connection; false when there is no such pending connection. */
    async replaceExternalId(
      tenantId: string,
      id: string,
      externalId: string,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('connections')
        .set({ external_id: externalId, updated_at: clock().toISOString() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Marks a pending connection as connected to an account. Conditional on `pending`, so two requests
     * racing to connect the same set-up cannot both succeed: the loser sees false and rolls back.
     */
    async markConnected(
      tenantId: string,
      id: string,
      accountId: string,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const result = await executor
        .updateTable('connections')
        .set({ status: 'connected', account_id: accountId, updated_at: clock().toISOString() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** The account is gone; the set-up (and the role that trusts its external ID) can be connected again. */
    async markPending(
      tenantId: string,
      id: string,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      await executor
        .updateTable('connections')
        .set({ status: 'pending', account_id: null, updated_at: clock().toISOString() })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    },

    /** Keeps the templates in step with the account's permissions when a tenant changes them. */
    async updateSelection(
      tenantId: string,
      id: string,
      selection: { bundles: string[]; regions: string[] },
      executor: Kysely<Database> = db,
    ): Promise<void> {
      await executor
        .updateTable('connections')
        .set({
          bundles: JSON.stringify(selection.bundles),
          regions: JSON.stringify(selection.regions),
          updated_at: clock().toISOString(),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
    },

    /**
     * Deletes an organization's member connections (its deletion's transaction) and the call-back
     * tokens' sealed copies under them, if any. Returns how many went.
     */
    async deleteOfOrganization(
      tenantId: string,
      organizationId: string,
      executor: Kysely<Database> = db,
    ): Promise<number> {
      const rows = await executor
        .deleteFrom('connections')
        .where('tenant_id', '=', tenantId)
        .where('organization_id', '=', organizationId)
        .returning('id')
        .execute();
      const ids = rows.map((r) => r.id);
      for (let i = 0; i < ids.length; i += 500)
        await executor
          .deleteFrom('secrets')
          .where('tenant_id', '=', tenantId)
          .where('owner_id', 'in', ids.slice(i, i + 500))
          .execute();
      return ids.length;
    },

    /** Deletes a pending connection; false when there is no such pending connection. */
    async deletePending(
      tenantId: string,
      id: string,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const result = await executor
        .deleteFrom('connections')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type ConnectionsRepository = ReturnType<typeof createConnectionsRepository>;
