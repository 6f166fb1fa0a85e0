import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { DOCS_CSP } from './security-headers.ts';

/** Request headers the docs' files answer to (caching and compression); nothing that identifies a caller. */
const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'accept-encoding',
  'if-none-match',
  'if-modified-since',
];
/** Response headers the outer app sets itself, or that describe the inner connection only. */
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'date', 'transfer-encoding']);

/**
 * Swagger UI at /docs, loaded on its first visit. The plugin and its static-file server are a good
 * part of what a start would otherwise load (hundreds of milliseconds of a cold start), and most
 * processes never serve /docs. The first visit builds a small Fastify instance holding only Swagger
 * UI, which reads the OpenAPI document of `app`, and every /docs request is answered by it through
 * `inject` (in-process, no socket). The outer app's hooks still run on the answer, so /docs keeps the
 * same security headers as before; the page's own policy is DOCS_CSP, as Swagger UI sets it.
 */
export function registerLazyDocs(app: FastifyInstance, prefix = '/docs'): void {
  let docs: Promise<FastifyInstance> | undefined;
  const open = () => {
    docs ??= buildDocs(app, prefix);
    // A failed load is tried again on the next visit.
    docs.catch(() => {
      docs = undefined;
    });
    return docs;
  };
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    const inner = await open();
    const headers: Record<string, string> = {};
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await inner.inject({ method: 'GET', url: request.url, headers });
    reply.code(answer.statusCode);
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) reply.header(name, value);
    }
    return reply.send(answer.rawPayload);
  };
  app.get(prefix, { schema: { hide: true } }, forward);
  app.get(`${prefix}/*`, { schema: { hide: true } }, forward);
}

async function buildDocs(app: FastifyInstance, prefix: string): Promise<FastifyInstance> {
  const [{ default: Fastify }, { default: swaggerUi }] = await Promise.all([
    import('fastify'),
    import('@fastify/swagger-ui'),
  ]);
  const inner = Fastify({ logger: false });
  // Swagger UI needs @fastify/swagger registered: here it is the outer app's document, under its name.
  await inner.register(
    fastifyPlugin(
      async (scope) => {
        scope.decorate('swagger', ((options?: unknown) =>
          (app.swagger as (o?: unknown) => unknown)(options)) as FastifyInstance['swagger']);
      },
      { name: '@fastify/swagger' },
    ),
  );
  await inner.register(swaggerUi, { routePrefix: prefix, staticCSP: DOCS_CSP });
  await inner.ready();
  return inner;
}
