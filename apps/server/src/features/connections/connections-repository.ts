import type { PartitionId } from '@onramp/core';
import type { Kysely } from 'kysely';
import type { ConnectionsTable, Database } from '../../adapters/db/schema.ts';
import { newId } from '../../ids.ts';

/** A role set-up: what the tenant deploys in AWS (selection, role name, external ID) before it is an account. */
export interface Connection {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  partition: PartitionId;
  bundles: string[];
  regions: string[];
  externalId: string;
  roleName: string;
  status: 'pending' | 'connected';
  accountId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewConnection {
  name: string;
  description: string;
  partition: PartitionId;
  bundles: string[];
  regions: string[];
  externalId: string;
  roleName: string;
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
        id: newId('connection'),
        tenant_id: tenantId,
        name: input.name,
        description: input.description,
        partition: input.partition,
        bundles: JSON.stringify(input.bundles),
        regions: JSON.stringify(input.regions),
        external_id: input.externalId,
        role_name: input.roleName,
        status: 'pending',
        account_id: null,
        created_at: now,
        updated_at: now,
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
      options: { limit: number; after?: string },
    ): Promise<Connection[]> {
      let query = db
        .selectFrom('connections')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'asc')
        .limit(options.limit + 1);
      if (options.after !== undefined) query = query.where('id', '>', options.after);
      return (await query.execute()).map(toConnection);
    },

    /** Set-ups not connected to an account: what the tenant's cap counts. */
    async countPending(tenantId: string, executor: Kysely<Database> = db): Promise<number> {
      const row = await executor
        .selectFrom('connections')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(row?.n ?? 0);
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
