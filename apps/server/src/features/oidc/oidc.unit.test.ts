import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.ts';
import { issuerUrlProblem, parseS3Url, resolveIssuer } from './issuer-url.ts';
import { oidcFromConfig } from './oidc-from-config.ts';
import type { SigningKeyRow } from './oidc-repository.ts';
import { keyStates } from './oidc-service.ts';

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('the issuer URL', () => {
  it('takes only what AWS accepts for an IAM OIDC provider', () => {
    for (const good of [
      'https://onramp.example.com/oidc',
      'https://oidc.example.com',
      'https://x.example/a/b',
    ]) {
      expect(issuerUrlProblem(good), good).toBeNull();
    }
    const cases: [string, RegExp][] = [
      [
        'http://onramp.example.com/oidc',
        /it is http; AWS accepts only https issuers without a port/,
      ],
      ['https://onramp.example.com:8443/oidc', /it has a port/],
      ['https://onramp.example.com:443/oidc', /it has a port/],
      ['https://onramp.example.com/oidc?x=1', /it has a query/],
      ['https://onramp.example.com/oidc?', /it has a query/],
      ['https://onramp.example.com/oidc#top', /it has a fragment/],
      ['https://onramp.example.com/oidc/', /ends with a slash/],
      ['https://user:pw@onramp.example.com/oidc', /user name or password/],
      ['onramp.example.com', /not a URL/],
      // What core's templates refuse is refused here too, so keyless roles are not offered at all.
      ['https://Onramp.example.com/oidc', /host must be a DNS name in lower case/],
      ['https://localhost/oidc', /host must be a DNS name/],
      ['https://onramp.example.com/o%20idc', /path may contain only/],
      [`https://e.com/${'a'.repeat(260)}`, /longer than 255/],
    ];
    for (const [url, problem] of cases) expect(issuerUrlProblem(url), url).toMatch(problem);
  });

  it('is ONRAMP_OIDC_ISSUER_URL, else the public URL with /oidc, else off with the reason', () => {
    expect(resolveIssuer({ publicUrl: 'https://onramp.example.com/' })).toEqual({
      issuer: 'https://onramp.example.com/oidc',
      unavailableReason: null,
    });
    expect(
      resolveIssuer({
        issuerUrl: 'https://static.example.com/onramp',
        publicUrl: 'http://localhost:8080',
      }),
    ).toEqual({ issuer: 'https://static.example.com/onramp', unavailableReason: null });
    expect(resolveIssuer({ publicUrl: 'https://onramp.example.com:8443' }).unavailableReason).toBe(
      'ONRAMP_PUBLIC_URL is https://onramp.example.com:8443, so the issuer would be https://onramp.example.com:8443/oidc: it has a port; AWS accepts only https issuers without a port, query or fragment. To offer keyless roles, set ONRAMP_PUBLIC_URL to the https address customers reach the platform at, or publish the issuer elsewhere (ONRAMP_OIDC_ISSUER_URL with ONRAMP_OIDC_PUBLISH_DIR or ONRAMP_OIDC_PUBLISH_S3)',
    );
    expect(resolveIssuer({}).unavailableReason).toMatch(/^ONRAMP_PUBLIC_URL is not set/);
  });

  it('publishes to s3://bucket or s3://bucket/prefix', () => {
    expect(parseS3Url('s3://acme-oidc')).toEqual({ bucket: 'acme-oidc', prefix: '' });
    expect(parseS3Url('s3://acme-oidc/a/b/')).toEqual({ bucket: 'acme-oidc', prefix: 'a/b' });
    for (const bad of ['https://acme', 's3://A_B', 's3://acme/../x', 's3://']) {
      expect(parseS3Url(bad), bad).toBeNull();
    }
  });
});

