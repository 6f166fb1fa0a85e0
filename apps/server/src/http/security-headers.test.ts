import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../deps.ts';
import { createHarness, type Harness } from '../testing/harness.ts';

// Headers do not depend on the database: SQLite only. /docs in a real browser: e2e/docs.test.ts.
const harnesses: Harness[] = [];
async function app(overrides: Partial<AppDeps> = {}) {
  const h = await createHarness('sqlite', overrides);
  harnesses.push(h);
  return h;
}

const consoleRoot = mkdtempSync(join(tmpdir(), 'onramp-console-'));
mkdirSync(join(consoleRoot, 'assets'));
writeFileSync(join(consoleRoot, 'index.html'), '<!doctype html><title>Onramp</title>');
writeFileSync(join(consoleRoot, 'assets', 'app-1234.js'), 'console.log(1)');

afterAll(async () => {
  for (const h of harnesses) await h.close();
  rmSync(consoleRoot, { recursive: true, force: true });
});

function cspOf(response: { headers: Record<string, unknown> }): string {
  return String(response.headers['content-security-policy'] ?? '');
}

describe('security headers', () => {
  it('forbid framing and referrers on every API answer: data, problems, 404s', async () => {
    const h = await app();
    const responses = [
      await h.anonymous.request('GET', '/healthz'),
      await h.anonymous.request('GET', '/v1/accounts'),
      await h.anonymous.request('GET', '/v1/no-such-route'),
      await h.anonymous.request('POST', '/v1/session', '{not json'),
      await h.anonymous.request('GET', '/openapi.json'),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 400, 200]);
    for (const response of responses) {
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.headers['referrer-policy']).toBe('same-origin');
      expect(cspOf(response)).toContain("frame-ancestors 'none'");
      expect(cspOf(response)).toContain("default-src 'none'");
    }
  });

  it('give /docs a policy that lets Swagger UI load its own files and nothing else', async () => {
    const h = await app();
    for (const url of ['/docs/', '/docs/static/swagger-ui-bundle.js', '/docs/json']) {
      const response = await h.anonymous.request('GET', url);
      expect(response.status, url).toBe(200);
      const csp = cspOf(response);
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).not.toMatch(/unsafe-inline|unsafe-eval|https:|upgrade-insecure-requests/);
      expect(response.headers['x-frame-options'], url).toBe('DENY');
      expect(response.headers['referrer-policy'], url).toBe('same-origin');
    }
  });

  it('keep the console’s own policy on its page, wherever it is served from', async () => {
    const h = await app({ consoleRoot });
    for (const url of ['/', '/index.html', '/accounts/acct_123']) {
      const response = await h.anonymous.request('GET', url);
      expect(response.status, url).toBe(200);
      expect(cspOf(response), url).toMatch(/^default-src 'self'; .*frame-ancestors 'none'/);
      expect(response.headers['x-frame-options'], url).toBe('DENY');
    }
  });

  it('send Strict-Transport-Security only over TLS: an https public URL, or a trusted proxy’s X-Forwarded-Proto', async () => {
    const plain = await app();
    const viaHttps = await app({ publicUrl: 'https://onramp.example.com' });
    const viaHttp = await app({ publicUrl: 'http://onramp.internal:8080' });
    const proxied = await app({ trustProxy: 1 });
    const hsts = (response: { headers: Record<string, unknown> }) =>
      response.headers['strict-transport-security'];
    expect(hsts(await plain.anonymous.request('GET', '/healthz'))).toBeUndefined();
    expect(hsts(await viaHttp.anonymous.request('GET', '/healthz'))).toBeUndefined();
    expect(hsts(await viaHttps.anonymous.request('GET', '/healthz'))).toBe('max-age=31536000');
    expect(hsts(await viaHttps.anonymous.request('GET', '/v1/accounts'))).toBe('max-age=31536000');
    // An untrusted client cannot turn it on (or anything else) by claiming https.
    expect(
      hsts(
        await plain.anonymous.request('GET', '/healthz', undefined, {
          'x-forwarded-proto': 'https',
        }),
      ),
    ).toBeUndefined();
    expect(
      hsts(
        await proxied.anonymous.request('GET', '/healthz', undefined, {
          'x-forwarded-proto': 'https',
        }),
      ),
    ).toBe('max-age=31536000');
    expect(
      hsts(
        await proxied.anonymous.request('GET', '/healthz', undefined, {
          'x-forwarded-proto': 'http',
        }),
      ),
    ).toBeUndefined();
  });
});
