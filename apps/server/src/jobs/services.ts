import type { AppDeps } from '../deps.ts';
import { createAccountsService } from '../features/accounts/accounts-service.ts';
import { createAuditRepository } from '../features/audit/audit-repository.ts';
import { createConnectionsService } from '../features/connections/connections-service.ts';
import { createHealthService } from '../features/health/health-service.ts';
import { withMetrics } from '../features/metrics/metrics-aws-gateway.ts';
import { createTenantsRepository } from '../features/tenants/tenants-repository.ts';
import { createWebhooksService } from '../features/webhooks/webhooks-service.ts';

/** What background jobs log through (the app's logger in main.ts). */
export interface JobLog {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
  error(details: Record<string, unknown>, message: string): void;
}

export const silentLog: JobLog = { info() {}, warn() {}, error() {} };

/**
 * The services the jobs use, built from the same dependencies as the app (they hold no state, so a
 * second set beside the HTTP app's is the same service).
 */
export function createJobServices(given: AppDeps) {
  // The same registry and measured AWS gateway as the app's (see withMetrics): a health check run by
  // the scheduler is counted on /metrics like one asked for over the API.
  const deps = withMetrics(given);
  const audit = createAuditRepository(deps.db, deps.clock);
  const tenants = createTenantsRepository(deps.db, deps.clock);
  const webhooks = createWebhooksService({ ...deps, audit });
  const connections = createConnectionsService({ ...deps, audit, tenants });
  const accounts = createAccountsService({
    ...deps,
    audit,
    tenants,
    connections,
    events: webhooks,
  });
  const health = createHealthService({ ...deps, audit, accounts, events: webhooks });
  return { webhooks, accounts, health };
}
