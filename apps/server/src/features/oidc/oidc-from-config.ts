import { createS3OidcPublisher } from '../../adapters/aws/sdk-oidc-publisher.ts';
import type { Config } from '../../config.ts';
import type { OidcPublisher } from '../../ports/oidc-publisher.ts';
import { createDirectoryOidcPublisher } from './directory-publisher.ts';
import { parseS3Url } from './issuer-url.ts';
import type { OidcSettings } from './oidc-service.ts';

/**
 * The issuer's settings and publish targets from the configuration (ONRAMP_OIDC_*): one reading for
 * the server (main.ts) and `onramp oidc rotate`, so a key the command makes is published where the
 * server publishes. config.ts has already refused a malformed issuer or S3 URL.
 */
export function oidcFromConfig(config: Config): {
  oidc: OidcSettings;
  oidcPublishers: OidcPublisher[];
} {
  const oidcPublishers: OidcPublisher[] = [];
  if (config.oidcPublishDir)
    oidcPublishers.push(createDirectoryOidcPublisher(config.oidcPublishDir));
  const s3 = config.oidcPublishS3 ? parseS3Url(config.oidcPublishS3) : null;
  if (s3 && config.oidcPublishS3Region) {
    oidcPublishers.push(createS3OidcPublisher({ ...s3, region: config.oidcPublishS3Region }));
  }
  return {
    oidc: {
      ...(config.oidcIssuerUrl ? { issuerUrl: config.oidcIssuerUrl } : {}),
      algorithm: config.oidcKeyAlgorithm,
      rotationMs: config.oidcRotationDays * 24 * 3_600_000,
      prePublicationMs: config.oidcPrePublicationHours * 3_600_000,
      tokenLifetimeMs: config.oidcTokenMinutes * 60_000,
    },
    oidcPublishers,
  };
}
