import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Database } from '../../adapters/db/schema.ts';
import { isOperator, type Principal, requireScope } from '../../domain/principal.ts';
import { AppError, conflict, forbidden, notFound } from '../../http/problems.ts';
import { clientAddress, requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import { createRateLimiter, limitedAddress } from '../auth/rate-limits.ts';
import type { User } from './users-repository.ts';
import type { UsersService } from './users-service.ts';

/** What the password routes use: the database and clock only for the rate limiter's counters. */
export interface PasswordRoutesDeps {
  db: Kysely<Database>;
  clock: () => Date;
  publicUrl?: string | undefined;
  users: Pick<
    UsersService,
    'findById' | 'findInTenant' | 'changePassword' | 'createResetLink' | 'redeemResetLink'
  >;
}

/** Default life of a reset link: long enough to hand over by another channel, short enough to lapse. */
export const PASSWORD_RESET_HOURS = 24;
/** Attempts per window: at the current password (per user), at reset links (per address). */
const ATTEMPTS = 10;
const WINDOW_SECONDS = 15 * 60;

function rateLimited(retryAfter: number, what: string): AppError {
  return new AppError(
    'rate_limited',
    `Too many ${what}; try again in ${Math.ceil(retryAfter / 60)} minutes.`,
    [],
    { 'retry-after': String(retryAfter) },
  );
}

/** The console session a password action needs: a person, never a token acting for one. */
function requirePerson(principal: Principal | undefined): Extract<Principal, { kind: 'user' }> {
  const p = requireScope(principal, 'accounts:read');
  if (p.kind !== 'user')
    throw forbidden('Passwords are changed from a console session, not with an API token.');
  return p;
}

/**
 * Passwords: a person changes their own (the current one required, their other sessions end); an
 * admin makes a single-use reset link for someone else (a tenant admin for their tenant's users, the
 * operator for anyone), and whoever holds the link sets a new password with it once.
 */
export async function registerPasswordRoutes(
  app: FastifyInstance,
  deps: PasswordRoutesDeps,
  options: { resetHours?: number } = {},
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const limiter = createRateLimiter(deps.db, deps.clock);
  const resetHours = options.resetHours ?? PASSWORD_RESET_HOURS;

  mount(r, api.session.changePassword, {
    handler: async (request, reply) => {
      const principal = requirePerson(request.principal);
      // The current password is a secret a stolen session does not carry: guesses at it are limited.
      const limit = await limiter.hit(
        `password-change:${principal.userId}`,
        ATTEMPTS,
        WINDOW_SECONDS,
      );
      if (!limit.allowed) throw rateLimited(limit.retryAfter, 'password attempts');
      await deps.users.changePassword(
        principal.userId,
        principal.sessionId,
        request.body,
        requestMeta(request),
      );
      return reply.status(204).send(null);
    },
  });

  mount(r, api.users.createResetLink, {
    handler: async (request, reply) => {
      const principal = requirePerson(request.principal);
      requireScope(principal, 'admin');
      const target = await findResettable(principal, request.params.id, requestedTenant(request));
      if (!target) throw notFound('This user');
      if (target.id === principal.userId) {
        throw conflict(
          'id',
          'Change your own password with your current one, not with a reset link.',
          'Use Change password (PUT /v1/me/password).',
        );
      }
      const link = await deps.users.createResetLink(
        target,
        principal.userId,
        resetHours,
        requestMeta(request),
      );
      // In the fragment: browsers send it to no server, so it stays out of access logs and Referer.
      const base = deps.publicUrl?.replace(/\/+$/, '') ?? '';
      return reply.status(201).send({
        url: `${base}/reset-password#token=${link.token}`,
        expiresAt: link.expiresAt,
      });
    },
  });

  mount(r, api.session.resetPassword, {
    handler: async (request, reply) => {
      const limit = await limiter.hit(
        `password-reset:${limitedAddress(clientAddress(request))}`,
        ATTEMPTS,
        WINDOW_SECONDS,
      );
      if (!limit.allowed) throw rateLimited(limit.retryAfter, 'password reset attempts');
      const { token, newPassword } = request.body;
      await deps.users.redeemResetLink(token, newPassword, requestMeta(request));
      return reply.status(204).send(null);
    },
  });

  /**
   * The user an admin may reset: a tenant admin's own tenant's users; the operator's, in the tenant
   * it names, or anyone (another operator too) when it names none.
   */
  async function findResettable(
    principal: Extract<Principal, { kind: 'user' }>,
    id: string,
    requested: string | undefined,
  ): Promise<User | undefined> {
    if (principal.tenantId) {
      if (requested && requested !== principal.tenantId)
        throw forbidden('You may act only on your own tenant.');
      return deps.users.findInTenant(principal.tenantId, id);
    }
    if (!isOperator(principal)) throw forbidden('Only admins may reset passwords.');
    return requested ? deps.users.findInTenant(requested, id) : deps.users.findById(id);
  }
}
