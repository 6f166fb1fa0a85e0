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
import { hashPassword } from '../../adapters/crypto/secrets.ts';
import type { AppContext } from '../../http/context.ts';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { conflict, notFound } from '../../http/problems.ts';
import { idParamsSchema, requestedTenant, tenantQueryShape } from '../../http/route-helpers.ts';
import { isId } from '../../ids.ts';
import { requestMeta } from '../auth/auth-hook.ts';
import { actorOf, requireTenant } from '../auth/principal.ts';
import { insertWithinCap } from '../tenants/collection-caps.ts';
import { createUsersRepository } from './users-repository.ts';

/** A tenant's users and their roles, managed by the tenant's admins (or the operator). */
export async function registerUsersRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['users'];

  r.get(
    '/v1/users',
    {
      schema: {
        tags,
        summary: 'List the tenant’s users',
        description: 'By id ascending; pass `next` as `cursor` for the following page.',
        querystring: listUsersQuerySchema.extend(tenantQueryShape),
        response: { 200: userListSchema },
      },
    },
    async (request) => {
      const { tenantId } = requireTenant(request.principal, 'admin', requestedTenant(request));
      const { limit, cursor } = request.query;
      const rows = await ctx.users.listByTenant(tenantId, {
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
      const { email, name, password, role } = request.body;
      if (await ctx.users.emailExists(email))
        throw conflict('email', `A user with email ${email} exists.`);
      const passwordHash = await hashPassword(password);
      const user = await insertWithinCap(
        ctx,
        {
          collection: 'users',
          tenantId,
          count: (trx) => createUsersRepository(trx, ctx.clock).countInTenant(tenantId),
        },
        (trx) =>
          createUsersRepository(trx, ctx.clock).create({
            tenantId,
            email,
            name,
            role,
            passwordHash,
          }),
      );
      await ctx.audit.append({
        tenantId,
        ...actorOf(principal),
        action: 'user.created',
        targetType: 'user',
        targetId: user.id,
        ...requestMeta(request),
        details: { email, role },
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
      const existing = await ctx.users.findInTenant(tenantId, request.params.id);
      if (!existing) throw notFound('This user');
      if (
        principal.kind === 'user' &&
        principal.userId === existing.id &&
        (request.body.role || request.body.disabled)
      ) {
        throw conflict(
          'role',
          'You cannot change your own role or disable yourself.',
          'Ask another admin of the tenant.',
        );
      }
      const updated = await ctx.users.updateInTenant(tenantId, existing.id, request.body);
      if (request.body.disabled) await ctx.sessions.deleteForUser(existing.id);
      await ctx.audit.append({
        tenantId,
        ...actorOf(principal),
        action: 'user.updated',
        targetType: 'user',
        targetId: existing.id,
        ...requestMeta(request),
        details: { changed: Object.keys(request.body), role: request.body.role ?? null },
      });
      return updated ?? existing;
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
      const existing = await ctx.users.findInTenant(tenantId, request.params.id);
      if (!existing) throw notFound('This user');
      if (principal.kind === 'user' && principal.userId === existing.id)
        throw conflict('id', 'You cannot remove yourself.');
      await ctx.users.deleteInTenant(tenantId, existing.id);
      await ctx.audit.append({
        tenantId,
        ...actorOf(principal),
        action: 'user.deleted',
        targetType: 'user',
        targetId: existing.id,
        ...requestMeta(request),
        details: { email: existing.email },
      });
      return reply.status(204).send(null);
    },
  );
}