describe('the issuer’s configuration', () => {
  it('has a default for everything', () => {
    const config = loadConfig({});
    expect(oidcFromConfig(config)).toEqual({
      oidc: {
        algorithm: 'RS256',
        rotationMs: 30 * 24 * 3_600_000,
        prePublicationMs: 24 * 3_600_000,
        tokenLifetimeMs: 5 * 60_000,
      },
      oidcPublishers: [],
    });
  });

  it('reads ONRAMP_OIDC_*, with the S3 region from AWS_REGION', () => {
    const config = loadConfig({
      ONRAMP_OIDC_ISSUER_URL: 'https://static.example.com/onramp',
      ONRAMP_OIDC_KEY_ALGORITHM: 'ES256',
      ONRAMP_OIDC_ROTATION_DAYS: '7',
      ONRAMP_OIDC_PRE_PUBLICATION_HOURS: '12',
      ONRAMP_OIDC_TOKEN_MINUTES: '15',
      ONRAMP_OIDC_PUBLISH_DIR: '/srv/oidc',
      ONRAMP_OIDC_PUBLISH_S3: 's3://acme-oidc/onramp',
      AWS_REGION: 'eu-west-1',
    });
    const { oidc, oidcPublishers } = oidcFromConfig(config);
    expect(oidc).toEqual({
      issuerUrl: 'https://static.example.com/onramp',
      algorithm: 'ES256',
      rotationMs: 7 * 24 * 3_600_000,
      prePublicationMs: 12 * 3_600_000,
      tokenLifetimeMs: 15 * 60_000,
    });
    expect(oidcPublishers.map((p) => p.target)).toEqual(['dir:/srv/oidc', 's3://acme-oidc/onramp']);
    expect(config.oidcPublishS3Region).toBe('eu-west-1');
  });

  it('refuses a malformed issuer URL and impossible periods at start-up, naming the variable', () => {
    const problems = problemsOf({
      ONRAMP_OIDC_ISSUER_URL: 'https://static.example.com:8443/onramp',
      ONRAMP_OIDC_KEY_ALGORITHM: 'HS256',
      ONRAMP_OIDC_TOKEN_MINUTES: '61',
      ONRAMP_OIDC_ROTATION_DAYS: '1',
      ONRAMP_OIDC_PRE_PUBLICATION_HOURS: '24',
      ONRAMP_OIDC_PUBLISH_S3: 'https://bucket',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'ONRAMP_OIDC_ISSUER_URL: https://static.example.com:8443/onramp: it has a port; AWS accepts only https issuers without a port, query or fragment',
        expect.stringMatching(/^ONRAMP_OIDC_KEY_ALGORITHM: /),
        expect.stringMatching(/^ONRAMP_OIDC_TOKEN_MINUTES: /),
        expect.stringMatching(/^ONRAMP_OIDC_PUBLISH_S3: use s3:\/\/bucket/),
        expect.stringMatching(
          /^ONRAMP_OIDC_PRE_PUBLICATION_HOURS: 24 hours is not shorter than the rotation period/,
        ),
      ]),
    );
    expect(problemsOf({ ONRAMP_OIDC_PUBLISH_S3: 's3://acme' })).toEqual([
      expect.stringMatching(/^ONRAMP_OIDC_PUBLISH_S3_REGION: required/),
    ]);
    // An http public URL is no error: Onramp runs, without keyless roles.
    expect(problemsOf({ ONRAMP_PUBLIC_URL: 'http://localhost:8080' })).toEqual([]);
  });
});

describe('key states', () => {
  const key = (generation: number, signsFrom: string): SigningKeyRow => ({
    kid: `k${generation}`,
    generation,
    algorithm: 'ES256',
    publicJwk: {},
    createdAt: '2026-01-01T00:00:00.000Z',
    signsFrom,
    retiredAt: null,
    unpublishAt: null,
    createdBy: null,
  });
  const at = (iso: string) => new Date(iso);
  const LIFETIME = 5 * 60_000;

  it('follow from the keys alone: next, signing, retired until its tokens and the skew are over', () => {
    const rows = [key(1, '2026-01-01T00:00:00.000Z'), key(2, '2026-01-02T00:00:00.000Z')];
    const before = keyStates(rows, at('2026-01-01T23:59:59.999Z'), LIFETIME);
    expect(before.map((s) => [s.state, s.published])).toEqual([
      ['signing', true],
      ['next', true],
    ]);
    const after = keyStates(rows, at('2026-01-02T00:00:00.000Z'), LIFETIME);
    expect(after.map((s) => [s.state, s.retiredAt, s.unpublishAt, s.unrecorded])).toEqual([
      ['retired', '2026-01-02T00:00:00.000Z', '2026-01-02T00:10:00.000Z', true],
      ['signing', null, null, false],
    ]);
    expect(keyStates(rows, at('2026-01-02T00:10:00.000Z'), LIFETIME)[0]?.published).toBe(false);
  });

  it('keep signing on a replica whose clock is behind the one that recorded the retirement', () => {
    const recorded = {
      ...key(1, '2026-01-01T00:00:00.000Z'),
      retiredAt: '2026-01-02T00:00:00.000Z',
      unpublishAt: '2026-01-02T00:10:00.000Z',
    };
    const rows = [recorded, key(2, '2026-01-02T00:00:00.000Z')];
    // One second behind: key 2 has not begun signing here, so key 1 is still the one that signs.
    const behind = keyStates(rows, at('2026-01-01T23:59:59.000Z'), LIFETIME);
    expect(behind.map((s) => [s.state, s.published])).toEqual([
      ['signing', true],
      ['next', true],
    ]);
    const caughtUp = keyStates(rows, at('2026-01-02T00:00:00.000Z'), LIFETIME);
    expect(caughtUp.map((s) => s.state)).toEqual(['retired', 'signing']);
  });

  it('retire a waiting key an immediate rotation overtook: it never signs', () => {
    const rows = [
      key(1, '2026-01-01T00:00:00.000Z'),
      key(2, '2026-01-03T00:00:00.000Z'),
      key(3, '2026-01-02T00:00:00.000Z'),
    ];
    const later = keyStates(rows, at('2026-01-04T00:00:00.000Z'), LIFETIME);
    expect(later.map((s) => s.state)).toEqual(['retired', 'retired', 'signing']);
    expect(later[1]?.retiredAt).toBe('2026-01-02T00:00:00.000Z');
  });
});
