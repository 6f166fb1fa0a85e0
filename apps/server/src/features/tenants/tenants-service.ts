import type { Kysely } from 'kysely';
import { hashPassword } from '../../adapters/crypto/secrets.ts';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import { createSealedSecrets } from '../../adapters/db/sealed-secrets.ts';
import { conflict, invalid, notFound } from '../../http/problems.ts';
import type { AuditActor, AuditLog } from '../../ports/audit-log.ts';
import type { TokensService } from '../tokens/tokens-service.ts';
import type { UsersService } from '../users/users-service.ts';
import { type CollectionCaps, insertWithinCap } from './collection-caps.ts';
import {
  createTenantsRepository,
  type Tenant,
  type TenantLimits,
  type TenantsRepository,
} from './tenants-repository.ts';

export interface TenantsServiceDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  collectionCaps?: Partial<CollectionCaps>;
  tenants: TenantsRepository;
  audit: AuditLog;
  users: Pick<UsersService, 'create' | 'checkNewPassword'>;
  tokens: Pick<TokensService, 'forgetCached'>;
}

/** Tenants, the operator's to manage: created with a first admin, limited, renamed, deleted whole. */
export function createTenantsService(deps: TenantsServiceDeps) {
  const { tenants, audit } = deps;
  return {
    find: (id: string) => tenants.find(id),
    list: (options: { limit: number; after?: string }) => tenants.list(options),

    /** Creates a tenant within the server's cap, with its first admin in the same transaction. */
    async create(
      input: {
        name: string;
        limits: TenantLimits;
        admin?: { email: string; name: string; password: string } | undefined;
      },
      actor: AuditActor,
    ): Promise<Tenant> {
      const { name, limits, admin } = input;
      if (await tenants.nameExists(name))
        throw conflict('name', `A tenant named "${name}" exists.`);
      // A new tenant has no users: its admin's email cannot conflict (emails are unique per tenant).
      const weak = admin && deps.users.checkNewPassword(admin.password, admin, 'admin.password');
      if (weak) throw invalid([weak]);
      const passwordHash = admin ? await hashPassword(admin.password) : undefined;
      return insertWithinCap(
        deps,
        { collection: 'tenants', tenantId: null, count: (trx) => tenants.count(trx) },
        async (trx) => {
          const created = await createTenantsRepository(trx, deps.clock).create(
            { name, limits },
            trx,
          );
          if (admin && passwordHash) {
            await deps.users.create(
              {
                tenantId: created.id,
                email: admin.email,
                name: admin.name,
                role: 'tenant_admin',
                passwordHash,
              },
              trx,
            );
          }
          await audit.append(
            {
              tenantId: created.id,
              ...actor,
              action: 'tenant.created',
              targetType: 'tenant',
              targetId: created.id,
              details: { name, limits, admin: admin?.email ?? null },
            },
            trx,
          );
          return created;
        },
      );
    },

    async update(
      id: string,
      changes: { name?: string; limits?: TenantLimits },
      actor: AuditActor,
    ): Promise<Tenant> {
      const existing = await tenants.find(id);
      if (!existing) throw notFound('This tenant');
      if (changes.name && (await tenants.nameExists(changes.name, existing.id))) {
        throw conflict('name', `A tenant named "${changes.name}" exists.`);
      }
      const updated = await tenants.update(existing.id, changes);
      await audit.append({
        tenantId: existing.id,
        ...actor,
        action: 'tenant.updated',
        targetType: 'tenant',
        targetId: existing.id,
        details: { changed: Object.keys(changes) },
      });
      return updated ?? existing;
    },

    /** Deletes a tenant and everything it owns; its sealed secrets are purged in the same transaction. */
    async delete(id: string, actor: AuditActor): Promise<void> {
      const existing = await tenants.find(id);
      if (!existing) throw notFound('This tenant');
      await deps.db.transaction().execute(async (trx) => {
        // Several features seal secrets under a tenant's id (accounts, connections, webhooks), so
        // only the tenant's deletion can say "all of them". The foreign key cascades too; purging
        // first and explicitly keeps that promise should a cascade ever be dropped, and in this
        // transaction, so a failed deletion purges nothing.
        await createSealedSecrets(trx, deps.clock).purgeTenant(existing.id);
        await createTenantsRepository(trx, deps.clock).delete(existing.id);
        await audit.append(
          {
            tenantId: existing.id,
            ...actor,
            action: 'tenant.deleted',
            targetType: 'tenant',
            targetId: existing.id,
            details: { name: existing.name },
          },
          trx,
        );
      });
      // Its tokens went with it: none may pass from this replica's cache either.
      deps.tokens.forgetCached();
    },
  };
}

export type TenantsService = ReturnType<typeof createTenantsService>;
