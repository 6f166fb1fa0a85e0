import type { FastifyInstance } from 'fastify';
import type { TrustProxy } from '../config.ts';

/**
 * Many HTTP clients send `Content-Type: application/json` with an empty body on a DELETE or a POST
 * that takes none (…/check, …/external-id). Fastify refuses that outright; here an empty body is no
 * body, so those routes work, and a route that needs one still answers 400 naming `body`.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
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
export function fastifyTrustProxy(
  trustProxy: TrustProxy | undefined,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy === 'number') return (_address, hop) => hop < trustProxy;
  return trustProxy ?? false;
}
