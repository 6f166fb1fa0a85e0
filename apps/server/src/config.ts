import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { PARTITION_IDS, type PartitionId } from '@onramp/core';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { issuerUrlProblem, parseS3Url } from './features/oidc/issuer-url.ts';

/**
 * Everything Onramp reads from its environment, parsed once at start-up by one schema. Every problem is
 * reported together and the process refuses to start; there is no default for any secret (the local
 * master key is generated into the data directory on first start, and only for the embedded SQLite
 * set-up, where one process owns the data).
 */
const hubSchema = z.object({
  /** The principal customers' roles trust, shown to tenants: an account ID or a role/user ARN. */
  principalArn: z.string().min(1),
  /** Where the hub's own credentials come from: the SDK's default chain, a named profile, or keys. */
  credentials: z
    .discriminatedUnion('source', [
      z.object({ source: z.literal('default-chain') }),
      z.object({ source: z.literal('profile'), profile: z.string().min(1) }),
      z.object({
        source: z.literal('keys'),
        accessKeyId: z.string().min(16),
        secretAccessKey: z.string().min(16),
      }),
    ])
    .default({ source: 'default-chain' }),
});

export type HubConfig = z.infer<typeof hubSchema>;

const configSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Where Onramp tells browsers and CloudFormation callbacks to reach it. */
  publicUrl: z.url().optional(),
  dataDir: z.string().min(1).default('./data'),
  /** postgres://… to run on PostgreSQL; otherwise SQLite in the data directory. */
  databaseUrl: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, 'use postgres://… or sqlite:PATH')
    .optional(),
  /** A JSON keyring file ({ keys: [{ id, key }] }) shared by every replica. */
  masterKeyFile: z.string().min(1).optional(),
  catalogFile: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Behind a TLS-terminating proxy: mark cookies Secure and take the client's address from
   * X-Forwarded-For, but only as far as proxies we trust put it there (see parseTrustProxy).
   */
  trustProxy: z
    .unknown()
    .optional()
    .transform((value, ctx): TrustProxy => {
      const parsed = parseTrustProxy(value);
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', message: parsed });
        return z.NEVER;
      }
      return parsed;
    }),
  /** Sign-in attempts per 15 minutes: for one email from one address, from one address, for one email. */
  signInLimitPerAccountAndAddress: z.coerce.number().int().min(1).max(1000).default(10),
  signInLimitPerAddress: z.coerce.number().int().min(1).max(10_000).default(30),
  signInLimitPerAccount: z.coerce.number().int().min(1).max(10_000).default(50),
  /** A console session unused this long is over (its absolute lifetime is 12 hours). */
  sessionIdleMinutes: z.coerce.number().int().min(5).max(720).default(30),
  hubs: z.partialRecord(z.enum(PARTITION_IDS), hubSchema).default({}),
  /**
   * A private S3 bucket per partition for quick-create templates (the AWS console fetches them only
   * from S3 in the partition's own region): written and signed with the partition's hub credentials.
   */
  templateBuckets: z
    .partialRecord(
      z.enum(PARTITION_IDS),
      z
        .string()
        .regex(
          /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
          'an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens',
        ),
    )
    .default({}),
  /** How long a stack's call-back token stays good before it connects a role. */
  callbackTokenHours: z.coerce.number().int().min(1).max(720).default(24),
  /** Days a pending connection (a role set-up not yet connected) can be resumed after its last change. */
  pendingConnectionDays: z.coerce.number().int().min(1).max(365).default(14),
  /** Days a regenerated external ID’s predecessor stays in the templates’ trust policy (0: until Onramp uses the new one). */
  externalIdGraceDays: z.coerce.number().int().min(0).max(365).default(7),
  /** How long a password reset link an admin makes stays good unused. */
  passwordResetHours: z.coerce.number().int().min(1).max(168).default(24),
  /** Every account is re-validated this often (spread with jitter). */
  healthIntervalMinutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(360),
  /** Health checks run side by side, per replica. */
  healthConcurrency: z.coerce.number().int().min(1).max(100).default(8),
  /** Health checks started per second in each partition, per replica. */
  healthRatePerSecond: z.coerce.number().positive().max(1000).default(10),
  /** Every organization's accounts and OU tree are discovered again this often (and on demand). */
  organizationDiscoveryMinutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
  /** Member accounts validated side by side by the enrollment worker, per replica. */
  organizationEnrollConcurrency: z.coerce.number().int().min(1).max(100).default(8),
  /** How long a hosted connect session's link works unless its maker asks otherwise (minutes). */
  connectSessionMinutes: z.coerce.number().int().min(5).max(1440).default(60),
  /**
   * Where hosted connect sessions may send the browser back: origins or URL prefixes, comma-separated
   * (`https://app.acme.example,https://staging.acme.example/aws`). The operator's settings add more.
   */
  connectReturnUrls: z
    .string()
    .optional()
    .transform((value) =>
      (value ?? '')
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url !== ''),
    ),
  /** The platform's product name, as customers see it (default: the catalog's `platform`). */
  brandName: z.string().trim().min(1).max(60).optional(),
  /** A PNG, JPEG or WebP file of the platform's logo (at most 256 KiB). */
  brandLogoFile: z.string().min(1).optional(),
  brandPrimaryColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb')
    .optional(),
  brandAccentColor: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb')
    .optional(),
  /** Where customers get help: an https URL or mailto:. */
  brandSupportUrl: z.string().min(1).max(2048).optional(),
  /**
   * Caps on what callers can create (a tenant's limits may replace the first four for that tenant):
   * pending connections, webhook endpoints and live API tokens per tenant (and the operator's own),
   * users per tenant, and tenants.
   */
  maxPendingConnections: z.coerce.number().int().min(1).max(100_000).default(100),
  maxWebhooks: z.coerce.number().int().min(1).max(100_000).default(20),
  maxTokens: z.coerce.number().int().min(1).max(100_000).default(100),
  maxUsers: z.coerce.number().int().min(1).max(100_000).default(1000),
  maxTenants: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** Let webhook endpoints resolve to private, loopback or link-local addresses (labs and tests). */
  webhooksAllowPrivate: z.stringbool().default(false),
  /** When set, GET /metrics wants it as a bearer token; without it /metrics is open. */
  metricsToken: z.string().min(16, 'use at least 16 characters').optional(),
  /**
   * The federation endpoint for console links (AWS_ENDPOINT_URL_SIGNIN, as the SDK's own variables
   * name other services; AWS_ENDPOINT_URL when only that is set). Default: the partition's sign-in host.
   */
  signinEndpoint: z.url().optional(),
  /**
   * The issuer URL of keyless roles when the documents are published elsewhere (a static host, S3):
   * https, no port, query, fragment or trailing slash, as AWS wants it. Default: ONRAMP_PUBLIC_URL +
   * `/oidc`, served by Onramp itself.
   */
  oidcIssuerUrl: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      const problem = value === undefined ? null : issuerUrlProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: `${value}: ${problem}` });
    }),
  /** How the issuer signs: RS256 or ES256 (AWS accepts both). */
  oidcKeyAlgorithm: z.enum(['RS256', 'ES256']).default('RS256'),
  /** Days a signing key signs before the next one replaces it. */
  oidcRotationDays: z.coerce.number().positive().max(365).default(30),
  /** Hours the next key is in the JWKS before it signs (AWS may cache the JWKS meanwhile). */
  oidcPrePublicationHours: z.coerce.number().positive().max(720).default(24),
  /** Minutes a token is good for: long enough for one AssumeRoleWithWebIdentity call. */
  oidcTokenMinutes: z.coerce.number().int().min(1).max(60).default(5),
  /** A directory to copy the issuer's documents into, for a static web server to serve. */
  oidcPublishDir: z.string().min(1).optional(),
  /** `s3://bucket/prefix` to copy the issuer's documents to. */
  oidcPublishS3: z
    .string()
    .refine((value) => parseS3Url(value) !== null, 'use s3://bucket or s3://bucket/prefix')
    .optional(),
  /** The region of the ONRAMP_OIDC_PUBLISH_S3 bucket (default: AWS_REGION). */
  oidcPublishS3Region: z.string().min(1).optional(),
  /** How long a query waits for a PostgreSQL connection before it fails with 503 (an outage). */
  databaseConnectTimeoutSeconds: z.coerce.number().positive().max(300).default(5),
  /** A request's headers and body must have arrived within this; a slower one gets 408 and is closed. */
  httpRequestTimeoutSeconds: z.coerce.number().positive().max(3600).default(30),
  /** A request's headers must have arrived within this (at most the request timeout). */
  httpHeadersTimeoutSeconds: z.coerce.number().positive().max(3600).default(10),
  /**
   * A connection with no traffic either way is closed after this. Longer than the slowest response:
   * validating a new role waits up to about a minute for IAM to propagate.
   */
  httpIdleTimeoutSeconds: z.coerce.number().positive().max(3600).default(120),
  /** An idle keep-alive connection is closed after this: longer than a load balancer's (60 s on ALB). */
  httpKeepAliveTimeoutSeconds: z.coerce.number().positive().max(3600).default(72),
  /** Open connections at most; keep it under the process's file-descriptor limit (ulimit -n). */
  httpMaxConnections: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** Open connections at most from one client address (an IPv6 /64); 0 for no cap. */
  httpMaxConnectionsPerAddress: z.coerce.number().int().min(0).max(1_000_000).default(256),
  /**
   * On SIGTERM or SIGINT, how long in-flight requests and background jobs may take to finish before
   * Onramp gives their claims back and exits anyway (with status 1).
   */
  shutdownSeconds: z.coerce.number().positive().max(3600).default(10),
});

