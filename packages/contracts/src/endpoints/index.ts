import { accountsEndpoints } from './accounts.ts';
import { callbacksEndpoints } from './callbacks.ts';
import { catalogEndpoints, partitionsEndpoints } from './catalog.ts';
import {
  brandingEndpoints,
  connectEndpoints,
  connectSessionsEndpoints,
} from './connect-sessions.ts';
import { connectionsEndpoints } from './connections.ts';
import { auditEndpoints, tenantsEndpoints, tokensEndpoints, usersEndpoints } from './identity.ts';
import { oidcEndpoints } from './oidc.ts';
import { organizationsEndpoints } from './organizations.ts';
import { sessionEndpoints } from './session.ts';
import { webhooksEndpoints } from './webhooks.ts';

/**
 * Every /v1 endpoint, by area. The server mounts each once, in the order its feature registers them;
 * the client calls them by the same names.
 */
export const api = {
  session: sessionEndpoints,
  catalog: catalogEndpoints,
  partitions: partitionsEndpoints,
  accounts: accountsEndpoints,
  connections: connectionsEndpoints,
  callbacks: callbacksEndpoints,
  webhooks: webhooksEndpoints,
  users: usersEndpoints,
  tokens: tokensEndpoints,
  tenants: tenantsEndpoints,
  audit: auditEndpoints,
  oidc: oidcEndpoints,
  organizations: organizationsEndpoints,
  connectSessions: connectSessionsEndpoints,
  connect: connectEndpoints,
  branding: brandingEndpoints,
};
