import { api } from '@onramp/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Database } from '../../adapters/db/schema.ts';
import { AppError } from '../../http/problems.ts';
import { clientAddress, requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import { untrustedText } from '../../ports/audit-log.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { UsersService } from '../users/users-service.ts';
import { SESSION_COOKIE } from './auth-hook.ts';
import { createRateLimiter, limitedAddress, type RateLimitDecision } from './rate-limits.ts';
import type { SessionsService } from './sessions-service.ts';
import { createFirstOperator } from './setup.ts';
import { chooseTenantProblem } from './sign-in-choice.ts';

/** Sign-in attempts allowed per window (15 minutes), counted in the database across replicas. */
export interface SignInLimits {
  /** One email from one address: guessing one account's password. */
  perAccountAndAddress: number;
  /** One address, whatever the email: spraying a common password over many accounts. */
  perAddress: number;
  /** One email, whatever the address: guessing one account's password from many addresses. */
  perAccount: number;
}

/**
 * The per-account limit is the one a stranger can use against a user (50 wrong passwords lock the
 * account out for the rest of the window, from everywhere): it is set well above the per-address
 * limits, so locking someone out takes several addresses, and it lasts one window only.
 */
export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  perAccountAndAddress: 10,
  perAddress: 30,
  perAccount: 50,
};
export const SIGN_IN_WINDOW_SECONDS = 15 * 60;

type LimitName = 'account_and_address' | 'address' | 'account';

/**
 * What the session routes use: the database for the set-up token's transaction and the sign-in
 * counters (both this feature's tables), the rest through other features' services.
 */
export interface AuthRoutesDeps {
  db: Kysely<Database>;
  clock: () => Date;
  signInLimits?: SignInLimits | undefined;
  secureCookies: boolean;
  audit: AuditLog;
  users: Pick<
    UsersService,
    'accountsOfEmail' | 'signIn' | 'findById' | 'create' | 'checkNewPassword'
  >;
  sessions: Pick<SessionsService, 'start' | 'end'>;
  tenants: Pick<TenantsService, 'find'>;
}

export async function registerAuthRoutes(
  app: FastifyInstance,
  deps: AuthRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const limiter = createRateLimiter(deps.db, deps.clock);
  const limits = deps.signInLimits ?? DEFAULT_SIGN_IN_LIMITS;

  /** What the audit log keeps of the email a sign-in named: a user's own, or a stranger's text cut short. */
  const emailDetails = (email: string, user: { email: string } | undefined) =>
    user ? { email: user.email } : { email: untrustedText(email) };

  /**
   * Counts this attempt against each limit in turn, before the password is checked: each count is
   * taken by one atomic statement, so of any number of attempts racing on any replicas at most the
   * limit get through. A later limit counts only attempts the earlier ones let through, so a client
   * hammering one account from one address cannot push that account's own limit up by itself.
   * Returns the decisions taken, to be refunded if the password turns out right.
   */
  async function admitSignIn(request: FastifyRequest, email: string): Promise<RateLimitDecision[]> {
    const address = limitedAddress(clientAddress(request));
    const checks: { name: LimitName; key: string; limit: number }[] = [
      {
        name: 'account_and_address',
        key: `sign-in-account-address:${email}\n${address}`,
        limit: limits.perAccountAndAddress,
      },
      { name: 'address', key: `sign-in-address:${address}`, limit: limits.perAddress },
      { name: 'account', key: `sign-in-account:${email}`, limit: limits.perAccount },
    ];
    const taken: RateLimitDecision[] = [];
    for (const check of checks) {
      const decision = await limiter.hit(check.key, check.limit, SIGN_IN_WINDOW_SECONDS);
      if (decision.allowed) {
        taken.push(decision);
        continue;
      }
      // Once per limit and window (the first refused attempt), so a flood leaves one entry.
      if (decision.count === check.limit + 1) {
        // One entry, in the log of the tenant whose user this email names; in the operators' when it
        // names users in several tenants (see the refused sign-in below).
        const named = await deps.users.accountsOfEmail(email);
        const user = named.length === 1 ? named[0] : undefined;
        await deps.audit.append({
          tenantId: user?.tenantId ?? null,
          actorType: 'system',
          actorId: null,
          action: 'session.rate_limited',
          targetType: 'user',
          targetId: user?.id ?? '',
          ...requestMeta(request),
          details: {
            ...emailDetails(email, user),
            limit: check.name,
            attempts: check.limit,
            windowSeconds: SIGN_IN_WINDOW_SECONDS,
          },
        });
      }
      throw new AppError(
        'rate_limited',
        `Too many sign-in attempts; try again in ${Math.ceil(decision.retryAfter / 60)} minutes.`,
        [],
        { 'retry-after': String(decision.retryAfter) },
      );
    }
    return taken;
  }

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
    const session = await deps.sessions.start(user.id);
    reply.setCookie(SESSION_COOKIE, session.token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: deps.secureCookies,
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

  mount(r, api.session.setup, {
    handler: async (request, reply) => {
      const { setupToken, email, name, password } = request.body;
      const user = await createFirstOperator(
        deps,
        { setupToken, email, name, password },
        requestMeta(request),
      );
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
  });

  mount(r, api.session.login, {
    handler: async (request, reply) => {
      const { email } = request.body;
      const admitted = await admitSignIn(request, email);
      const outcome = await deps.users.signIn(request.body);
      // A password that opens an account is no guess, so it spends no budget, unless the email
      // names other accounts it did not open: anyone may create a user with any email in their own
      // tenant, with a password of their choosing, and whether the answer is 200 or 409 then says
      // whether that password also opens someone else's account. Such an attempt is a guess.
      const isNoGuess = outcome.kind !== 'refused' && outcome.isEveryAccount;
      if (outcome.kind === 'ambiguous') {
        if (isNoGuess) await Promise.all(admitted.map((decision) => limiter.refund(decision)));
        throw await chooseTenantProblem(deps, outcome.accounts);
      }
      if (outcome.kind === 'refused') {
        // In the audit log of the tenant whose user this email names; in the operators' for none, or
        // for several: anyone can add a user with another tenant's user's email to their own tenant,
        // and would then see when, and from where, that user mistypes their password.
        const [first, ...others] = outcome.candidates;
        const candidate = others.length ? undefined : first;
        await deps.audit.append({
          tenantId: candidate?.tenantId ?? null,
          actorType: 'system',
          actorId: null,
          action: 'session.failed',
          targetType: 'user',
          targetId: candidate?.id ?? '',
          ...requestMeta(request),
          // A user's email (any of them, if several) as it is; a stranger's cut short.
          details: emailDetails(email, first),
        });
        throw new AppError('unauthenticated', 'The email or password is wrong.', [
          { field: 'password', code: 'invalid_format', message: 'The email or password is wrong.' },
        ]);
      }
      const { user } = outcome;
      // The right password: this attempt was no guess, so it does not spend the budget of the
      // address (colleagues behind one NAT) or of the account.
      if (isNoGuess) await Promise.all(admitted.map((decision) => limiter.refund(decision)));
      await deps.audit.append({
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
  });

  mount(r, api.session.get, {
    handler: async (request) => {
      const principal = request.principal;
      if (principal?.kind !== 'user')
        throw new AppError('unauthenticated', 'No console session; sign in first.');
      const user = await deps.users.findById(principal.userId);
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
  });

  mount(r, api.session.logout, {
    handler: async (request, reply) => {
      const principal = request.principal;
      if (principal?.kind === 'user') {
        await deps.sessions.end(principal.sessionId);
        await deps.audit.append({
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
  });
}
