import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

const PUBLIC_URL = 'https://onramp.example.test';
const ISSUER = `${PUBLIC_URL}/oidc`;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe.each(TEST_DIALECTS)('the OpenID Connect issuer on %s', (dialect) => {
  let h: Harness;
  let tenant: TestTenant;
  const now = Date.parse('2026-12-01T10:00:00.000Z');

  beforeAll(async () => {
    h = await createHarness(dialect, {
      publicUrl: PUBLIC_URL,
      clock: () => new Date(now),
      oidc: {
        algorithm: 'ES256',
        rotationMs: 10 * HOUR,
        prePublicationMs: 2 * HOUR,
        tokenLifetimeMs: 5 * MINUTE,
      },
    });
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const served = async (): Promise<JSONWebKeySet> => {
    const response = await h.anonymous.request('GET', '/oidc/jwks.json');
    expectStatus(response, 200);
    return response.body;
  };
  const kids = async () => (await served()).keys.map((k) => k.kid);
  const mint = () =>
    h.services.webIdentity.mint({
      subject: h.services.webIdentity.subjectFor(tenant.id, 'con_test'),
      audience: 'sts.amazonaws.com',
    });
  /** Verifies as AWS does: against the JWKS served now, at the clock's time. */
  const verify = async (token: string) =>
    jwtVerify(token, createLocalJWKSet(await served()), {
      issuer: ISSUER,
      audience: 'sts.amazonaws.com',
      currentDate: new Date(now),
    });

  it('serves a discovery document naming the JWKS, cacheable for a short while', async () => {
    const response = await h.anonymous.request('GET', '/oidc/.well-known/openid-configuration');
    expectStatus(response, 200);
    expect(response.headers['cache-control']).toBe('public, max-age=300');
    expect(response.body).toEqual({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      claims_supported: ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'],
    });
    const jwks = await h.anonymous.request('GET', '/oidc/jwks.json');
    expect(jwks.headers['cache-control']).toBe('public, max-age=300');
    expect(String(jwks.headers['content-type'])).toContain('application/json');
  });

  it('mints tokens that verify against the served JWKS, with every claim AWS reads', async () => {
    const token = await mint();
    const header = decodeProtectedHeader(token);
    const { payload } = await verify(token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(await kids()).toContain(header.kid);
    expect(payload).toMatchObject({
      iss: ISSUER,
      aud: 'sts.amazonaws.com',
      sub: `tenant:${tenant.id}:connection:con_test`,
      iat: Math.floor(now / 1000),
      nbf: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + 300,
    });
    expect(payload.jti).toMatch(/^[\w-]{20,}$/);
    expect((await verify(await mint())).payload.jti).not.toBe(payload.jti);
    // Published keys are public keys only.
    for (const key of (await served()).keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    }
  });

  it('caps a token at the configured lifetime', async () => {
    const long = await h.services.webIdentity.mint({
      subject: 'tenant:t:connection:c',
      audience: 'sts.amazonaws.com',
      ttlSeconds: 3600,
    });
    const { payload } = await verify(long);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
  });
});

describe.each(TEST_DIALECTS)('without an issuer AWS accepts, on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(dialect, { publicUrl: 'http://localhost:8080' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('offers no keyless roles and says why', async () => {
    expect(h.services.webIdentity.issuer).toBeNull();
    expect(h.services.webIdentity.unavailableReason).toMatch(
      /^ONRAMP_PUBLIC_URL is http:\/\/localhost:8080, so the issuer would be http:\/\/localhost:8080\/oidc: it is http; AWS accepts only https issuers without a port/,
    );
    await expect(
      h.services.webIdentity.mint({ subject: 's', audience: 'sts.amazonaws.com' }),
    ).rejects.toThrow(/keyless roles are not offered/);
    for (const path of ['/oidc/.well-known/openid-configuration', '/oidc/jwks.json']) {
      const response = await h.anonymous.request('GET', path);
      expectProblem(response, 404);
      expect(response.body.detail).toContain('keyless roles are off');
      expect(response.text).not.toContain('localhost');
    }
  });
});

describe('beside the console', () => {
  let h: Harness;
  let consoleRoot: string;
  beforeAll(async () => {
    consoleRoot = mkdtempSync(join(tmpdir(), 'onramp-console-'));
    writeFileSync(join(consoleRoot, 'index.html'), '<!doctype html><title>Onramp</title>');
    h = await createHarness('sqlite', { publicUrl: PUBLIC_URL, consoleRoot });
  });
  afterAll(async () => {
    await h?.close();
    rmSync(consoleRoot, { recursive: true, force: true });
  });

  it('serves JSON, never the console’s page, under /oidc; an unknown path there is a 404 problem', async () => {
    for (const path of ['/oidc/.well-known/openid-configuration', '/oidc/jwks.json']) {
      const response = await h.anonymous.request('GET', path);
      expectStatus(response, 200);
      expect(String(response.headers['content-type']), path).toContain('application/json');
      expect(response.headers['cache-control'], path).toBe('public, max-age=300');
      expect(String(response.headers['content-security-policy']), path).toContain(
        "default-src 'none'",
      );
    }
    for (const path of ['/oidc', '/oidc/keys', '/oidc/.well-known/jwks.json']) {
      expectProblem(await h.anonymous.request('GET', path), 404);
    }
    // A stray credential does not stand between AWS and the documents.
    const withBadToken = await h.send('GET', '/oidc/jwks.json', {
      authorization: 'Bearer onr_not_a_token',
    });
    expectStatus(withBadToken, 200);
  });
});
