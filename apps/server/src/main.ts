import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CoreValidationError,
  formatIssues,
  loadCatalog,
  PARTITION_IDS,
  type PartitionId,
  parseHubPrincipal,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { createLazySdkAwsGateway } from './adapters/aws/lazy-aws-gateway.ts';
import { createSdkTemplateStore } from './adapters/aws/sdk-template-store.ts';
import { createEnvelope } from './adapters/crypto/envelope.ts';
import { openKeyringFile } from './adapters/crypto/keyring.ts';
import { isDatabaseUnavailable, migrateToLatest, openDatabase } from './adapters/db/database.ts';
import { buildApp } from './app.ts';
import {
  type Config,
  ConfigError,
  databaseLocation,
  type HubConfig,
  keyringPath,
  loadConfig,
} from './config.ts';
import type { AppDeps } from './deps.ts';
import { issueSetupToken } from './features/auth/setup.ts';
import { brandConfigFrom } from './features/branding/brand-config.ts';
import { createMetricsRegistry } from './features/metrics/metrics-registry.ts';
import { oidcFromConfig } from './features/oidc/oidc-from-config.ts';
import type { OidcLog } from './features/oidc/oidc-service.ts';
import { LOG_REDACT } from './http/logging.ts';
import { createCatalogSweep } from './jobs/catalog-sweep.ts';
import { releaseHeldClaims } from './jobs/claim-release.ts';
import { createHealthScheduler } from './jobs/health-scheduler.ts';
import { createOidcRotation } from './jobs/oidc-rotation.ts';
import { createOrganizationDiscoveryJob } from './jobs/organization-discovery.ts';
import { createOrganizationEnrollmentJob } from './jobs/organization-enrollment.ts';
import { createWebhookDeliverer } from './jobs/webhook-deliverer.ts';
import { createServices } from './wiring.ts';