/**
 * Which proxies may tell Onramp the client's address: none (false), the nearest N hops (each proxy
 * appends the address it saw to X-Forwarded-For, so the Nth entry from the right is the one the
 * outermost trusted proxy saw), or the proxies at these addresses and networks. `true` means exactly
 * one hop. Trusting every hop would let a client write its own address into the leftmost entry, so
 * neither a catch-all network nor more than 10 hops is accepted. Returns the problem as a string.
 */
export type TrustProxy = false | number | string[];
const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
export function parseTrustProxy(value: unknown): TrustProxy | string {
  const usage =
    'use false, true (one proxy hop), a number of hops (1 to 10), or a comma-separated list of proxy addresses and networks (10.0.0.0/8, 2001:db8::/32, loopback)';
  if (value === undefined || value === false || value === 0) return false;
  if (value === true) return 1;
  if (typeof value === 'number')
    return Number.isInteger(value) && value >= 1 && value <= 10 ? value : usage;
  const entries = (
    Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [value]
  ).map((e) => (typeof e === 'string' ? e.trim() : e));
  if (entries.length === 1 && typeof entries[0] === 'string') {
    const single = entries[0].toLowerCase();
    if (['false', 'no', 'off', '0'].includes(single)) return false;
    if (['true', 'yes', 'on'].includes(single)) return 1;
    if (/^\d+$/.test(single)) return parseTrustProxy(Number(single));
  }
  const problems: string[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'string' || entry === '') {
      problems.push('an empty entry');
      continue;
    }
    if (PROXY_NAMES.includes(entry)) continue;
    const [address = '', prefix, extra] = entry.split('/');
    const version = isIP(address);
    const bits = version === 4 ? 32 : 128;
    if (!version || extra !== undefined) problems.push(`${entry} is no IP address or network`);
    else if (prefix !== undefined && !/^\d+$/.test(prefix))
      problems.push(`${entry} has no prefix length`);
    else if (prefix !== undefined && (Number(prefix) < 1 || Number(prefix) > bits))
      problems.push(
        Number(prefix) === 0
          ? `${entry} would trust every address, so any client could choose its own`
          : `${entry}: the prefix length is 1 to ${bits}`,
      );
  }
  return problems.length ? `${problems.join('; ')}: ${usage}` : (entries as string[]);
}

