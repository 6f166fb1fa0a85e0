import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { hashPassword, verifyPassword } from '../../adapters/crypto/secrets.ts';
import type { AppContext } from '../../http/context.ts';
import { AppError, conflict, forbidden, invalid, notFound } from '../../http/problems.ts';
import { clientAddress, requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import { isOperator, type Principal, requireScope } from '../auth/principal.ts';
import { createRateLimiter, limitedAddress } from '../auth/rate-limits.ts';
import { createSessionsRepository } from '../auth/sessions-repository.ts';
import { checkNewPassword } from './password-policy.ts';
import { createPasswordResetsRepository } from './password-resets-repository.ts';
import { createUsersRepository, type User } from './users-repository.ts';

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

/** Whether `maker` may make a reset link for `user`: an active operator, or an active admin of its tenant. */
function mayReset(maker: User, user: User): boolean {
  if (maker.disabled) return false;
  if (maker.role === 'operator_admin') return true;
  return (
    maker.role === 'tenant_admin' && maker.tenantId !== null && maker.tenantId === user.tenantId
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
  ctx: AppContext,
  options: { resetHours?: number } = {},
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const resets = createPasswordResetsRepository(ctx.db, ctx.clock);
  const limiter = createRateLimiter(ctx.db, ctx.clock);
  const resetHours = options.resetHours ?? PASSWORD_RESET_HOURS;

  mount(r, api.session.changePassword, {
    handler: async (request, reply) => {
      const principal = requirePerson(request.principal);
      const { currentPassword, newPassword } = request.body;
      // The current password is a secret a stolen session does not carry: guesses at it are limited.
      const limit = await limiter.hit(
        `password-change:${principal.userId}`,
        ATTEMPTS,
        WINDOW_SECONDS,
      );
      if (!limit.allowed) throw rateLimited(limit.retryAfter, 'password attempts');
      const user = await ctx.users.findWithPasswordHash(principal.userId);
      if (!user) throw new AppError('unauthenticated');
      if (!(await verifyPassword(currentPassword, user.passwordHash))) {
        throw invalid([
          {
            field: 'currentPassword',
            code: 'invalid_format',
            message: 'This is not your current password.',
          },
        ]);
      }
      if (newPassword === currentPassword) {
        throw invalid([
          {
            field: 'newPassword',
            code: 'unchanged',
            message: 'The new password is the current one.',
            hint: 'Choose a password you have not used here.',
          },
        ]);
      }
      const weak = checkNewPassword(newPassword, user, 'newPassword');
      if (weak) throw invalid([weak]);
      const passwordHash = await hashPassword(newPassword);
      await ctx.db.transaction().execute(async (trx) => {
        await createUsersRepository(trx, ctx.clock).setPasswordHash(user.id, passwordHash, trx);
        await createSessionsRepository(trx, ctx.clock).deleteForUser(user.id, principal.sessionId);
        await createPasswordResetsRepository(trx, ctx.clock).deleteUnusedFor(user.id, trx);
        await ctx.audit.append(
          {
            tenantId: user.tenantId,
            actorType: 'user',
            actorId: user.id,
            action: 'user.password_changed',
            targetType: 'user',
            targetId: user.id,
            ...requestMeta(request),
          },
          trx,
        );
      });
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
      const link = await ctx.db.transaction().execute(async (trx) => {
        const made = await createPasswordResetsRepository(trx, ctx.clock).create(
          { userId: target.id, createdBy: principal.userId, ttlHours: resetHours },
          trx,
        );
        await ctx.audit.append(
          {
            tenantId: target.tenantId,
            actorType: 'user',
            actorId: principal.userId,
            action: 'user.password_reset_created',
            targetType: 'user',
            targetId: target.id,
            ...requestMeta(request),
            details: { expiresAt: made.expiresAt },
          },
          trx,
        );
        return made;
      });
      // In the fragment: browsers send it to no server, so it stays out of access logs and Referer.
      const base = ctx.publicUrl?.replace(/\/+$/, '') ?? '';
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
      // Unknown, used and expired links get one answer: which it was helps no one holding it.
      const spentOrUnknown = () =>
        invalid([
          {
            field: 'token',
            code: 'invalid_token',
            message: 'This reset link is unknown, already used or expired.',
            hint: 'Ask an admin for a new link.',
          },
        ]);
      const live = await resets.findLive(token);
      const user = live && (await ctx.users.findById(live.userId));
      if (!live || !user) throw spentOrUnknown();
      // A link is only as good as its maker's rights now: one made by an admin since demoted,
      // disabled or deleted would otherwise hand them back an account (often another admin's).
      const maker = await ctx.users.findById(live.createdBy);
      if (!maker || !mayReset(maker, user)) throw spentOrUnknown();
      // Judged before the link is spent, so a refused password leaves it usable for a better one.
      const weak = checkNewPassword(newPassword, user, 'newPassword');
      if (weak) throw invalid([weak]);
      const passwordHash = await hashPassword(newPassword);
      const isSet = await ctx.db.transaction().execute(async (trx) => {
        if (!(await createPasswordResetsRepository(trx, ctx.clock).spend(live.id, trx)))
          return false;
        await createUsersRepository(trx, ctx.clock).setPasswordHash(user.id, passwordHash, trx);
        await createSessionsRepository(trx, ctx.clock).deleteForUser(user.id);
        await createPasswordResetsRepository(trx, ctx.clock).deleteUnusedFor(user.id, trx);
        await ctx.audit.append(
          {
            tenantId: user.tenantId,
            actorType: 'user',
            actorId: user.id,
            action: 'user.password_reset',
            targetType: 'user',
            targetId: user.id,
            ...requestMeta(request),
          },
          trx,
        );
        return true;
      });
      if (!isSet) throw spentOrUnknown();
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
      return ctx.users.findInTenant(principal.tenantId, id);
    }
    if (!isOperator(principal)) throw forbidden('Only admins may reset passwords.');
    return requested ? ctx.users.findInTenant(requested, id) : ctx.users.findById(id);
  }
}
