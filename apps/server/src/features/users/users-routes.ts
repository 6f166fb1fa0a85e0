import {
  createUserRequestSchema,
  listUsersQuerySchema,
  updateUserRequestSchema,
  userListSchema,
  userSchema,
} from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { idParamsSchema, requestedTenant } from '../../http/route-helpers.ts';
import { isId } from '../../ids.ts';
import { actorOf, requireTenant } from '../auth/principal.ts';
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
  const tags = ['users'];

  r.get(
    '/v1/users',
    {
      schema: {
        tags,
        summary: 'List the tenant’s users',
        description: 'By id ascending; pass `next` as `cursor` for the following page.',
        querystring: listUsersQuerySchema,
        response: { 200: userListSchema },
      },
    },
    async (request) => {
      const { tenantId } = requireTenant(request.principal, 'admin', requestedTenant(request));
      const { limit, cursor } = request.query;
      const rows = await deps.users.listByTenant(tenantId, {
        limit,
        ...(cursor !== undefined ? { after: decodeCursor(cursor, (k) => isId('user', k)) } : {}),
      });
      const page = toPage(rows, limit, (u) => u.id);
      return { users: page.items, next: page.next };
    },
  );

  r.post(
    '/v1/users',
    {
      schema: {
        tags,
        summary: 'Add a user to the tenant',
        body: createUserRequestSchema,
        response: { 201: userSchema },
      },
    },
    async (request, reply) => {
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
  );

  r.patch(
    '/v1/users/:id',
    {
      schema: {
        tags,
        summary: 'Rename, change the role of, or disable a user',
        params: idParamsSchema,
        body: updateUserRequestSchema,
        response: { 200: userSchema },
      },
    },
    async (request) => {
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
  );

  r.delete(
    '/v1/users/:id',
    {
      schema: {
        tags,
        summary: 'Remove a user from the tenant',
        params: idParamsSchema,
        response: { 204: z.null() },
      },
    },
    async (request, reply) => {
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
  );
}
