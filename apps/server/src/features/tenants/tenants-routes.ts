import {
  createTenantRequestSchema,
  listTenantsQuerySchema,
  tenantListSchema,
  tenantSchema,
  updateTenantRequestSchema,
} from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hashPassword } from '../../adapters/crypto/secrets.ts';
import type { AppContext } from '../../http/context.ts';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { conflict, invalid, notFound } from '../../http/problems.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { idParamsSchema } from '../../http/route-helpers.ts';
import { isId } from '../../ids.ts';
import { actorOf, requireOperator } from '../auth/principal.ts';
import { checkNewPassword } from '../users/password-policy.ts';
import { createUsersRepository } from '../users/users-repository.ts';
import { insertWithinCap } from './collection-caps.ts';
import { createTenantsRepository } from './tenants-repository.ts';

/** Tenants are the operator's to manage: create (with a first admin), limit, rename, delete. */
export async function registerTenantsRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['tenants'];

  r.get(
    '/v1/tenants',
    {
      schema: {
        tags,
        summary: 'List tenants (operator)',
        description: 'By id ascending; pass `next` as `cursor` for the following page.',
        querystring: listTenantsQuerySchema,
        response: { 200: tenantListSchema },
      },
    },
    async (request) => {
      requireOperator(request.principal);
      const { limit, cursor } = request.query;
      const rows = await ctx.tenants.list({
        limit,
        ...(cursor !== undefined ? { after: decodeCursor(cursor, (k) => isId('tenant', k)) } : {}),
      });
      const page = toPage(rows, limit, (t) => t.id);
      return { tenants: page.items, next: page.next };
    },
  );

  r.post(
    '/v1/tenants',
    {
      schema: {
        tags,
        summary: 'Create a tenant, optionally with its first admin (operator)',
        body: createTenantRequestSchema,
        response: { 201: tenantSchema },
      },
    },
    async (request, reply) => {
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
  );

  r.get(
    '/v1/tenants/:id',
    {
      schema: {
        tags,
        summary: 'A tenant (operator)',
        params: idParamsSchema,
        response: { 200: tenantSchema },
      },
    },
    async (request) => {
      requireOperator(request.principal);
      const tenant = await ctx.tenants.find(request.params.id);
      if (!tenant) throw notFound('This tenant');
      return tenant;
    },
  );

  r.patch(
    '/v1/tenants/:id',
    {
      schema: {
        tags,
        summary: 'Rename a tenant or change its limits (operator)',
        params: idParamsSchema,
        body: updateTenantRequestSchema,
        response: { 200: tenantSchema },
      },
    },
    async (request) => {
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
  );

  r.delete(
    '/v1/tenants/:id',
    {
      schema: {
        tags,
        summary: 'Delete a tenant and everything it owns (operator)',
        params: idParamsSchema,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
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
  );
}
