import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { CoreValidationError } from '@onramp/core';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { isDatabaseUnavailable } from './adapters/db/database.ts';
import type { TrustProxy } from './config.ts';
import type { AppDeps } from './deps.ts';
import { registerAccountsRoutes } from './features/accounts/accounts-routes.ts';
import { createAccountsService } from './features/accounts/accounts-service.ts';
import { registerIamPoliciesRoutes } from './features/accounts/iam-policies-routes.ts';
import { createIamPoliciesService } from './features/accounts/iam-policies-service.ts';
import { createAuditRepository } from './features/audit/audit-repository.ts';
import { registerAuditRoutes } from './features/audit/audit-routes.ts';
import { registerAuthHook, SESSION_COOKIE } from './features/auth/auth-hook.ts';
import { registerAuthRoutes } from './features/auth/auth-routes.ts';
import { createSessionsRepository } from './features/auth/sessions-repository.ts';
import { registerCallbacksRoutes } from './features/callbacks/callbacks-routes.ts';
import { createCallbacksService } from './features/callbacks/callbacks-service.ts';
import { registerCatalogRoutes } from './features/catalog/catalog-routes.ts';
import { registerConnectionsRoutes } from './features/connections/connections-routes.ts';
import { createConnectionsService } from './features/connections/connections-service.ts';
import { registerCredentialsRoutes } from './features/credentials/credentials-routes.ts';
import { createCredentialsService } from './features/credentials/credentials-service.ts';
import { registerHealthRoutes } from './features/health/health-routes.ts';
import { createHealthService } from './features/health/health-service.ts';
import { withMetrics } from './features/metrics/metrics-aws-gateway.ts';
import { registerMetricsRoutes } from './features/metrics/metrics-routes.ts';
import { registerPartitionsRoutes } from './features/partitions/partitions-routes.ts';
import { createTenantsRepository } from './features/tenants/tenants-repository.ts';
import { registerTenantsRoutes } from './features/tenants/tenants-routes.ts';
import { createTokensRepository } from './features/tokens/tokens-repository.ts';
import { registerTokensRoutes } from './features/tokens/tokens-routes.ts';
import { registerPasswordRoutes } from './features/users/password-routes.ts';
import { createUsersRepository } from './features/users/users-repository.ts';
import { registerUsersRoutes } from './features/users/users-routes.ts';
import { registerWebhooksRoutes } from './features/webhooks/webhooks-routes.ts';
import { createWebhooksService } from './features/webhooks/webhooks-service.ts';
import {
  DEFAULT_HTTP_LIMITS,
  limitConnections,
  serverOptionsOf,
} from './http/connection-limits.ts';
import { registerConsole } from './http/console.ts';
import type { AppContext } from './http/context.ts';
import { AppError, PROBLEMS, problemType } from './http/problems.ts';
import { addSecurityHeaders, DOCS_CSP } from './http/security-headers.ts';
import { newId } from './ids.ts';

export type { AppDeps } from './deps.ts';
export type App = FastifyInstance;

/**
 * Builds the HTTP application from its dependencies: the only wiring that both main.ts and the tests
 * use, so what the tests exercise is what runs.
 */