async function start(): Promise<void> {
  const config = loadConfig();
  // The brand's logo file is read and checked once, before anything else starts.
  const brandConfig = brandConfigFrom(config, (path) => readFileSync(path));
  const location = databaseLocation(config);
  // Lost connections are logged once the app's logger exists (forwarded, as the gateway's warnings).
  let onConnectionError: ((error: Error) => void) | undefined;
  const database = openDatabase(location, {
    connectTimeoutMs: config.databaseConnectTimeoutSeconds * 1000,
    onConnectionError: (error) => onConnectionError?.(error),
  });
  await migrateToLatest(database);

  const keyring = openKeyringFile(keyringPath(config).path, {
    createIfMissing: keyringPath(config).createIfMissing,
  });
  const catalogText = readFileSync(
    config.catalogFile ?? new URL(import.meta.resolve('@onramp/core/catalog/default.yaml')),
    'utf8',
  );
  // Every action of the catalog is checked against AWS's list before Onramp serves a single request.
  const actions = createIamDataActionIndex();
  const catalog = await loadCatalog(catalogText, { actions });

  const hubs: AppDeps['hubs'] = {};
  const hubProblems: string[] = [];
  for (const partition of PARTITION_IDS) {
    const hub = config.hubs[partition];
    if (!hub) continue;
    const parsed = parseHubPrincipal(hub.principalArn, partition);
    if (parsed.ok) hubs[partition] = { principalArn: hub.principalArn };
    else
      hubProblems.push(
        `ONRAMP_HUB_${partition.toUpperCase().replace(/-/g, '_')}_PRINCIPAL_ARN: ${parsed.issue.message}`,
      );
  }
  if (hubProblems.length) throw new ConfigError(hubProblems);

  // The gateway is made before the app (and its logger): its warnings are forwarded once the app exists.
  let forward:
    | ((level: 'warn' | 'info', details: Record<string, unknown>, message: string) => void)
    | undefined;
  const awsLog = {
    warn: (details: Record<string, unknown>, message: string) =>
      forward?.('warn', details, message),
    info: (details: Record<string, unknown>, message: string) =>
      forward?.('info', details, message),
  };
  // The issuer logs through the app's logger once it exists, as the gateway does.
  const oidcLog: OidcLog = {
    info: (details, message) => forward?.('info', details, message),
    warn: (details, message) => forward?.('warn', details, message),
  };
  // The registry /metrics serves; wiring.ts measures the gateway into it once, for the API and the
  // background jobs alike.
  const metrics = createMetricsRegistry();
  const deps: AppDeps = {
    db: database.db,
    dialect: database.dialect,
    catalog,
    hubs,
    brandConfig,
    envelope: createEnvelope(keyring),
    metrics,
    aws: createLazySdkAwsGateway({
      log: awsLog,
      ...(config.signinEndpoint ? { signinEndpoint: config.signinEndpoint } : {}),
      hubs: config.hubs as Partial<Record<PartitionId, NonNullable<Config['hubs'][PartitionId]>>>,
    }),
    clock: () => new Date(),
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    actions,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    // The issuer's settings and where its documents are copied (ONRAMP_OIDC_*).
    ...oidcFromConfig(config),
    oidcLog,
    // Quick-create links need the templates on S3: a store only when some partition has a bucket.
    ...(Object.keys(config.templateBuckets).length > 0
      ? {
          templates: createSdkTemplateStore({
            buckets: config.templateBuckets,
            hubs: config.hubs as Partial<Record<PartitionId, HubConfig>>,
          }),
        }
      : {}),
    templateBuckets: config.templateBuckets,
    callbackTokenHours: config.callbackTokenHours,
    passwordResetHours: config.passwordResetHours,
    pendingConnectionDays: config.pendingConnectionDays,
    externalIdGraceDays: config.externalIdGraceDays,
    connectSessionMinutes: config.connectSessionMinutes,
    ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
    trustProxy: config.trustProxy,
    signInLimits: {
      perAccountAndAddress: config.signInLimitPerAccountAndAddress,
      perAddress: config.signInLimitPerAddress,
      perAccount: config.signInLimitPerAccount,
    },
    sessionIdleMinutes: config.sessionIdleMinutes,
    // The console, built by `npm start` (npm run build:web) into apps/web/dist.
    consoleRoot: fileURLToPath(new URL('../../web/dist', import.meta.url)),
    logger: {
      level: config.logLevel,
      redact: LOG_REDACT,
    },
    healthSettings: {
      intervalMinutes: config.healthIntervalMinutes,
      concurrency: config.healthConcurrency,
      ratePerSecond: config.healthRatePerSecond,
    },
    organizationSettings: {
      discoveryMinutes: config.organizationDiscoveryMinutes,
      enrollConcurrency: config.organizationEnrollConcurrency,
    },
    webhookSettings: { allowPrivate: config.webhooksAllowPrivate },
    collectionCaps: {
      pendingConnections: config.maxPendingConnections,
      webhooks: config.maxWebhooks,
      tokens: config.maxTokens,
      users: config.maxUsers,
      tenants: config.maxTenants,
    },
    httpLimits: {
      requestTimeoutMs: config.httpRequestTimeoutSeconds * 1000,
      headersTimeoutMs: config.httpHeadersTimeoutSeconds * 1000,
      idleTimeoutMs: config.httpIdleTimeoutSeconds * 1000,
      keepAliveTimeoutMs: config.httpKeepAliveTimeoutSeconds * 1000,
      maxConnections: config.httpMaxConnections,
      maxConnectionsPerAddress: config.httpMaxConnectionsPerAddress,
    },
  };
  // One service graph for the API and the background jobs (wiring.ts).
  const services = createServices(deps);
  const app = await buildApp(services);
  // Background work runs beside the API in every replica; the database decides who does what.
  const jobLog = {
    info: (details: Record<string, unknown>, message: string) => app.log.info(details, message),
    warn: (details: Record<string, unknown>, message: string) => app.log.warn(details, message),
    // A pass that failed because the database is away is retried on the next tick: a warning.
    error: (details: Record<string, unknown>, message: string) =>
      isDatabaseUnavailable(details.err)
        ? app.log.warn(
            { ...details, err: summary(details.err) },
            `${message}: the database is unavailable; retrying`,
          )
        : app.log.error(details, message),
  };
  const scheduler = createHealthScheduler(services, { log: jobLog });
  const deliverer = createWebhookDeliverer(services, { log: jobLog });
  const catalogSweep = createCatalogSweep(services, { log: jobLog });
  const oidcRotation = createOidcRotation(services, { log: jobLog });
  const discovery = createOrganizationDiscoveryJob(services, { log: jobLog });
  const enrollment = createOrganizationEnrollmentJob(services, { log: jobLog });

  forward = (level, details, message) => app.log[level](details, message);
  onConnectionError = (error) =>
    app.log.warn({ err: summary(error) }, 'a database connection was lost; the pool replaces it');

  const jobs = [scheduler, deliverer, catalogSweep, oidcRotation, discovery, enrollment];
  const claimOwners = [scheduler.owner, deliverer.owner, discovery.owner, enrollment.owner];
  const releaseClaims = () =>
    releaseHeldClaims(database.db, claimOwners, new Date().toISOString()).then((released) => {
      if (released > 0) app.log.info({ released }, 'job claims given back for another replica');
    });
  let shuttingDown = false;
  /**
   * SIGTERM or SIGINT: stop accepting connections and let the requests under way finish (app.close),
   * while the jobs finish the check or delivery in hand and take no more; then give back any claim
   * still held, close the database, and exit 0. Past ONRAMP_SHUTDOWN_SECONDS the claims are given
   * back anyway and the exit status is 1, so an orchestrator's SIGKILL never strands claimed work.
   */
  const shutdown = async (signal: string) => {
    if (shuttingDown) {
      // A second signal (an impatient Ctrl-C, a supervisor repeating itself) changes nothing.
      app.log.warn({ signal }, 'already shutting down');
      return;
    }
    shuttingDown = true;
    app.log.info({ signal, boundSeconds: config.shutdownSeconds }, 'shutting down');
    const deadline = setTimeout(() => void giveUp(), config.shutdownSeconds * 1000);
    // Closing drops the keep-alive connections idle at that moment; one busy then turns idle once
    // its response is sent, and would hold the close open until its keep-alive timeout (72 s).
    const dropIdle = setInterval(() => app.server.closeIdleConnections(), 100);
    try {
      await Promise.all([
        app.close().then(() => {
          clearInterval(dropIdle);
          app.log.info('requests under way finished; no longer listening');
        }),
        Promise.all(jobs.map((job) => job.stop())).then(() =>
          app.log.info('background jobs stopped'),
        ),
      ]);
      await releaseClaims();
      await database.close();
    } catch (error) {
      app.log.error({ err: summary(error) }, 'shutdown failed');
      process.exit(1);
    }
    clearTimeout(deadline);
    app.log.info('shut down');
    process.exit(0);
  };
  const giveUp = async () => {
    app.log.error(
      { boundSeconds: config.shutdownSeconds },
      'shutdown took too long (ONRAMP_SHUTDOWN_SECONDS); giving back job claims and exiting',
    );
    // The database may be what is slow: the claims get one more second, then their lease decides.
    const oneSecond = new Promise((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([releaseClaims().catch(() => undefined), oneSecond]);
    process.exit(1);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const address = await app.listen({ host: config.host, port: config.port });
  scheduler.start();
  deliverer.start();
  discovery.start();
  enrollment.start();
  // The issuer's first key, its schedule and its publish targets (idle without an issuer).
  oidcRotation.start();
  // Accounts compared with this catalog in the background: serving never waits for it.
  void catalogSweep.start();
  // Where this process listens; the public URL (behind a proxy) is printed apart.
  const url = address.replace('127.0.0.1', 'localhost');
  const lines = [
    '',
    `  Onramp is running at ${url}`,
    ...(config.publicUrl ? [`  Public URL (templates and call-backs): ${config.publicUrl}`] : []),
    `  API docs: ${url}/docs   OpenAPI: ${url}/openapi.json`,
    `  Database: ${location.kind === 'sqlite' ? location.path : 'PostgreSQL'}   Keyring: ${keyringPath(config).path}${keyring.created ? ' (new)' : ''}`,
    `  Partitions with a hub identity (roles): ${Object.keys(hubs).join(', ') || 'none — access keys only'}`,
    `  Quick-create links: ${
      !config.publicUrl
        ? 'off — set ONRAMP_PUBLIC_URL (stacks report their role back to it)'
        : Object.keys(config.templateBuckets).join(', ') ||
          'off — set ONRAMP_TEMPLATE_BUCKET_<PARTITION> (the console takes templates only from S3)'
    }`,
    `  Keyless roles (OpenID Connect issuer): ${services.oidc.issuer ?? `off — ${services.oidc.unavailableReason}`}`,
  ];
  const setupToken = await issueSetupToken(database.db, () => new Date());
  if (setupToken) {
    lines.push(
      '',
      '  No operator admin exists yet. Create one with this one-time set-up token:',
      `    ${setupToken}`,
      `  curl -X POST ${url}/v1/setup -H 'content-type: application/json' \\`,
      `    -d '{"setupToken":"${setupToken}","email":"you@example.com","name":"You","password":"at least 12 characters"}'`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

/** An error's code and message: enough to tell an outage in the log, without the driver's object. */
function summary(error: unknown): { code?: unknown; message?: unknown } {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return { code, message };
}

start().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
  } else if (error instanceof CoreValidationError) {
    process.stderr.write(
      `Onramp cannot start: the catalog has problems:\n${formatIssues(error.issues)}\n`,
    );
  } else {
    process.stderr.write(
      `Onramp could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
  process.exit(1);
});
