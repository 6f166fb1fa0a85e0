import type { PartitionId } from '@onramp/core';

/**
 * Onramp as an OpenID Connect issuer, as the features that use keyless roles (`oidc_role`) see it.
 * The issuer feature (features/oidc) implements it over signing keys kept in the database; only
 * Onramp's own services mint tokens, and no route hands one out.
 */
export interface WebIdentityIssuer {
  /**
   * The issuer URL roles trust (https, no port, no query), or null when keyless roles are not offered
   * (no public https URL configured): `unavailableReason` then says why.
   */
  readonly issuer: string | null;
  readonly unavailableReason: string | null;
  /** The audience AWS expects in a partition: `sts.amazonaws.com`, `sts.amazonaws.com.cn` in aws-cn. */
  audienceFor(partition: PartitionId): string;
  /** The subject of a connection's tokens, made of ids the tenant cannot choose or rename. */
  subjectFor(tenantId: string, connectionId: string): string;
  /**
   * A signed token (`kid` in its header; iss, aud, sub, iat, nbf, exp, jti) for one
   * AssumeRoleWithWebIdentity call. Lifetime: a few minutes (the issuer's default) unless shorter.
   * Rejects when no issuer is configured.
   */
  mint(input: { subject: string; audience: string; ttlSeconds?: number }): Promise<string>;
}
