import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, requireTenant } from '../../domain/principal.ts';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import { isId } from '../../ids.ts';
import type { UsersService } from './users-service.ts';

/** What the users routes use. */
export interface UsersRoutesDeps {
  users: Pick<UsersService, 'listByTenant' | 'addToTenant' | 'update' | 'remove'>;
}

/** A tenant's users and their roles, managed by the tenant's admins (or the operator). */
export async function registerUsersRoutes(
  app: FastifyInstance,
  deps: UsersRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  mount(r, api.users.list, {
    handler: async (request) => {
      const { tenantId } = requireTenant(request.principal, 'admin', requestedTenant(request));
      const { limit, cursor } = request.query;
      const rows = await deps.users.listByTenant(tenantId, {
        limit,
        ...(cursor !== undefined ? { after: decodeCursor(cursor, (k) => isId('user', k)) } : {}),
      });
      const page = toPage(rows, limit, (u) => u.id);
      return { users: page.items, next: page.next };
    },
  });

  mount(r, api.users.create, {
    handler: async (request, reply) => {
      const { principal, tenantId } = requireTenant(
        request.principal,
        'admin',
        requestedTenant(request),
      );
      const user = await deps.users.addToTenant(tenantId, request.body, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
      return reply.status(201).send(user);
    },
  });

  mount(r, api.users.update, {
    handler: async (request) => {
      const { principal, tenantId } = requireTenant(
        request.principal,
        'admin',
        requestedTenant(request),
      );
      return deps.users.update(tenantId, request.params.id, request.body, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
    },
  });

  mount(r, api.users.delete, {
    handler: async (request, reply) => {
      const { principal, tenantId } = requireTenant(
        request.principal,
        'admin',
        requestedTenant(request),
      );
      await deps.users.remove(tenantId, request.params.id, {
        ...actorOf(principal),
        ...requestMeta(request),
      });
      return reply.status(204).send(null);
    },
  });
}