/** Rules across fields, checked even when other fields are wrong, so every problem is listed at once. */
function crossFieldProblems(merged: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const url = typeof merged.databaseUrl === 'string' ? merged.databaseUrl : '';
  if (url.startsWith('postgres') && !merged.masterKeyFile) {
    problems.push(
      'ONRAMP_MASTER_KEY_FILE: required with PostgreSQL: every replica must open the same secrets, so the keyring cannot be generated per process.',
    );
  }
  const hubs = (merged.hubs ?? {}) as Record<string, unknown>;
  for (const partition of Object.keys((merged.templateBuckets ?? {}) as object)) {
    if (PARTITION_IDS.includes(partition as PartitionId) && !hubs[partition]) {
      problems.push(
        `${templateBucketEnvName(partition as PartitionId)}: needs the partition's hub identity (${hubEnvPrefix(partition as PartitionId)}PRINCIPAL_ARN): its credentials write the templates and sign their URLs.`,
      );
    }
  }
  const rotationHours = Number(merged.oidcRotationDays ?? 30) * 24;
  const prePublicationHours = Number(merged.oidcPrePublicationHours ?? 24);
  if (prePublicationHours >= rotationHours) {
    problems.push(
      `ONRAMP_OIDC_PRE_PUBLICATION_HOURS: ${prePublicationHours} hours is not shorter than the rotation period (ONRAMP_OIDC_ROTATION_DAYS, ${rotationHours} hours): the next key must be published before it is due to sign.`,
    );
  }
  if (merged.oidcPublishS3 && !merged.oidcPublishS3Region) {
    problems.push(
      'ONRAMP_OIDC_PUBLISH_S3_REGION: required with ONRAMP_OIDC_PUBLISH_S3 (or set AWS_REGION): the bucket’s region.',
    );
  }
  return problems;
}

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Onramp cannot start; its configuration has ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigError';
  }
}

