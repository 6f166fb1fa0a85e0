import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, requireOperator } from '../../domain/principal.ts';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { notFound } from '../../http/problems.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { isId } from '../../ids.ts';
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

  mount(r, api.tenants.list, {
    handler: async (request) => {
      requireOperator(request.principal);
      const { limit, cursor } = request.query;
      const rows = await deps.tenants.list({
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
      const tenant = await deps.tenants.create(request.body, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
      return reply.status(201).send(tenant);
    },
  });

  mount(r, api.tenants.get, {
    handler: async (request) => {
      requireOperator(request.principal);
      const tenant = await deps.tenants.find(request.params.id);
      if (!tenant) throw notFound('This tenant');
      return tenant;
    },
  });

  mount(r, api.tenants.update, {
    handler: async (request) => {
      const principal = requireOperator(request.principal);
      return deps.tenants.update(request.params.id, request.body, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
    },
  });

  mount(r, api.tenants.delete, {
    handler: async (request, reply) => {
      const principal = requireOperator(request.principal);
      await deps.tenants.delete(request.params.id, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
      return reply.status(204).send(null);
    },
  });
}
