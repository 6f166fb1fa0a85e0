import type { Generated } from 'kysely';

/**
 * The database as Kysely sees it. Portable across SQLite and PostgreSQL: timestamps are ISO-8601 text,
 * booleans are 0/1 integers, lists and objects are JSON text, binary is base64 text. Every row that
 * belongs to a tenant carries tenant_id, and every repository method takes the tenant first.
 */
export interface Database {
  tenants: TenantsTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  connections: ConnectionsTable;
  accounts: AccountsTable;
  secrets: SecretsTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
  rate_limits: RateLimitsTable;
  callback_tokens: CallbackTokensTable;
}

export interface TenantsTable {
  id: string;
  name: string;
  /** JSON: { maxAccounts?: number, partitions?: PartitionId[], methods?: ('role' | 'access_keys')[] } */
  limits: string;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  /** null for operator admins, who belong to no tenant. */
  tenant_id: string | null;
  email: string;
  name: string;
  role: 'operator_admin' | 'tenant_admin' | 'tenant_viewer';
  password_hash: string;
  created_at: string;
  updated_at: string;
  disabled_at: string | null;
}

export interface SessionsTable {
  /** SHA-256 of the cookie value: a database leak does not hand out sessions. */
  id: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
}

export interface ApiTokensTable {
  id: string;
  tenant_id: string | null;
  name: string;
  /** SHA-256 of the token; the token itself is shown once and never stored. */
  token_hash: string;
  /** The first characters, to recognise a token in a list: `onr_AbC1…`. */
  token_prefix: string;
  /** JSON array of scopes. */
  scopes: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface ConnectionsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  partition: string;
  bundles: string;
  regions: string;
  external_id: string;
  role_name: string;
  status: 'pending' | 'connected';
  account_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface AccountsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  partition: string;
  method: 'role' | 'access_keys';
  aws_account_id: string;
  /** The identity Onramp acts as: the role ARN, or the IAM user's ARN. */
  principal_arn: string;
  role_arn: string | null;
  external_id: string | null;
  connection_id: string | null;
  access_key_id: string | null;
  bundles: string;
  regions: string;
  status: 'valid' | 'degraded' | 'invalid' | 'unverified';
  /** JSON: the last validation's checks and errors, for the console. */
  status_detail: string;
  last_checked_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface SecretsTable {
  id: string;
  tenant_id: string;
  /** The record the secret belongs to (an account id) and which of its fields. */
  owner_id: string;
  field: string;
  /** The master key that wrapped the data key: rotation finds old secrets by it. */
  key_id: string;
  wrapped_key: string;
  ciphertext: string;
  created_at: string;
  updated_at: string;
}

export interface AuditLogTable {
  seq: Generated<number>;
  id: string;
  tenant_id: string | null;
  actor_type: 'user' | 'token' | 'system' | 'setup';
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  at: string;
  request_id: string | null;
  source_ip: string | null;
  /** JSON of non-secret details (names, fields changed). */
  details: string;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: string;
}

/** Fixed-window counters shared by replicas (login attempts). */
export interface RateLimitsTable {
  key: string;
  window_start: string;
  count: number;
}

/** One-time tokens a CloudFormation stack presents when it reports its role (one per connection). */
export interface CallbackTokensTable {
  id: string;
  tenant_id: string;
  connection_id: string;
  /** SHA-256 of the token; the token itself is sealed in `secrets` (owner: the connection). */
  token_hash: string;
  created_at: string;
  /** After this, an unused token is refused. A used one still answers the stack's Delete. */
  expires_at: string;
  used_at: string | null;
  /** The account the token produced, and the role it was used for. */
  account_id: string | null;
  role_arn: string | null;
  stack_id: string | null;
}