const ENV_NAMES: Record<string, string> = {
  host: 'HOST',
  port: 'PORT',
  publicUrl: 'ONRAMP_PUBLIC_URL',
  dataDir: 'ONRAMP_DATA_DIR',
  databaseUrl: 'DATABASE_URL',
  masterKeyFile: 'ONRAMP_MASTER_KEY_FILE',
  catalogFile: 'ONRAMP_CATALOG_FILE',
  logLevel: 'ONRAMP_LOG_LEVEL',
  trustProxy: 'ONRAMP_TRUST_PROXY',
  signInLimitPerAccountAndAddress: 'ONRAMP_SIGN_IN_LIMIT_PER_ACCOUNT_AND_ADDRESS',
  signInLimitPerAddress: 'ONRAMP_SIGN_IN_LIMIT_PER_ADDRESS',
  signInLimitPerAccount: 'ONRAMP_SIGN_IN_LIMIT_PER_ACCOUNT',
  sessionIdleMinutes: 'ONRAMP_SESSION_IDLE_MINUTES',
  callbackTokenHours: 'ONRAMP_CALLBACK_TOKEN_HOURS',
  passwordResetHours: 'ONRAMP_PASSWORD_RESET_HOURS',
  pendingConnectionDays: 'ONRAMP_PENDING_CONNECTION_DAYS',
  externalIdGraceDays: 'ONRAMP_EXTERNAL_ID_GRACE_DAYS',
  healthIntervalMinutes: 'ONRAMP_HEALTH_INTERVAL_MINUTES',
  healthConcurrency: 'ONRAMP_HEALTH_CONCURRENCY',
  healthRatePerSecond: 'ONRAMP_HEALTH_RATE_PER_SECOND',
  organizationDiscoveryMinutes: 'ONRAMP_ORGANIZATION_DISCOVERY_MINUTES',
  organizationEnrollConcurrency: 'ONRAMP_ORGANIZATION_ENROLL_CONCURRENCY',
  connectSessionMinutes: 'ONRAMP_CONNECT_SESSION_MINUTES',
  connectReturnUrls: 'ONRAMP_CONNECT_RETURN_URLS',
  brandName: 'ONRAMP_BRAND_NAME',
  brandLogoFile: 'ONRAMP_BRAND_LOGO_FILE',
  brandPrimaryColor: 'ONRAMP_BRAND_PRIMARY_COLOR',
  brandAccentColor: 'ONRAMP_BRAND_ACCENT_COLOR',
  brandSupportUrl: 'ONRAMP_BRAND_SUPPORT_URL',
  maxPendingConnections: 'ONRAMP_MAX_PENDING_CONNECTIONS',
  maxWebhooks: 'ONRAMP_MAX_WEBHOOKS',
  maxTokens: 'ONRAMP_MAX_TOKENS',
  maxUsers: 'ONRAMP_MAX_USERS',
  maxTenants: 'ONRAMP_MAX_TENANTS',
  webhooksAllowPrivate: 'ONRAMP_WEBHOOKS_ALLOW_PRIVATE',
  metricsToken: 'ONRAMP_METRICS_TOKEN',
  oidcIssuerUrl: 'ONRAMP_OIDC_ISSUER_URL',
  oidcKeyAlgorithm: 'ONRAMP_OIDC_KEY_ALGORITHM',
  oidcRotationDays: 'ONRAMP_OIDC_ROTATION_DAYS',
  oidcPrePublicationHours: 'ONRAMP_OIDC_PRE_PUBLICATION_HOURS',
  oidcTokenMinutes: 'ONRAMP_OIDC_TOKEN_MINUTES',
  oidcPublishDir: 'ONRAMP_OIDC_PUBLISH_DIR',
  oidcPublishS3: 'ONRAMP_OIDC_PUBLISH_S3',
  oidcPublishS3Region: 'ONRAMP_OIDC_PUBLISH_S3_REGION',
  databaseConnectTimeoutSeconds: 'ONRAMP_DATABASE_CONNECT_TIMEOUT_SECONDS',
  httpRequestTimeoutSeconds: 'ONRAMP_HTTP_REQUEST_TIMEOUT_SECONDS',
  httpHeadersTimeoutSeconds: 'ONRAMP_HTTP_HEADERS_TIMEOUT_SECONDS',
  httpIdleTimeoutSeconds: 'ONRAMP_HTTP_IDLE_TIMEOUT_SECONDS',
  httpKeepAliveTimeoutSeconds: 'ONRAMP_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS',
  httpMaxConnections: 'ONRAMP_HTTP_MAX_CONNECTIONS',
  httpMaxConnectionsPerAddress: 'ONRAMP_HTTP_MAX_CONNECTIONS_PER_ADDRESS',
  shutdownSeconds: 'ONRAMP_SHUTDOWN_SECONDS',
};

