/**
 * What a log line may never carry. Fastify logs request metadata, never bodies; these paths cover the
 * headers that hold credentials: bearer tokens, the session cookie, the CSRF token, and Set-Cookie.
 */
export const LOG_REDACT = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["x-csrf-token"]',
    'res.headers["set-cookie"]',
  ],
  censor: '[redacted]',
};
