import type { Kysely } from 'kysely';
import type { Database, UsersTable } from '../../adapters/db/schema.ts';
import type { Role } from '../../domain/principal.ts';
import { newId } from '../../ids.ts';

export interface User {
  id: string;
  tenantId: string | null;
  email: string;
  name: string;
  role: Role;
  createdAt: string;
  disabled: boolean;
}

/**
 * How many accounts one email may open at sign-in (one per tenant, and one operator): each is a
 * password hash to check, so the count is bounded to keep a sign-in's cost bounded.
 */
export const MAX_ACCOUNTS_PER_EMAIL = 20;

/** Whether a database error is a unique constraint refusing a row (on either engine). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
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
    /**
     * For sign-in only: the one lookup that is not scoped to a tenant, and the one that sees the hash.
     * An email is unique within a tenant, so it may name one account in each tenant (and one operator);
     * `tenantId` (null: the operator) narrows it to one, when the person named it.
     */
    async findAllForLogin(
      email: string,
      tenantId?: string | null,
    ): Promise<(User & { passwordHash: string })[]> {
      const query = db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase());
      const scoped =
        tenantId === undefined
          ? query
          : tenantId === null
            ? query.where('tenant_id', 'is', null)
            : query.where('tenant_id', '=', tenantId);
      const rows = await scoped.orderBy('id').limit(MAX_ACCOUNTS_PER_EMAIL).execute();
      return rows.map((row) => ({ ...toUser(row), passwordHash: row.password_hash }));
    },
    /** The user with this id and the hash of their password (password change and reset). */
    async findWithPasswordHash(id: string): Promise<(User & { passwordHash: string }) | undefined> {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined;
    },
    async findById(id: string): Promise<User | undefined> {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toUser(row) : undefined;
    },
    /**
     * Whether the tenant (null: the operators) has a user with this email. Never asked across tenants:
     * whether an email is used elsewhere is not a tenant's to learn.
     */
    async emailExistsIn(tenantId: string | null, email: string): Promise<boolean> {
      const query = db.selectFrom('users').select('id').where('email', '=', email.toLowerCase());
      return Boolean(
        await (tenantId === null
          ? query.where('tenant_id', 'is', null)
          : query.where('tenant_id', '=', tenantId)
        ).executeTakeFirst(),
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
    /** Sets a user's password (already hashed), in the caller's transaction. */
    async setPasswordHash(
      id: string,
      passwordHash: string,
      executor: Kysely<Database> = db,
    ): Promise<void> {
      await executor
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_at: clock().toISOString() })
        .where('id', '=', id)
        .execute();
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
