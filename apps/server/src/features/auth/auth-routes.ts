import { loginRequestSchema, sessionResponseSchema, setupRequestSchema } from '@onramp/contracts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hashPassword } from '../../adapters/crypto/secrets.ts';
import type { AppContext } from '../../http/context.ts';
import { AppError } from '../../http/problems.ts';
import { checkNewPassword } from '../users/password-policy.ts';
import { chooseTenantProblem, findAccountBySignIn } from '../users/sign-in.ts';
import { createUsersRepository } from '../users/users-repository.ts';
import { requestMeta, SESSION_COOKIE } from './auth-hook.ts';
import { hitRateLimit } from './sessions-repository.ts';
import { consumeSetupToken } from './setup.ts';

const LOGIN_ATTEMPTS = 10;
const LOGIN_WINDOW_SECONDS = 15 * 60;

export async function registerAuthRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  const startSession = async (
    reply: FastifyReply,
    user: {
      id: string;
      email: string;
      name: string;
      role: 'operator_admin' | 'tenant_admin' | 'tenant_viewer';
      tenantId: string | null;
    },
  ) => {
    const session = await ctx.sessions.create(user.id);
    reply.setCookie(SESSION_COOKIE, session.token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: ctx.secureCookies,
      expires: new Date(session.expiresAt),
    });
    return {
      user: {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
        tenantId: user.tenantId,
      },
      csrfToken: session.csrfToken,
      expiresAt: session.expiresAt,
    };
  };

  r.post(
    '/v1/setup',
    {
      schema: {
        tags: ['session'],
        summary:
          'Create the first operator admin with the one-time set-up token the server printed',
        body: setupRequestSchema,
        response: { 201: sessionResponseSchema },
      },
    },
    async (request, reply) => {
      const { setupToken, email, name, password } = request.body;
      const passwordHash = await hashPassword(password);
      const user = await ctx.db.transaction().execute(async (trx) => {
        if (!(await consumeSetupToken(trx, setupToken))) return undefined;
        // Judged once the token is known good (a stranger gets no free password checks); refusing
        // rolls the transaction back, so the token stays usable for a better password.
        const weak = checkNewPassword(password, { email, name });
        if (weak) throw new AppError('invalid_request', weak.message, [weak]);
        const created = await createUsersRepository(trx, ctx.clock).create(
          { tenantId: null, email, name, role: 'operator_admin', passwordHash },
          trx,
        );
        await ctx.audit.append(
          {
            tenantId: null,
            actorType: 'setup',
            actorId: created.id,
            action: 'operator.created',
            targetType: 'user',
            targetId: created.id,
            ...requestMeta(request),
            details: { email },
          },
          trx,
        );
        return created;
      });
      if (!user) {
        throw new AppError('forbidden', 'The set-up token is wrong, or set-up is already done.', [
          {
            field: 'setupToken',
            code: 'invalid_format',
            message: 'Use the set-up token printed by the server at its latest start.',
          },
        ]);
      }
      return reply.status(201).send(await startSession(reply, user));
    },
  );

  r.post(
    '/v1/session',
    {
      schema: {
        tags: ['session'],
        summary: 'Sign in with email and password; sets the session cookie',
        security: [],
        body: loginRequestSchema,
        response: { 200: sessionResponseSchema },
      },
    },
    async (request, reply) => {
      const { email } = request.body;
      const limit = await hitRateLimit(
        ctx.db,
        ctx.clock,
        `login:${email}:${request.ip}`,
        LOGIN_ATTEMPTS,
        LOGIN_WINDOW_SECONDS,
      );
      if (!limit.allowed) {
        throw new AppError(
          'rate_limited',
          `Too many sign-in attempts; try again in ${Math.ceil(limit.retryAfter / 60)} minutes.`,
          [],
          { 'retry-after': String(limit.retryAfter) },
        );
      }
      const outcome = await findAccountBySignIn(ctx.users, request.body);
      if (outcome.kind === 'ambiguous') throw await chooseTenantProblem(ctx, outcome.accounts);
      if (outcome.kind === 'refused') {
        // In the audit log of each tenant whose user this email names (the operators' for none).
        const targets = outcome.candidates.length ? outcome.candidates : [undefined];
        for (const candidate of targets) {
          await ctx.audit.append({
            tenantId: candidate?.tenantId ?? null,
            actorType: 'system',
            actorId: null,
            action: 'session.failed',
            targetType: 'user',
            targetId: candidate?.id ?? '',
            ...requestMeta(request),
            details: { email },
          });
        }
        throw new AppError('unauthenticated', 'The email or password is wrong.', [
          { field: 'password', code: 'invalid_format', message: 'The email or password is wrong.' },
        ]);
      }
      const { user } = outcome;
      await ctx.audit.append({
        tenantId: user.tenantId,
        actorType: 'user',
        actorId: user.id,
        action: 'session.created',
        targetType: 'user',
        targetId: user.id,
        ...requestMeta(request),
      });
      return startSession(reply, user);
    },
  );

  r.get(
    '/v1/session',
    {
      schema: {
        tags: ['session'],
        summary: 'The signed-in user and the CSRF token to send with changes',
        response: { 200: sessionResponseSchema },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (principal?.kind !== 'user')
        throw new AppError('unauthenticated', 'No console session; sign in first.');
      const user = await ctx.users.findById(principal.userId);
      if (!user) throw new AppError('unauthenticated');
      return {
        user: {
          id: user.id,
          email: user.email,
          name: user.name,
          role: user.role,
          tenantId: user.tenantId,
        },
        csrfToken: principal.csrfToken,
      };
    },
  );

  r.delete(
    '/v1/session',
    { schema: { tags: ['session'], summary: 'Sign out', response: { 204: z.null() } } },
    async (request, reply) => {
      const principal = request.principal;
      if (principal?.kind === 'user') {
        await ctx.sessions.delete(principal.sessionId);
        await ctx.audit.append({
          tenantId: principal.tenantId,
          actorType: 'user',
          actorId: principal.userId,
          action: 'session.deleted',
          targetType: 'user',
          targetId: principal.userId,
          ...requestMeta(request),
        });
      }
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send(null);
    },
  );
}
