import type { AppDeps } from '../deps.ts';
import type { AccountsService } from '../features/accounts/accounts-service.ts';
import type { AuditRepository } from '../features/audit/audit-repository.ts';
import type { SessionsService } from '../features/auth/sessions-service.ts';
import type { CallbacksService } from '../features/callbacks/callbacks-service.ts';
import type { CredentialsService } from '../features/credentials/credentials-service.ts';
import type { HealthService } from '../features/health/health-service.ts';
import type { MetricsRegistry } from '../features/metrics/metrics-registry.ts';
import type { TenantsService } from '../features/tenants/tenants-service.ts';
import type { TokensService } from '../features/tokens/tokens-service.ts';
import type { UsersService } from '../features/users/users-service.ts';
import type { WebhooksService } from '../features/webhooks/webhooks-service.ts';

/**
 * What app.ts hands every route module: the app's dependencies and the services over them. Each
 * module declares the part it uses (`…RoutesDeps`), which this bag satisfies structurally.
 */
export interface AppContext extends AppDeps {
  audit: AuditRepository;
  users: UsersService;
  sessions: SessionsService;
  tokens: TokensService;
  tenants: TenantsService;
  accounts: AccountsService;
  callbacks: CallbacksService;
  credentials: CredentialsService;
  metrics: MetricsRegistry;
  health: HealthService;
  webhooks: WebhooksService;
  secureCookies: boolean;
}
