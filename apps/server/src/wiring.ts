import type { AppDeps } from './deps.ts';
import { createAccountsService } from './features/accounts/accounts-service.ts';
import { createIamPoliciesService } from './features/accounts/iam-policies-service.ts';
import { createOutdatedSweep } from './features/accounts/outdated-sweep.ts';
import { createPermissionsUpdate } from './features/accounts/permissions-update.ts';
import { createPermissionsVerify } from './features/accounts/permissions-verify.ts';
import { createAuditRepository } from './features/audit/audit-repository.ts';
import { createSessionsRepository } from './features/auth/sessions-repository.ts';
import { createSessionsService } from './features/auth/sessions-service.ts';
import { createBrandingService } from './features/branding/branding-service.ts';
import { createCallbacksService } from './features/callbacks/callbacks-service.ts';
import { createConnectSessionsService } from './features/connect-sessions/connect-sessions-service.ts';
import { createConnectionsService } from './features/connections/connections-service.ts';
import { createCredentialsService } from './features/credentials/credentials-service.ts';
import { createHealthService } from './features/health/health-service.ts';
import { withMetrics } from './features/metrics/metrics-aws-gateway.ts';
import { createOidcService } from './features/oidc/oidc-service.ts';
import { createOrganizationCallbacks } from './features/organizations/organization-callbacks.ts';
import { createOrganizationDiscovery } from './features/organizations/organization-discovery.ts';
import { createOrganizationEnrollment } from './features/organizations/organization-enrollment.ts';
import { createOrganizationsService } from './features/organizations/organizations-service.ts';
import { createTenantsRepository } from './features/tenants/tenants-repository.ts';
import { createTenantsService } from './features/tenants/tenants-service.ts';
import { createTokensRepository } from './features/tokens/tokens-repository.ts';
import { createTokensService } from './features/tokens/tokens-service.ts';
import { createUsersRepository } from './features/users/users-repository.ts';
import { createUsersService } from './features/users/users-service.ts';
import { createWebhooksService } from './features/webhooks/webhooks-service.ts';
import type { WebIdentityIssuer } from './ports/web-identity.ts';

/**
 * The composition root: the one place the service graph is built from its dependencies. main.ts,
 * the test harness and the bench call it once per process (or per test app) and hand the result to
 * the HTTP app (app.ts) and the background jobs (jobs/), so one AccountsService, one metrics
 * registry and one measured AWS gateway serve both. Nothing but those entry points imports this
 * file (`npm run layers` checks it): a feature names the narrow dependencies it needs instead.
 */
export function createServices(given: AppDeps) {
  // Every AWS call of every feature and job is counted and timed into one registry (served at
  // /metrics); without one in the deps, a registry is made here.
  const measured = withMetrics(given);
  const audit = createAuditRepository(measured.db, measured.clock);
  // Onramp's OpenID Connect issuer: the features that use keyless roles mint through `webIdentity`
  // (the port), the routes and the rotation job use the whole service (`oidc`); they are one object.
  const oidc = createOidcService({ ...measured, audit });
  // A unit or route test may hand in a fake issuer (testing/fake-web-identity.ts) whose tokens the
  // fake AWS reads; everything else mints with the service whose keys the JWKS serves.
  const deps = { ...measured, webIdentity: given.webIdentity ?? (oidc as WebIdentityIssuer) };
  const clock = deps.clock;
  const sessions = createSessionsService({
    ...deps,
    sessions: createSessionsRepository(deps.db, clock, deps.sessionIdleMinutes),
  });
  const tokens = createTokensService({
    ...deps,
    tokens: createTokensRepository(deps.db, clock),
    audit,
  });
  const users = createUsersService({
    ...deps,
    users: createUsersRepository(deps.db, clock),
    audit,
    sessions,
    tokens,
  });
  const tenants = createTenantsService({
    ...deps,
    tenants: createTenantsRepository(deps.db, clock),
    audit,
    users,
    tokens,
  });
  // The operator's brand and return-URL allow-list (issue 17): what customer-facing texts name.
  const branding = createBrandingService({ ...deps, audit });
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
  const permissionsVerify = createPermissionsVerify({
    ...deps,
    audit,
    accounts,
    connections,
    events: webhooks,
  });
  const callbacks = createCallbacksService({
    ...deps,
    audit,
    accounts,
    connections,
    permissions: permissionsVerify,
    events: webhooks,
  });
  const permissionsUpdate = createPermissionsUpdate({
    ...deps,
    accounts,
    connections,
    callbacks,
    branding,
  });
  const iamPolicies = createIamPoliciesService({ ...deps, audit, accounts });
  const credentials = createCredentialsService({ ...deps, audit, accounts });
  const organizations = createOrganizationsService({
    ...deps,
    branding,
    audit,
    tenants,
    accounts,
    connections,
  });
  // Compares every account with the catalog loaded (main.ts runs it once after start-up).
  const outdatedSweep = createOutdatedSweep({ ...deps, events: webhooks });
  // Organizations (issue 16): the stacks' call-backs, and the two jobs they feed.
  const organizationCallbacks = createOrganizationCallbacks({
    ...deps,
    audit,
    accounts,
    permissions: permissionsVerify,
    events: webhooks,
  });
  const organizationDiscovery = createOrganizationDiscovery({
    ...deps,
    accounts,
    events: webhooks,
  });
  const organizationEnrollment = createOrganizationEnrollment({
    ...deps,
    audit,
    accounts,
    events: webhooks,
  });
  const connectSessions = createConnectSessionsService({
    ...deps,
    audit,
    events: webhooks,
    tenants,
    accounts,
    connections,
    permissionsVerify,
    branding,
  });
  return {
    ...deps,
    audit,
    connectSessions,
    oidc,
    users,
    sessions,
    tokens,
    tenants,
    branding,
    webhooks,
    connections,
    accounts,
    iamPolicies,
    health,
    callbacks,
    credentials,
    permissionsUpdate,
    permissionsVerify,
    outdatedSweep,
    organizationCallbacks,
    organizationDiscovery,
    organizationEnrollment,
    organizations,
    /** Behind TLS (a trusted proxy, or an https public URL): session cookies are marked Secure. */
    secureCookies: Boolean(deps.trustProxy) || Boolean(deps.publicUrl?.startsWith('https:')),
  };
}

/** The service graph: what the app registers its routes over and what the jobs run on. */
export type Services = ReturnType<typeof createServices>;
