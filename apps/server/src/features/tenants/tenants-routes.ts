import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { hashPassword } from '../../adapters/crypto/secrets.ts';
import type { AppContext } from '../../http/context.ts';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { conflict, invalid, notFound } from '../../http/problems.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { isId } from '../../ids.ts';
import { actorOf, requireOperator } from '../auth/principal.ts';
import { checkNewPassword } from '../users/password-policy.ts';
import { createUsersRepository } from '../users/users-repository.ts';
import { insertWithinCap } from './collection-caps.ts';
import { createTenantsRepository } from './tenants-repository.ts';

/** Tenants are the operator's to manage: create (with a first admin), limit, rename, delete. */
export async function registerTenantsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  mount(r, api.tenants.list, {
    handler: async (request) => {
      requireOperator(request.principal);
      const { limit, cursor } = request.query;
      const rows = await ctx.tenants.list({
        limit,
        ...(cursor !== undefined ? { after: decodeCursor(cursor, (k) => isId('tenant', k)) } : {}),
      });
      const page = toPage(rows, limit, (t) => t.id);
      return { tenants: page.items, next: page.next };
    },
  });

  mount(r, api.tenants.create, {
    handler: async (request, reply) => {
      const principal = requireOperator(request.principal);
      const { name, limits, admin } = request.body;
      if (await ctx.tenants.nameExists(name))
        throw conflict('name', `A tenant named "${name}" exists.`);
      // A new tenant has no users: its admin's email cannot conflict (emails are unique per tenant).
      const weak = admin && checkNewPassword(admin.password, admin, 'admin.password');
      if (weak) throw invalid([weak]);
      const passwordHash = admin ? await hashPassword(admin.password) : undefined;
      const tenant = await insertWithinCap(
        ctx,
        { collection: 'tenants', tenantId: null, count: (trx) => ctx.tenants.count(trx) },
        async (trx) => {
          const created = await createTenantsRepository(trx, ctx.clock).create(
            { name, limits },
            trx,
          );
          if (admin && passwordHash) {
            await createUsersRepository(trx, ctx.clock).create(
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
          await ctx.audit.append(
            {
              tenantId: created.id,
              ...actorOf(principal),
              action: 'tenant.created',
              targetType: 'tenant',
              targetId: created.id,
              ...requestMeta(request),
              details: { name, limits, admin: admin?.email ?? null },
            },
            trx,
          );
          return created;
        },
      );
      return reply.status(201).send(tenant);
    },
  });

  mount(r, api.tenants.get, {
    handler: async (request) => {
      requireOperator(request.principal);
      const tenant = await ctx.tenants.find(request.params.id);
      if (!tenant) throw notFound('This tenant');
      return tenant;
    },
  });

  mount(r, api.tenants.update, {
    handler: async (request) => {
      const principal = requireOperator(request.principal);
      const existing = await ctx.tenants.find(request.params.id);
      if (!existing) throw notFound('This tenant');
      if (request.body.name && (await ctx.tenants.nameExists(request.body.name, existing.id))) {
        throw conflict('name', `A tenant named "${request.body.name}" exists.`);
      }
      const updated = await ctx.tenants.update(existing.id, request.body);
      await ctx.audit.append({
        tenantId: existing.id,
        ...actorOf(principal),
        action: 'tenant.updated',
        targetType: 'tenant',
        targetId: existing.id,
        ...requestMeta(request),
        details: { changed: Object.keys(request.body) },
      });
      return updated ?? existing;
    },
  });

  mount(r, api.tenants.delete, {
    handler: async (request, reply) => {
      const principal = requireOperator(request.principal);
      const existing = await ctx.tenants.find(request.params.id);
      if (!existing) throw notFound('This tenant');
      await ctx.db.transaction().execute(async (trx) => {
        // Secrets first and explicitly: deleting a tenant purges its sealed secrets at once.
        await trx.deleteFrom('secrets').where('tenant_id', '=', existing.id).execute();
        await createTenantsRepository(trx, ctx.clock).delete(existing.id);
        await ctx.audit.append(
          {
            tenantId: existing.id,
            ...actorOf(principal),
            action: 'tenant.deleted',
            targetType: 'tenant',
            targetId: existing.id,
            ...requestMeta(request),
            details: { name: existing.name },
          },
          trx,
        );
      });
      // Its tokens went with it: none may pass from this replica's cache either.
      ctx.tokens.forgetCached();
      return reply.status(204).send(null);
    },
  });
}
