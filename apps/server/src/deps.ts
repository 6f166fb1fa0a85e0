import type { ActionIndex, Catalog, PartitionId } from '@onramp/core';
import type { FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { Envelope } from './adapters/crypto/envelope.ts';
import type { Dialect } from './adapters/db/database.ts';
import type { Database } from './adapters/db/schema.ts';
import type { TrustProxy } from './config.ts';
import type { SignInLimits } from './features/auth/auth-routes.ts';
import type { BrandConfig } from './features/branding/brand-config.ts';
import type { HealthSettings } from './features/health/health-service.ts';
import type { MetricsRegistry } from './features/metrics/metrics-registry.ts';
import type { OidcLog, OidcSettings } from './features/oidc/oidc-service.ts';
import type { CollectionCaps } from './features/tenants/collection-caps.ts';
import type { WebhookSettings } from './features/webhooks/webhooks-service.ts';
import type { HttpLimits } from './http/connection-limits.ts';
import type { AwsGateway } from './ports/aws-gateway.ts';
import type { HubIdentity } from './ports/hubs.ts';
import type { OidcPublisher } from './ports/oidc-publisher.ts';
import type { TemplateStore } from './ports/template-store.ts';
import type { WebIdentityIssuer } from './ports/web-identity.ts';

/**
 * What the service graph is built from: the adapters main.ts (or a test harness) makes, and the
 * operator's settings. Types only; wiring.ts is where they are put together.
 */
export interface AppDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  /** Partitions with a configured hub identity; the others offer access keys only. */
  hubs: Partial<Record<PartitionId, HubIdentity>>;
  envelope: Envelope;
  aws: AwsGateway;
  /**
   * A stand-in for Onramp's OpenID Connect issuer (tests with the fake AWS); absent, wiring.ts builds
   * the real one from `oidc` and hands it to the features as `webIdentity`.
   */
  webIdentity?: WebIdentityIssuer;
  clock: () => Date;
  randomBytes: (size: number) => Uint8Array;
  /** AWS's published action list: expands the bundles' wildcards for permission checks. */
  actions: ActionIndex;
  /** Waits between AWS retries (IAM propagation); injected so tests do not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Where Onramp is reachable from browsers and CloudFormation; undefined on a laptop. */
  publicUrl?: string;
  /**
   * Onramp's OpenID Connect issuer for keyless roles (ONRAMP_OIDC_*; every setting has a default).
   * wiring.ts builds the issuer from these and hands it to the features as `webIdentity`
   * (ports/web-identity.ts): the one issuer whose keys the served JWKS lists.
   */
  oidc?: OidcSettings;
  /** Where the issuer's documents are copied for an Onramp AWS cannot reach (a directory, S3). */
  oidcPublishers?: readonly OidcPublisher[];
  /** Where the issuer logs its publishing (the app's logger in main.ts). */
  oidcLog?: OidcLog;
  /** Publishes quick-create templates to Amazon S3; without it there are no quick-create links. */
  templates?: TemplateStore;
  /** The template bucket of each partition that has one (quick-create is offered only there). */
  templateBuckets?: Partial<Record<PartitionId, string>>;
  /** How long a stack's call-back token stays good before it connects a role. Default 24 hours. */
  callbackTokenHours?: number;
  /**
   * Behind a TLS-terminating proxy: mark cookies Secure and trust X-Forwarded-* from these proxies
   * only (a number of hops, or their addresses and networks; see config.ts). Default: no proxy.
   */
  trustProxy?: TrustProxy;
  /** Sign-in attempts allowed per 15 minutes (defaults: 10 per email and address, 30, 50). */
  signInLimits?: SignInLimits;
  /** Minutes a console session may stay unused (default 30); its absolute lifetime stays 12 hours. */
  sessionIdleMinutes?: number;
  /** How long a password reset link stays good unused. Default 24 hours. */
  passwordResetHours?: number;
  /** Days a pending connection can be resumed after its last change. Default 14. */
  pendingConnectionDays?: number;
  /** Days a regenerated external ID's predecessor stays accepted in templates. Default 7. */
  externalIdGraceDays?: number;
  /** Health monitoring: how often and how fast accounts are re-checked (defaults: 6 h, 8, 10/s). */
  healthSettings?: HealthSettings;
  /** Organizations: how often discovery runs (default 60 min), how many enrollments at once (8). */
  organizationSettings?: { discoveryMinutes?: number; enrollConcurrency?: number };
  /** Webhook delivery: private addresses allowed?, the resolver, the timeout. */
  webhookSettings?: WebhookSettings;
  /** How many of each collection a tenant or the operator may create (features/tenants/collection-caps.ts). */
  collectionCaps?: Partial<CollectionCaps>;
  logger?: FastifyServerOptions['logger'];
  /** Checked by /readyz beyond the database (e.g. that migrations ran). */
  isReady?: () => Promise<boolean>;
  /**
   * Where every feature and background job records its metrics (served at /metrics). buildApp makes
   * one if absent, which the jobs then do not share: main.ts passes one to both.
   */
  metrics?: MetricsRegistry;
  /** When set, GET /metrics wants `Authorization: Bearer <metricsToken>`; otherwise it is open. */
  metricsToken?: string;
  /**
   * The brand and return-URL allow-list set by configuration (ONRAMP_BRAND_*,
   * ONRAMP_CONNECT_RETURN_URLS), read and checked once by main.ts; they win over the settings page.
   */
  brandConfig?: BrandConfig;
  /** The built console (apps/web/dist), served at `/` when given and present. */
  consoleRoot?: string;
  /** Request, header and idle timeouts and connection caps (defaults: DEFAULT_HTTP_LIMITS). */
  httpLimits?: HttpLimits;
  /** How long a hosted connect link works by default, in minutes (default 60). */
  connectSessionMinutes?: number;
}
