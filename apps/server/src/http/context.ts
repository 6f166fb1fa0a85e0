import type { AppDeps } from '../deps.ts';
import type { AccountsService } from '../features/accounts/accounts-service.ts';
import type { IamPoliciesService } from '../features/accounts/iam-policies-service.ts';
import type { AuditRepository } from '../features/audit/audit-repository.ts';
import type { SessionsRepository } from '../features/auth/sessions-repository.ts';
import type { CallbacksService } from '../features/callbacks/callbacks-service.ts';
import type { ConnectionsService } from '../features/connections/connections-service.ts';
import type { CredentialsService } from '../features/credentials/credentials-service.ts';
import type { HealthService } from '../features/health/health-service.ts';
import type { MetricsRegistry } from '../features/metrics/metrics-registry.ts';
import type { TenantsRepository } from '../features/tenants/tenants-repository.ts';
import type { TokensRepository } from '../features/tokens/tokens-repository.ts';
import type { UsersRepository } from '../features/users/users-repository.ts';
import type { WebhooksService } from '../features/webhooks/webhooks-service.ts';

/** What every route module receives: the app's dependencies and the repositories and services over them. */
export interface AppContext extends AppDeps {
  audit: AuditRepository;
  users: UsersRepository;
  sessions: SessionsRepository;
  tokens: TokensRepository;
  tenants: TenantsRepository;
  accounts: AccountsService;
  connections: ConnectionsService;
  iamPolicies: IamPoliciesService;
  callbacks: CallbacksService;
  credentials: CredentialsService;
  metrics: MetricsRegistry;
  health: HealthService;
  webhooks: WebhooksService;
  secureCookies: boolean;
}
