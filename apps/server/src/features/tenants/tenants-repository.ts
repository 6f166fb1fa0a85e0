import type { Kysely } from 'kysely';
import type { Database, TenantsTable } from '../../adapters/db/schema.ts';
import type { Tenant, TenantLimits } from '../../domain/tenant.ts';
import { newId } from '../../ids.ts';

export type { Tenant, TenantLimits } from '../../domain/tenant.ts';

function toTenant(row: TenantsTable): Tenant {
  return {
    id: row.id,
    name: row.name,
    limits: JSON.parse(row.limits) as TenantLimits,
    createdAt: row.created_at,
  };
}

export function createTenantsRepository(db: Kysely<Database>, clock: () => Date) {
  return {
    async create(
      input: { name: string; limits: TenantLimits },
      executor: Kysely<Database> = db,
    ): Promise<Tenant> {
      const now = clock().toISOString();
      const row: TenantsTable = {
        id: newId('tenant'),
        name: input.name,
        limits: JSON.stringify(input.limits),
        created_at: now,
        updated_at: now,
      };
      await executor.insertInto('tenants').values(row).execute();
      return toTenant(row);
    },
    async find(id: string): Promise<Tenant | undefined> {
      const row = await db
        .selectFrom('tenants')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toTenant(row) : undefined;
    },
    async nameExists(name: string, exceptId?: string): Promise<boolean> {
      let query = db.selectFrom('tenants').select('id').where('name', '=', name);
      if (exceptId) query = query.where('id', '!=', exceptId);
      return Boolean(await query.executeTakeFirst());
    },
    /** One page by id ascending, read with `limit + 1` rows (see http/pagination.ts). */
    async list(options: { limit: number; after?: string }): Promise<Tenant[]> {
      let query = db
        .selectFrom('tenants')
        .selectAll()
        .orderBy('id')
        .limit(options.limit + 1);
      if (options.after !== undefined) query = query.where('id', '>', options.after);
      return (await query.execute()).map(toTenant);
    },
    async count(executor: Kysely<Database> = db): Promise<number> {
      const row = await executor
        .selectFrom('tenants')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async update(
      id: string,
      changes: { name?: string; limits?: TenantLimits },
    ): Promise<Tenant | undefined> {
      const set: Partial<TenantsTable> = { updated_at: clock().toISOString() };
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.limits !== undefined) set.limits = JSON.stringify(changes.limits);
      await db.updateTable('tenants').set(set).where('id', '=', id).execute();
      return this.find(id);
    },
    async delete(id: string): Promise<boolean> {
      // The one table whose reference to the tenant does not cascade (0014_organizations): its rows
      // go first (their units and members cascade from them), or the tenant's deletion would fail.
      await db.deleteFrom('organizations').where('tenant_id', '=', id).execute();
      const result = await db.deleteFrom('tenants').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type TenantsRepository = ReturnType<typeof createTenantsRepository>;
