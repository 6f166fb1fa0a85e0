import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { registerAccountsRoutes } from './features/accounts/accounts-routes.ts';
import { registerIamPoliciesRoutes } from './features/accounts/iam-policies-routes.ts';
import { registerPermissionsUpdateRoutes } from './features/accounts/permissions-update-routes.ts';
import { registerAuditRoutes } from './features/audit/audit-routes.ts';
import { registerAuthHook, SESSION_COOKIE } from './features/auth/auth-hook.ts';
import { registerAuthRoutes } from './features/auth/auth-routes.ts';
import { registerBrandingRoutes } from './features/branding/branding-routes.ts';
import { registerCallbacksRoutes } from './features/callbacks/callbacks-routes.ts';
import { registerCatalogRoutes } from './features/catalog/catalog-routes.ts';
import { registerConnectSessionsRoutes } from './features/connect-sessions/connect-sessions-routes.ts';
import { registerHostedRoutes } from './features/connect-sessions/hosted-routes.ts';
import { registerConnectionsRoutes } from './features/connections/connections-routes.ts';
import { registerCredentialsRoutes } from './features/credentials/credentials-routes.ts';
import { registerHealthRoutes } from './features/health/health-routes.ts';
import { registerMetricsRoutes } from './features/metrics/metrics-routes.ts';
import { registerOidcRoutes } from './features/oidc/oidc-routes.ts';
import { registerOrganizationCallbackRoutes } from './features/organizations/organization-callback-routes.ts';
import { registerOrganizationsRoutes } from './features/organizations/organizations-routes.ts';
import { registerPartitionsRoutes } from './features/partitions/partitions-routes.ts';
import { registerTenantsRoutes } from './features/tenants/tenants-routes.ts';
import { registerTokensRoutes } from './features/tokens/tokens-routes.ts';
import { registerPasswordRoutes } from './features/users/password-routes.ts';
import { registerUsersRoutes } from './features/users/users-routes.ts';
import { registerWebhooksRoutes } from './features/webhooks/webhooks-routes.ts';
import { acceptEmptyJsonBodies, fastifyTrustProxy } from './http/body-and-proxy.ts';
import {
  DEFAULT_HTTP_LIMITS,
  limitConnections,
  serverOptionsOf,
} from './http/connection-limits.ts';
import { registerConsole } from './http/console.ts';
import {
  MAX_PARAM_LENGTH,
  registerProblemHandlers,
  sendFrameworkError,
} from './http/error-handler.ts';
import { registerLazyDocs } from './http/lazy-docs.ts';
import { addSecurityHeaders } from './http/security-headers.ts';
import { newId } from './ids.ts';
import type { Services } from './wiring.ts';

export type App = FastifyInstance;

/**
 * The HTTP application over the service graph (wiring.ts builds it): Fastify's settings, the problem
 * handlers, the auth hook and every feature's routes. It builds no service of its own, so the app,
 * the jobs and the tests all run on the one graph.
 */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const deps = services;
  const httpLimits = deps.httpLimits ?? DEFAULT_HTTP_LIMITS;
  const setCommonHeaders = (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', reply.getHeader('cache-control') ?? 'no-store');
    addSecurityHeaders(request, reply, { publicUrl: deps.publicUrl });
  };
  const app = Fastify({
    ...serverOptionsOf(httpLimits),
    logger: deps.logger ?? false,
    trustProxy: fastifyTrustProxy(deps.trustProxy),
    bodyLimit: 256 * 1024,
    genReqId: () => newId('request'),
    requestIdHeader: false,
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A path the router refuses is answered before any hook runs: the same headers, set here.
    frameworkErrors: (error, request, reply) => {
      setCommonHeaders(request, reply);
      sendFrameworkError(error, request, reply);
    },
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

  // A callback hook, not an async one: it does no I/O, and every response would pay for a promise.
  app.addHook('onSend', (request, reply, payload, done) => {
    setCommonHeaders(request, reply);
    done(null, payload);
  });

  registerProblemHandlers(app);

  registerAuthHook(app, services);

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
  // Swagger UI, loaded on the first visit to /docs (a start does not load it).
  registerLazyDocs(app);

  await registerAuthRoutes(app, services);
  await registerTenantsRoutes(app, services);
  await registerUsersRoutes(app, services);
  await registerPasswordRoutes(app, services, { resetHours: deps.passwordResetHours });
  await registerTokensRoutes(app, services);
  await registerAuditRoutes(app, services);
  await registerCatalogRoutes(app, services);
  await registerPartitionsRoutes(app, services);
  await registerConnectionsRoutes(app, services);
  await registerCallbacksRoutes(app, services);
  await registerOrganizationCallbackRoutes(app, services);
  await registerAccountsRoutes(app, services);
  await registerIamPoliciesRoutes(app, services);
  await registerPermissionsUpdateRoutes(app, services);
  await registerHealthRoutes(app, services);
  await registerWebhooksRoutes(app, services);
  await registerCredentialsRoutes(app, services);
  await registerMetricsRoutes(app, services);
  await registerOidcRoutes(app, services);
  await registerOrganizationsRoutes(app, services);
  await registerConnectSessionsRoutes(app, services);
  await registerHostedRoutes(app, services);
  await registerBrandingRoutes(app, services);
  // Last: the console's fallback route must never shadow an API route.
  if (deps.consoleRoot && existsSync(join(deps.consoleRoot, 'index.html'))) {
    await registerConsole(app, { root: deps.consoleRoot });
  }
  return app;
}