/** `ONRAMP_HUB_AWS_US_GOV_PRINCIPAL_ARN` ↔ hubs['aws-us-gov'].principalArn, and so on. */
function hubEnvPrefix(partition: PartitionId): string {
  return `ONRAMP_HUB_${partition.toUpperCase().replace(/-/g, '_')}_`;
}

/** `ONRAMP_TEMPLATE_BUCKET_AWS_US_GOV` ↔ templateBuckets['aws-us-gov']. */
function templateBucketEnvName(partition: PartitionId): string {
  return `ONRAMP_TEMPLATE_BUCKET_${partition.toUpperCase().replace(/-/g, '_')}`;
}

function readTemplateBucketsFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const buckets: Record<string, string> = {};
  for (const partition of PARTITION_IDS) {
    const bucket = env[templateBucketEnvName(partition)];
    if (bucket) buckets[partition] = bucket;
  }
  return buckets;
}

function readHubsFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const hubs: Record<string, unknown> = {};
  for (const partition of PARTITION_IDS) {
    const prefix = hubEnvPrefix(partition);
    const principalArn = env[`${prefix}PRINCIPAL_ARN`];
    if (!principalArn) continue;
    const profile = env[`${prefix}PROFILE`];
    const accessKeyId = env[`${prefix}ACCESS_KEY_ID`];
    const secretAccessKey = env[`${prefix}SECRET_ACCESS_KEY`];
    hubs[partition] = {
      principalArn,
      credentials:
        accessKeyId || secretAccessKey
          ? { source: 'keys', accessKeyId, secretAccessKey }
          : profile
            ? { source: 'profile', profile }
            : { source: 'default-chain' },
    };
  }
  return hubs;
}

