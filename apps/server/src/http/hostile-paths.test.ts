import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../testing/databases.ts';
import { createHarness, expectProblem, type Harness, type TestTenant } from '../testing/harness.ts';

/**
 * Paths Fastify's router refuses before any route runs: a malformed %-escape, and a parameter longer
 * than its limit (100 characters). They are errors like any other: problem+json with the request id,
 * and without the path echoed back (it may be kilobytes of a stranger's text).
 */
describe.each(TEST_DIALECTS)('paths the router refuses, on %s', (dialect) => {
  let h: Harness;
  let tenant: TestTenant;
  beforeAll(async () => {
    h = await createHarness(dialect);
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h.close();
  });

  it('answers a malformed %-escape with a 400 problem on the path', async () => {
    for (const url of [
      '/v1/accounts/%E0%A4%A',
      '/v1/connections/%',
      '/v1/users/%zz/password-reset',
    ]) {
      const response = await tenant.admin.request('GET', url);
      expectProblem(response, 400, 'path');
      expect(response.headers['x-request-id']).toBe(response.body.requestId);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('answers a 10 kB id with a 414 problem that does not repeat it', async () => {
    const id = 'x'.repeat(10_000);
    for (const [method, url] of [
      ['GET', `/v1/accounts/${id}`],
      ['DELETE', `/v1/webhooks/${id}`],
      ['POST', `/v1/accounts/${id}/check`],
    ] as const) {
      const response = await tenant.admin.request(method, url);
      expectProblem(response, 414, 'path');
      expect(response.text.length, response.text.slice(0, 300)).toBeLessThan(1_000);
      expect(response.headers['x-request-id']).toBe(response.body.requestId);
    }
  });

  it('still answers an id of exactly 100 characters as an unknown one', async () => {
    const response = await tenant.admin.request('GET', `/v1/accounts/${'x'.repeat(100)}`);
    expectProblem(response, 404);
  });
});
