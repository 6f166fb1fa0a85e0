import { api } from '@onramp/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { hashPassword } from '../../adapters/crypto/secrets.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { AppContext } from '../../http/context.ts';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { conflict, invalid, notFound } from '../../http/problems.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import { isId } from '../../ids.ts';
import { actorOf, type Principal, type Role, requireTenant } from '../auth/principal.ts';
import { createSessionsRepository } from '../auth/sessions-repository.ts';
import { insertWithinCap } from '../tenants/collection-caps.ts';
import { revokeTokensCreatedBy } from '../tokens/tokens-repository.ts';
import { checkNewPassword } from './password-policy.ts';
import { createUsersRepository, isUniqueViolation } from './users-repository.ts';

/** A tenant's users and their roles, managed by the tenant's admins (or the operator). */
export async function registerUsersRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  /** Revokes a user's tokens in the caller's transaction, one audit entry per token. */
  const revokeTokensOf = async (
    trx: Kysely<Database>,
    request: FastifyRequest,
    userId: string,
    how: {
      principal: Principal;
      reason: 'creator_disabled' | 'creator_demoted' | 'creator_deleted';
      keepWithin?: Role;
    },
  ) => {
    const revoked = await revokeTokensCreatedBy(trx, ctx.clock, userId, how.keepWithin);
    for (const token of revoked) {
      await ctx.audit.append(
        {
          tenantId: token.tenantId,
          ...actorOf(how.principal),
          action: 'token.revoked',
          targetType: 'token',
          targetId: token.id,
          ...requestMeta(request),
          details: { name: token.name, reason: how.reason, createdBy: userId },
        },
        trx,
      );
    }
  };

  mount(r, api.users.list, {
    handler: async (request) => {
      const { tenantId } = requireTenant(request.principal, 'admin', requestedTenant(request));
      const { limit, cursor } = request.query;
      const rows = await ctx.users.listByTenant(tenantId, {
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
      const { email, name, password, role } = request.body;
      const weak = checkNewPassword(password, { email, name });
      if (weak) throw invalid([weak]);
      // Only this tenant's users are a conflict: the answer is the same whether or not the email is
      // used in another tenant or by the operator.
      const taken = () => conflict('email', `This tenant has a user with email ${email}.`);
      if (await ctx.users.emailExistsIn(tenantId, email)) throw taken();
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
      ).catch((error: unknown) => {
        // Two adds of one email at once: the unique index decides, and the loser hears why.
        throw isUniqueViolation(error) ? taken() : error;
      });
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
  });

  mount(r, api.users.update, {
    handler: async (request) => {
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
      const { role, disabled } = request.body;
      // Both idempotent: tokens a past change left live (made before this rule existed) go too.
      const isDisabling = disabled === true;
      const isDemoting = role !== undefined && !isDisabling;
      const updated = await ctx.db.transaction().execute(async (trx) => {
        const changed = await createUsersRepository(trx, ctx.clock).updateInTenant(
          tenantId,
          existing.id,
          request.body,
        );
        if (disabled) await createSessionsRepository(trx, ctx.clock).deleteForUser(existing.id);
        await ctx.audit.append(
          {
            tenantId,
            ...actorOf(principal),
            action: 'user.updated',
            targetType: 'user',
            targetId: existing.id,
            ...requestMeta(request),
            details: { changed: Object.keys(request.body), role: role ?? null },
          },
          trx,
        );
        // Their tokens carry their authority: disabling takes it all, a role change what the new
        // role could not grant (for a viewer, everything).
        if (isDisabling || isDemoting) {
          await revokeTokensOf(trx, request, existing.id, {
            principal,
            reason: isDisabling ? 'creator_disabled' : 'creator_demoted',
            keepWithin: isDisabling ? undefined : role,
          });
        }
        return changed;
      });
      ctx.tokens.forgetCached();
      return updated ?? existing;
    },
  });

  mount(r, api.users.delete, {
    handler: async (request, reply) => {
      const { principal, tenantId } = requireTenant(
        request.principal,
        'admin',
        requestedTenant(request),
      );
      const existing = await ctx.users.findInTenant(tenantId, request.params.id);
      if (!existing) throw notFound('This user');
      if (principal.kind === 'user' && principal.userId === existing.id)
        throw conflict('id', 'You cannot remove yourself.');
      await ctx.db.transaction().execute(async (trx) => {
        await revokeTokensOf(trx, request, existing.id, {
          principal,
          reason: 'creator_deleted',
        });
        await createUsersRepository(trx, ctx.clock).deleteInTenant(tenantId, existing.id);
        await ctx.audit.append(
          {
            tenantId,
            ...actorOf(principal),
            action: 'user.deleted',
            targetType: 'user',
            targetId: existing.id,
            ...requestMeta(request),
            details: { email: existing.email },
          },
          trx,
        );
      });
      ctx.tokens.forgetCached();
      return reply.status(204).send(null);
    },
  });
}
