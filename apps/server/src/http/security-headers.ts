import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * What every response carries. The console's page (http/console.ts) and the API docs set their own
 * Content-Security-Policy; everything else is data (JSON, problem+json), which may load nothing.
 * No page of Onramp may be framed by another site (clickjacking a sign-in or a "connect" button):
 * X-Frame-Options for old browsers, frame-ancestors for the rest.
 */
const DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Swagger UI at /docs: its scripts, styles and images are files of its own (no inline script), and it
 * fetches the OpenAPI document from Onramp. Its logo is an inline SVG with a <style> of two fills,
 * allowed by its hash rather than by 'unsafe-inline' (e2e/docs.test.ts fails if an upgrade of Swagger
 * UI changes it). No validator badge (it would send the spec's URL to validator.swagger.io), no
 * framing, no forms elsewhere.
 */
const SWAGGER_LOGO_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";
export const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  `style-src 'self' ${SWAGGER_LOGO_STYLE}`,
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** A year; not includeSubDomains: the operator's other hosts are not Onramp's to decide. */
const HSTS = 'max-age=31536000';

/**
 * Same-origin requests keep their Referer (and a POST its Origin); another site learns nothing of
 * the page a link was followed from (account ids in the console's paths, a docs anchor).
 */
const REFERRER_POLICY = 'same-origin';

export function addSecurityHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  options: { publicUrl?: string | undefined },
): void {
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', REFERRER_POLICY);
  if (!reply.getHeader('content-security-policy')) {
    reply.header('content-security-policy', DATA_CSP);
  }
  // Over TLS only (a browser ignores it on plain HTTP anyway): the public URL is https, or the
  // request came over TLS, which with trustProxy includes a trusted proxy's X-Forwarded-Proto.
  if (options.publicUrl?.startsWith('https:') || request.protocol === 'https') {
    reply.header('strict-transport-security', HSTS);
  }
}
