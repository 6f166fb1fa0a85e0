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
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { notFound } from '../../http/problems.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { idParamsSchema } from '../../http/route-helpers.ts';
import { isId } from '../../ids.ts';
import { actorOf, requireOperator } from '../auth/principal.ts';
import type { TenantsService } from './tenants-service.ts';

/** What the tenants routes use. */
export interface TenantsRoutesDeps {
  tenants: Pick<TenantsService, 'list' | 'find' | 'create' | 'update' | 'delete'>;
}

/** Tenants are the operator's to manage: create (with a first admin), limit, rename, delete. */
export async function registerTenantsRoutes(
  app: FastifyInstance,
  deps: TenantsRoutesDeps,
): Promise<void> {
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
      const rows = await deps.tenants.list({
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
      const tenant = await deps.tenants.create(request.body, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
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
      const tenant = await deps.tenants.find(request.params.id);
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
      return deps.tenants.update(request.params.id, request.body, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
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
      await deps.tenants.delete(request.params.id, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
      return reply.status(204).send(null);
    },
  );
}
