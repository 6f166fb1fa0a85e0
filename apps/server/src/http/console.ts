import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Paths that belong to the API and its tooling: an unknown one is a 404 problem, never the console. */
const API_PREFIXES = ['/v1', '/docs', '/openapi.json', '/healthz', '/readyz', '/metrics', '/oidc'];

/** The console's HTML may load only what it ships with, and no other site may frame it. */
const CONSOLE_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

export function isApiPath(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

function sendIndex(reply: FastifyReply) {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('cache-control', 'no-cache')
    .sendFile('index.html');
}

/** A precompressed copy's suffix: headers follow the file it is a copy of. */
const ENCODED_COPY = /\.(br|gz)$/;

/** Vite names every file under assets/ by its content's hash: a new build never reuses a name. */
function isHashedAsset(path: string): boolean {
  return /[\\/]assets[\\/][^\\/]+$/.test(path);
}

/**
 * Serves the built console (apps/web/dist) at `/`: its files as they are, and index.html for any other
 * GET outside the API, so a deep link such as /accounts/acct_… opens the single-page app on that page.
 * The build wrote a brotli and a gzip copy beside each text file (vite.config.ts); the one the
 * client accepts is sent (`Vary: Accept-Encoding`), so nothing is compressed per request. Hashed
 * assets are cached for a year; index.html is revalidated every time, so a new build is seen at once.
 * Registered last, so every API route stays more specific than the fallback; an unknown API path still
 * gets the API's 404 problem.
 */
export async function registerConsole(app: FastifyInstance, options: { root: string }) {
  await app.register(fastifyStatic, {
    root: options.root,
    prefix: '/',
    // Only the files present at start-up are routes: nothing else under the root can be asked for.
    wildcard: false,
    // The compressed copies are sent in place of their file, never as routes of their own.
    globIgnore: ['**/*.br', '**/*.gz'],
    preCompressed: true,
    index: false,
    schemaHide: true,
    setHeaders: (reply, path) => {
      const served = path.replace(ENCODED_COPY, '');
      if (isHashedAsset(served)) {
        reply.header('cache-control', 'public, max-age=31536000, immutable');
      } else {
        reply.header('cache-control', 'no-cache');
        if (served.endsWith('.html')) reply.header('content-security-policy', CONSOLE_CSP);
      }
    },
  });
  app.get('/', { schema: { hide: true } }, (_request, reply) => sendIndex(reply));
  app.get('/*', { schema: { hide: true } }, (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    // A missing asset is a 404, not the page: a browser would otherwise run HTML as a script.
    if (isApiPath(request.url) || path.startsWith('/assets/')) return reply.callNotFound();
    return sendIndex(reply);
  });
}
