import type { Kysely } from 'kysely';
import type { Database, UsersTable } from '../../adapters/db/schema.ts';
import { newId } from '../../ids.ts';
import type { Role } from '../auth/principal.ts';

export interface User {
  id: string;
  tenantId: string | null;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
  disabled: boolean;
}

function toUser(row: UsersTable): User {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    email: row.email,
    name: row.name,
    role: row.role,
    createdAt: row.created_at,
    disabled: row.disabled_at !== null,
  };
}

/** Users. Tenant users are read and changed only through their tenant; operators have none. */
export function createUsersRepository(db: Kysely<Database>, clock: () => Date) {
  return {
    async create(
      input: {
        tenantId: string | null;
        email: string;
        name: string;
        role: Role;
        passwordHash: string;
      },
      executor: Kysely<Database> = db,
    ): Promise<User> {
      const now = clock().toISOString();
      const row: UsersTable = {
        id: newId('user'),
        tenant_id: input.tenantId,
        email: input.email.toLowerCase(),
        name: input.name,
        role: input.role,
        password_hash: input.passwordHash,
        created_at: now,
        updated_at: now,
        disabled_at: null,
      };
      await executor.insertInto('users').values(row).execute();
      return toUser(row);
    },
    /** For sign-in only: the one lookup that is not scoped to a tenant, and the one that sees the hash. */
    async findForLogin(email: string): Promise<(User & { passwordHash: string }) | undefined> {
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('email', '=', email.toLowerCase())
        .executeTakeFirst();
      return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined;
    },
    async findById(id: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toUser(row) : undefined;
    },
    async emailExists(email: string): Promise<boolean> {
      return Boolean(
        await db
          .selectFrom('users')
          .select('id')
          .where('email', '=', email.toLowerCase())
          .executeTakeFirst(),
      );
    },
    /** One page by id ascending, read with `limit + 1` rows (see http/pagination.ts). */
    async listByTenant(
      tenantId: string,
      options: { limit: number; after?: string },
    ): Promise<User[]> {
      let query = db
        .selectFrom('users')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id')
        .limit(options.limit + 1);
      if (options.after !== undefined) query = query.where('id', '>', options.after);
      return (await query.execute()).map(toUser);
    },
    async countInTenant(tenantId: string): Promise<number> {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async findInTenant(tenantId: string, id: string): Promise<User | undefined> {
      const row = await db
        .selectFrom('users')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toUser(row) : undefined;
    },
    async updateInTenant(
      tenantId: string,
      id: string,
      changes: { name?: string; role?: Role; disabled?: boolean },
    ): Promise<User | undefined> {
      const set: Partial<UsersTable> = { updated_at: clock().toISOString() };
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.role !== undefined) set.role = changes.role;
      if (changes.disabled !== undefined)
        set.disabled_at = changes.disabled ? clock().toISOString() : null;
      await db
        .updateTable('users')
        .set(set)
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
      return this.findInTenant(tenantId, id);
    },
    async deleteInTenant(tenantId: string, id: string): Promise<boolean> {
      const result = await db
        .deleteFrom('users')
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async countOperators(): Promise<number> {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('role', '=', 'operator_admin')
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