/**
 * Reads the configuration: an optional file (ONRAMP_CONFIG_FILE, YAML or JSON, same keys as the schema)
 * under the environment, which wins. Throws ConfigError listing every problem.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let fromFile: Record<string, unknown> = {};
  const file = env.ONRAMP_CONFIG_FILE;
  if (file) {
    if (!existsSync(file)) throw new ConfigError([`ONRAMP_CONFIG_FILE: ${file} does not exist`]);
    try {
      fromFile = (parseYaml(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError([
        `ONRAMP_CONFIG_FILE: ${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`,
      ]);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const signinEndpoint = env.AWS_ENDPOINT_URL_SIGNIN || env.AWS_ENDPOINT_URL;
  if (signinEndpoint) fromEnv.signinEndpoint = signinEndpoint;
  const awsRegion = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (
    awsRegion &&
    fromEnv.oidcPublishS3Region === undefined &&
    fromFile.oidcPublishS3Region === undefined
  )
    fromEnv.oidcPublishS3Region = awsRegion;
  const envHubs = readHubsFromEnv(env);
  const merged = {
    ...fromFile,
    ...fromEnv,
    hubs: { ...((fromFile.hubs as object | undefined) ?? {}), ...envHubs },
    templateBuckets: {
      ...((fromFile.templateBuckets as object | undefined) ?? {}),
      ...readTemplateBucketsFromEnv(env),
    },
  };
  const parsed = configSchema.safeParse(merged);
  const crossField = crossFieldProblems(merged);
  if (!parsed.success || crossField.length > 0) {
    const issues = parsed.success ? [] : parsed.error.issues;
    throw new ConfigError([
      ...issues.map((issue) => {
        const [first, ...rest] = issue.path.map(String);
        const name =
          first === 'hubs' && rest[0]
            ? `${hubEnvPrefix(rest[0] as PartitionId)}${(rest.at(-1) ?? '').replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`
            : first === 'templateBuckets' && rest[0]
              ? templateBucketEnvName(rest[0] as PartitionId)
              : (ENV_NAMES[first ?? ''] ?? first ?? 'config');
        return `${name}: ${issue.message}`;
      }),
      ...crossField,
    ]);
  }
  const config = parsed.data;
  return { ...config, dataDir: resolve(config.dataDir) };
}

/** The database to use: DATABASE_URL, or SQLite in the data directory. */
export function databaseLocation(
  config: Config,
): { kind: 'postgres'; url: string } | { kind: 'sqlite'; path: string } {
  if (config.databaseUrl?.startsWith('postgres'))
    return { kind: 'postgres', url: config.databaseUrl };
  if (config.databaseUrl?.startsWith('sqlite:')) {
    return { kind: 'sqlite', path: resolve(config.databaseUrl.slice('sqlite:'.length)) };
  }
  return { kind: 'sqlite', path: resolve(config.dataDir, 'onramp.db') };
}

/** Where the keyring lives: ONRAMP_MASTER_KEY_FILE, or generated into the data directory (SQLite only). */
export function keyringPath(config: Config): { path: string; createIfMissing: boolean } {
  return config.masterKeyFile
    ? { path: resolve(config.masterKeyFile), createIfMissing: false }
    : { path: join(config.dataDir, 'master-keys.json'), createIfMissing: true };
}
