import { randomBytes } from 'node:crypto';
import { webIdentityAudience, webIdentitySubject } from '@onramp/core';
import type { WebIdentityIssuer } from '../ports/web-identity.ts';

export const FAKE_ISSUER = 'https://onramp.example.test/oidc';

/**
 * A fake of the WebIdentityIssuer port for tests of the services above it: it mints tokens shaped
 * like the real issuer's (header.claims.signature, base64url) but signed by nobody, which the fake AWS
 * reads without verifying. Wire tests use the real issuer and the loopback's STS instead.
 */
export function createFakeWebIdentity(
  options: { issuer?: string | null; unavailableReason?: string; clock?: () => Date } = {},
) {
  const issuer = options.issuer === undefined ? FAKE_ISSUER : options.issuer;
  const clock = options.clock ?? (() => new Date());
  /** Every token minted, oldest first: what a test asserts the service asked for. */
  const minted: { subject: string; audience: string; ttlSeconds: number }[] = [];
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const port: WebIdentityIssuer = {
    issuer,
    unavailableReason:
      issuer === null
        ? (options.unavailableReason ?? 'ONRAMP_PUBLIC_URL is not an https URL.')
        : null,
    // The real issuer's audience and subject, so what the services derive from them is what ships.
    audienceFor: webIdentityAudience,
    subjectFor: webIdentitySubject,
    async mint(input) {
      if (issuer === null) throw new Error('No OpenID Connect issuer is configured.');
      const ttlSeconds = input.ttlSeconds ?? 300;
      minted.push({ subject: input.subject, audience: input.audience, ttlSeconds });
      const iat = Math.floor(clock().getTime() / 1000);
      const header = encode({ alg: 'RS256', kid: 'fake', typ: 'JWT' });
      const claims = encode({
        iss: issuer,
        sub: input.subject,
        aud: input.audience,
        iat,
        nbf: iat,
        exp: iat + ttlSeconds,
        jti: randomBytes(8).toString('hex'),
      });
      return `${header}.${claims}.${randomBytes(16).toString('base64url')}`;
    },
  };
  return { port, minted };
}

export type FakeWebIdentity = ReturnType<typeof createFakeWebIdentity>;
