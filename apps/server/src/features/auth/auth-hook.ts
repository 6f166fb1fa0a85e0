import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actsForAnyTenant, type Principal } from '../../domain/principal.ts';
import { AppError, notFound } from '../../http/problems.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { TokensService } from '../tokens/tokens-service.ts';
import type { UsersService } from '../users/users-service.ts';
import type { SessionsService } from './sessions-service.ts';

/** What the auth hook reads: who a token or a session is, and whether a named tenant exists. */
export interface AuthHookDeps {
  tokens: Pick<TokensService, 'findLive'>;
  sessions: Pick<SessionsService, 'find'>;
  users: Pick<UsersService, 'findById'>;
  tenants: Pick<TenantsService, 'find'>;
}

export const SESSION_COOKIE = 'onramp_session';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The tenant an operator names (Onramp-Tenant, or ?tenant=), settled by the auth hook. */
    namedTenant?: string;
  }
}

/**
 * Resolves who is asking, once per request: a bearer API token, or the session cookie. A request made
 * with the cookie and an unsafe method must also carry the session's CSRF token in a header, which a
 * page on another site cannot read or set; bearer tokens are not sent by browsers on their own, so they
 * need no such check.
 */
export function registerAuthHook(app: FastifyInstance, deps: AuthHookDeps): void {
  // preValidation: who is asking is settled before the body is judged, so a stranger gets 401, not 400.
  app.addHook('preValidation', async (request) => {
    // /metrics has its own bearer token (ONRAMP_METRICS_TOKEN), which is no API token.
    if (request.routeOptions.url === '/metrics') return;
    // The OpenID Connect issuer's documents are public: AWS fetches them without credentials.
    if (request.routeOptions.url?.startsWith('/oidc/')) return;
    // A hosted connect session's routes know no Onramp user or token: their one credential is the
    // session's own cookie (features/connect-sessions/hosted-routes.ts), so neither is read here.
    if (request.routeOptions.url?.startsWith('/v1/connect/')) return;
    const principal = await resolvePrincipal(request, deps);
    request.principal = principal;
    const requested = takeNamedTenant(request, principal !== undefined);
    request.namedTenant = requested;
    // An operator acting on a tenant must name one that exists: every route can then trust it. The
    // audit log is the exception: a deleted tenant's history stays readable.
    const isAudit = request.routeOptions.url === '/v1/audit';
    if (
      requested &&
      principal &&
      actsForAnyTenant(principal) &&
      !isAudit &&
      !(await deps.tenants.find(requested))
    ) {
      throw notFound('This tenant');
    }
  });
}

/**
 * One rule for every route: the tenant is named by the Onramp-Tenant header, or by `?tenant=` where a
 * header cannot be sent (a download link), and both mean the same everywhere. The parameter is taken
 * out of the query here, before any route's query schema sees it, so no route can read it, strip it
 * or refuse it on its own. Naming two different tenants, or the parameter twice, is a 400; for a
 * caller without credentials, who acts on no tenant, it is ignored (the route answers 401).
 */
function takeNamedTenant(request: FastifyRequest, isAuthenticated: boolean): string | undefined {
  const header = request.headers['onramp-tenant'];
  const fromHeader = typeof header === 'string' && header ? header : undefined;
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.tenant;
  if (query && 'tenant' in query) delete query.tenant;
  if (!isAuthenticated || fromQuery === undefined || fromQuery === '') return fromHeader;
  if (typeof fromQuery !== 'string') {
    throw new AppError('invalid_request', 'Name one tenant.', [
      {
        field: 'tenant',
        code: 'invalid_format',
        message: 'The tenant parameter is given more than once.',
        hint: 'Name the tenant (ten_…) once, preferably in the Onramp-Tenant header.',
      },
    ]);
  }
  if (fromHeader && fromHeader !== fromQuery) {
    throw new AppError('invalid_request', 'The request names two different tenants.', [
      {
        field: 'tenant',
        code: 'invalid_format',
        message: `The tenant parameter (${fromQuery.slice(0, 64)}) differs from the Onramp-Tenant header (${fromHeader.slice(0, 64)}).`,
        hint: 'Name the tenant once, in the Onramp-Tenant header.',
      },
    ]);
  }
  return fromQuery;
}

async function resolvePrincipal(
  request: FastifyRequest,
  deps: AuthHookDeps,
): Promise<Principal | undefined> {
  const authorization = request.headers.authorization;
  if (authorization) {
    const [scheme, value] = authorization.split(' ');
    if (scheme?.toLowerCase() !== 'bearer' || !value) {
      throw new AppError('unauthenticated', 'Send the token as Authorization: Bearer onr_….');
    }
    const token = await deps.tokens.findLive(value);
    if (!token)
      throw new AppError('unauthenticated', 'This API token is unknown, revoked or expired.');
    return {
      kind: 'token',
      tokenId: token.id,
      tenantId: token.tenantId,
      scopes: token.scopes,
      createdBy: token.createdBy,
    };
  }
  const cookie = request.cookies[SESSION_COOKIE];
  if (!cookie) return undefined;
  const session = await deps.sessions.find(cookie);
  if (!session) return undefined;
  const user = await deps.users.findById(session.userId);
  if (!user || user.disabled) return undefined;
  if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method)) {
    const presented = request.headers[CSRF_HEADER];
    if (presented !== session.csrfToken) {
      throw new AppError(
        'csrf_failed',
        `Send the CSRF token from GET /v1/session in the ${CSRF_HEADER} header.`,
      );
    }
  }
  return {
    kind: 'user',
    userId: user.id,
    email: user.email,
    role: user.role,
    tenantId: user.tenantId,
    sessionId: session.id,
    csrfToken: session.csrfToken,
  };
}