export async function buildApp(given: AppDeps): Promise<FastifyInstance> {
  // Every AWS call of every feature is counted and timed. The jobs (jobs/services.ts) do the same with
  // the same deps, so given the registry main.ts makes, the app and the jobs count into one.
  const deps = withMetrics(given);
  const httpLimits = deps.httpLimits ?? DEFAULT_HTTP_LIMITS;
  const app = Fastify({
    ...serverOptionsOf(httpLimits),
    logger: deps.logger ?? false,
    trustProxy: fastifyTrustProxy(deps.trustProxy),
    bodyLimit: 256 * 1024,
    genReqId: () => newId('request'),
    requestIdHeader: false,
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<ZodTypeProvider>();
  limitConnections(app.server, httpLimits);

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  acceptEmptyJsonBodies(app);

  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Onramp API',
        version: '0.1.0',
        description:
          'Connect customer AWS accounts (IAM role with external ID, or access keys) in aws, aws-us-gov and aws-cn. Errors are RFC 9457 problem+json with a field list.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API token, onr_…' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', reply.getHeader('cache-control') ?? 'no-store');
    addSecurityHeaders(request, reply, { publicUrl: deps.publicUrl });
    return payload;
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error);
    if (problem.code === 'unavailable') {
      // An outage of the database is the operator's to watch, not a bug: a warning, without the stack.
      const { code, message } = error as { code?: unknown; message?: unknown };
      request.log.warn({ err: { code, message } }, 'request failed: the database is unavailable');
    } else if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
    reply
      .status(problem.status)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          ...problem.extensions,
          type: problemType(problem.code),
          title: problem.title,
          status: problem.status,
          detail: problem.detail,
          instance: request.url.split('?')[0],
          requestId: request.id,
          errors: problem.errors,
        }),
      );
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: problemType('not_found'),
          title: PROBLEMS.not_found.title,
          status: 404,
          detail: `No route ${request.method} ${request.url.split('?')[0]}.`,
          instance: request.url.split('?')[0],
          requestId: request.id,
          errors: [],
        }),
      );
  });

  const clock = deps.clock;
  const repos = {
    audit: createAuditRepository(deps.db, clock),
    users: createUsersRepository(deps.db, clock),
    sessions: createSessionsRepository(deps.db, clock, deps.sessionIdleMinutes),
    tokens: createTokensRepository(deps.db, clock),
    tenants: createTenantsRepository(deps.db, clock),
  };
  const webhooks = createWebhooksService({ ...deps, audit: repos.audit });
  const connections = createConnectionsService({
    ...deps,
    audit: repos.audit,
    tenants: repos.tenants,
  });
  const accounts = createAccountsService({
    ...deps,
    audit: repos.audit,
    tenants: repos.tenants,
    connections,
    events: webhooks,
  });
  const health = createHealthService({ ...deps, audit: repos.audit, accounts, events: webhooks });
  const callbacks = createCallbacksService({
    ...deps,
    audit: repos.audit,
    accounts,
    connections,
    events: webhooks,
  });
  const iamPolicies = createIamPoliciesService({ ...deps, audit: repos.audit, accounts });
  const credentials = createCredentialsService({ ...deps, audit: repos.audit, accounts });
  const context: AppContext = {
    ...deps,
    ...repos,
    accounts,
    connections,
    iamPolicies,
    callbacks,
    health,
    webhooks,
    credentials,
    secureCookies: Boolean(deps.trustProxy) || Boolean(deps.publicUrl?.startsWith('https:')),
  };

  registerAuthHook(app, context);

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await deps.db.selectFrom('settings').select('key').limit(1).execute();
      if (deps.isReady && !(await deps.isReady())) throw new Error('not ready');
      return { status: 'ready' };
    } catch {
      return reply.status(503).send({ status: 'unavailable' });
    }
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await registerAuthRoutes(app, context);
  await registerTenantsRoutes(app, context);
  await registerUsersRoutes(app, context);
  await registerPasswordRoutes(app, context, { resetHours: deps.passwordResetHours });
  await registerTokensRoutes(app, context);
  await registerAuditRoutes(app, context);
  await registerCatalogRoutes(app, context);
  await registerPartitionsRoutes(app, context);
  await registerConnectionsRoutes(app, context);
  await registerCallbacksRoutes(app, context);
  await registerAccountsRoutes(app, context);
  await registerIamPoliciesRoutes(app, context);
  await registerHealthRoutes(app, context);
  await registerWebhooksRoutes(app, context);
  await registerCredentialsRoutes(app, context);
  await registerMetricsRoutes(app, context);
  // Last: the console's fallback route must never shadow an API route.
  if (deps.consoleRoot && existsSync(join(deps.consoleRoot, 'index.html'))) {
    await registerConsole(app, { root: deps.consoleRoot });
  }
  return app;
}

/**
 * Many HTTP clients send `Content-Type: application/json` with an empty body on a DELETE or a POST
 * that takes none (…/check, …/external-id). Fastify refuses that outright; here an empty body is no
 * body, so those routes work, and a route that needs one still answers 400 naming `body`.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  // Fastify's own parser, with its defaults against prototype poisoning, for every non-empty body.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    parseJson(request, body.toString(), done);
  });
}

/**
 * A hop count as the function proxy-addr's `trust(address, hop)` expects: the nearest `hops` proxies
 * are trusted, whatever their address. (Fastify reads a bare number as "trust no one".)
 */
function fastifyTrustProxy(
  trustProxy: TrustProxy | undefined,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy === 'number') return (_address, hop) => hop < trustProxy;
  return trustProxy ?? false;
}

interface ProblemOut {
  code: string;
  status: number;
  title: string;
  detail: string;
  errors: readonly { field: string; code: string; message: string; hint?: string }[];
  headers: Record<string, string>;
  extensions?: Record<string, unknown>;
}

/** Every error leaves as problem+json; nothing internal (stack, SQL, secrets) is in it. */
function toProblem(error: unknown): ProblemOut {
  if (error instanceof AppError) {
    return {
      code: error.code,
      status: error.status,
      title: error.title,
      detail: error.message,
      errors: error.errors,
      headers: error.headers,
      extensions: error.extensions,
    };
  }
  if (error instanceof CoreValidationError) {
    return {
      code: 'validation_failed',
      status: 422,
      title: PROBLEMS.validation_failed.title,
      detail: error.issues.map((i) => `${i.field}: ${i.message}`).join(' '),
      errors: error.issues,
      headers: {},
    };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as { validationContext?: string }).validationContext ?? 'body';
    const errors = error.validation.map((v) => {
      const path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean);
      const field = path.length
        ? path.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
        : where;
      // No body at all where the route needs one (an empty body is no body, see above).
      if (where === 'body' && !path.length && /received (undefined|null)$/.test(v.message ?? '')) {
        return {
          field,
          code: 'required',
          message: 'This request needs a JSON body.',
        };
      }
      return { field, code: 'invalid_format', message: v.message ?? 'is not valid' };
    });
    return {
      code: 'invalid_request',
      status: 400,
      title: PROBLEMS.invalid_request.title,
      detail: errors.map((e) => `${e.field}: ${e.message}`).join(' '),
      errors,
      headers: {},
    };
  }
  if (isResponseSerializationError(error)) {
    return {
      code: 'internal',
      status: 500,
      title: PROBLEMS.internal.title,
      detail: 'The response did not match its contract.',
      errors: [],
      headers: {},
    };
  }
  if (isDatabaseUnavailable(error)) {
    return {
      code: 'unavailable',
      status: 503,
      title: PROBLEMS.unavailable.title,
      detail: 'The database cannot be reached right now. Try again in a moment.',
      errors: [],
      // Recovery is automatic and quick once the database is back (a new connection per query).
      headers: { 'retry-after': '1' },
    };
  }
  const fastifyError = error as { statusCode?: number; code?: string; message?: string };
  if (fastifyError.statusCode === 413) {
    return {
      code: 'payload_too_large',
      status: 413,
      title: PROBLEMS.payload_too_large.title,
      detail: 'Requests are limited to 256 KiB.',
      errors: [],
      headers: {},
    };
  }
  if (fastifyError.statusCode === 415) {
    return {
      code: 'unsupported_media_type',
      status: 415,
      title: PROBLEMS.unsupported_media_type.title,
      detail: 'Send the body as application/json.',
      errors: [],
      headers: {},
    };
  }
  if (fastifyError.statusCode === 400) {
    // Malformed JSON and the like, before any schema ran.
    return {
      code: 'invalid_request',
      status: 400,
      title: PROBLEMS.invalid_request.title,
      detail: 'The body is not valid JSON.',
      errors: [{ field: 'body', code: 'invalid_format', message: 'The body is not valid JSON.' }],
      headers: {},
    };
  }
  return {
    code: 'internal',
    status: 500,
    title: PROBLEMS.internal.title,
    detail: 'Onramp failed unexpectedly; the request id identifies it in the logs.',
    errors: [],
    headers: {},
  };
}
