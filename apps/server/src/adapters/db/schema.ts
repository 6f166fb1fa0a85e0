import type { Generated } from 'kysely';
import type { AccountMethod, AccountStatus, CheckTrigger } from '../../domain/account.ts';

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
  account_checks: AccountChecksTable;
  health_schedule: HealthScheduleTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  password_resets: PasswordResetsTable;
  oidc_signing_keys: OidcSigningKeysTable;
  organizations: OrganizationsTable;
  organization_units: OrganizationUnitsTable;
  organization_members: OrganizationMembersTable;
  connect_sessions: ConnectSessionsTable;
}

export interface TenantsTable {
  id: string;
  name: string;
  /** JSON: { maxAccounts?: number, partitions?: PartitionId[], methods?: ('role' | 'oidc_role' | 'access_keys')[] } */
  limits: string;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  /** null for operator admins, who belong to no tenant. */
  tenant_id: string | null;
  /** Lower-case; unique within the tenant (operators: among operators), not across tenants. */
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
  /** The token that made this one (a machine token made by another), or null if made in a session. */
  parent_token_id: string | null;
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
  /** The external ID a regeneration replaced, still accepted in templates until the date after it. */
  previous_external_id: string | null;
  previous_external_id_until: string | null;
  /** How the tenant chose to create the role: quick_create | cloudformation | terraform | manual. */
  setup_method: string | null;
  /** How the role trusts Onramp: `role` (hub principal and external ID) or `oidc_role` (0013). */
  method: 'role' | 'oidc_role';
  /** Set for a member connection of an organization, made by Onramp (0014). */
  organization_id: string | null;
  /** The hosted connect session that made it (0015). */
  connect_session_id: string | null;
}

/** The OpenID Connect issuer's signing keys (0013); each private key is sealed in `secrets`. */
export interface OidcSigningKeysTable {
  kid: string;
  /** Unique: two replicas rotating at once insert one key between them. */
  generation: number;
  algorithm: 'ES256' | 'RS256';
  /** JSON: the public JWK as the JWKS publishes it (with kid, alg, use). */
  public_jwk: string;
  /** Published in the JWKS from then on. */
  created_at: string;
  /** Signs tokens from then (the previous key signs until this). */
  signs_from: string;
  /** When the next key began signing; null while this one is the newest. */
  retired_at: string | null;
  /** When it leaves the JWKS: retired_at plus the longest token lifetime and clock skew. */
  unpublish_at: string | null;
  /** The user or token that asked for it; null for the schedule and the first key. */
  created_by: string | null;
}

export interface AccountsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  partition: string;
  method: AccountMethod;
  aws_account_id: string;
  /** The identity Onramp acts as: the role ARN, or the IAM user's ARN. */
  principal_arn: string;
  role_arn: string | null;
  external_id: string | null;
  connection_id: string | null;
  access_key_id: string | null;
  /**
   * `role:<role ARN>` or `key:<access key ID>`, unique in the tenant; NULL only for an account that
   * shared its principal with an older one before the index existed (0010_account_identity_index).
   */
  credential_key: string | null;
  bundles: string;
  regions: string;
  status: AccountStatus;
  /** JSON: the last validation's checks and errors, for the console. */
  status_detail: string;
  last_checked_at: string | null;
  /** Since when health checks could not reach AWS (the status is the last one found); null when fresh. */
  stale_since: string | null;
  created_at: string;
  updated_at: string;
  /** How the role reached Onramp: stack_callback | pasted_arn (null: keys, or before 0007). */
  role_origin: string | null;
  /**
   * JSON `{ [bundleId]: { hash, actions, verified } }`: the bundles' actions the account was granted when it was
   * connected or last updated (null: before 0011, until its next update).
   */
  granted_permissions: string | null;
  granted_at: string | null;
  /** Since when the catalog asks more or less of the account than it was granted; null when it matches. */
  outdated_since: string | null;
  /** JSON `[{ bundle, add, remove }]`: the difference behind `outdated_since` (null when none). */
  permission_changes: string | null;
  /** JSON `[{ bundle, actions }]`: granted actions the last check found missing (null when none). */
  trimmed_permissions: string | null;
  /** default | all | custom (null: custom): whether the account follows the catalog's defaults (0011). */
  bundle_choice: string | null;
  /** The organization a member account belongs to (0014); null for an account connected alone. */
  organization_id: string | null;
  /** Why its health checks are paused (`organization_left`, `organization_excluded`); null: checked. */
  paused_reason: string | null;
}

/**
 * The binding tenant of a secret that belongs to no tenant (an operator webhook endpoint's, whose
 * `tenant_id` is null): sealed and re-wrapped with this in place of a tenant id.
 */
export const OPERATOR_SECRET_SCOPE = 'operator';

export interface SecretsTable {
  id: string;
  /** null for an operator-wide record (see OPERATOR_SECRET_SCOPE). */
  tenant_id: string | null;
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
  actor_type: 'user' | 'token' | 'system' | 'setup' | 'connect_session';
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

/** Call-back tokens (one role each) a CloudFormation stack presents when it reports its role (one per connection). */
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

/** Every health check of an account, in the order they were recorded (`seq`). */
export interface AccountChecksTable {
  seq: Generated<number>;
  id: string;
  tenant_id: string;
  account_id: string;
  at: string;
  /** `stack_deleted`: recorded from the stack's own call-back, not from a check of AWS. */
  trigger: CheckTrigger;
  status: AccountsTable['status'];
  previous_status: AccountsTable['status'];
  /** 0/1 */
  changed: number;
  /** 0/1: AWS could not be reached; the status is the previous one. */
  stale: number;
  /** JSON */
  checks: string;
  findings: string;
  errors: string;
  duration_ms: number;
}

/** When each account's next health check is due, and which replica holds it until when. */
export interface HealthScheduleTable {
  account_id: string;
  tenant_id: string;
  next_run_at: string;
  failures: number;
  claimed_by: string | null;
  claim_expires_at: string | null;
  /** A check someone asked for (POST /v1/accounts/recheck): the trigger it records; null when scheduled. */
  requested_trigger: 'manual' | null;
}

export interface WebhookEndpointsTable {
  id: string;
  /** null: the operator's endpoint, which receives every tenant's events. */
  tenant_id: string | null;
  url: string;
  description: string;
  /** JSON array of event types. */
  events: string;
  /** 0/1 */
  enabled: number;
  /**
   * After a rotation, until when the replaced secret (sealed in `secrets`, field
   * `webhookPreviousSecret`) still signs beside the current one; null when there is none.
   */
  previous_secret_expires_at: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** The outbox and the delivery log: one row per event and endpoint. */
export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  tenant_id: string | null;
  event_id: string;
  event_type: string;
  payload: string;
  attempt: number;
  status: 'pending' | 'delivered' | 'failed';
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_response_excerpt: string | null;
  last_error: string | null;
  delivered_at: string | null;
  claimed_by: string | null;
  claim_expires_at: string | null;
  created_at: string;
}

/** Single-use password reset links an admin hands out; only the SHA-256 of the link's token is kept. */
export interface PasswordResetsTable {
  id: string;
  user_id: string;
  token_hash: string;
  /** The admin who made it (a user id). */
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/** A connected AWS organization of a tenant (0014_organizations). */
export interface OrganizationsTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  partition: string;
  status: 'pending' | 'active' | 'error';
  /** JSON string[]: the selection's bundles, as for a connection. */
  bundles: string;
  regions: string;
  /** JSON OrganizationRules. */
  rules: string;
  deployment: 'service_managed' | 'self_managed' | 'per_account';
  deployment_region: string;
  member_role_name: string;
  management_role_name: string;
  /** Every member's external ID is `<prefix>-<account ID>`; unique across tenants. */
  external_id_prefix: string;
  aws_organization_id: string | null;
  management_account_id: string | null;
  management_role_arn: string | null;
  management_stack_id: string | null;
  root_id: string | null;
  /** Hash of the enrollment token (sealed in `secrets`: owner = id, field `enrollment_token`). */
  token_hash: string;
  token_issued_at: string;
  previous_token_hash: string | null;
  previous_token_until: string | null;
  last_discovery_at: string | null;
  last_discovery_ok: number | null;
  last_discovery_accounts: number | null;
  last_discovery_error: string | null;
  /** When discovery is next due (null: never; set at once by the management role or on demand). */
  discovery_due_at: string | null;
  discovery_claimed_by: string | null;
  discovery_claim_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** One node of an organization's OU tree, as the last discovery saw it. */
export interface OrganizationUnitsTable {
  organization_id: string;
  tenant_id: string;
  /** `r-…` or `ou-…`. */
  id: string;
  name: string;
  parent_id: string | null;
  /** JSON string[]: root first, this unit last. */
  path: string;
  seen_at: string;
}

/** A member account of an organization: what AWS says of it and how far Onramp got. */
export interface OrganizationMembersTable {
  organization_id: string;
  tenant_id: string;
  aws_account_id: string;
  name: string;
  email: string;
  aws_status: string | null;
  parent_id: string | null;
  /** JSON string[]: root first, the parent last. */
  path: string;
  /** 1 for the management account. */
  management: number;
  state: 'discovered' | 'enrolling' | 'connected' | 'failed' | 'excluded' | 'left';
  reason_code: string | null;
  reason_message: string | null;
  reason_hint: string | null;
  role_arn: string | null;
  stack_id: string | null;
  connection_id: string | null;
  account_id: string | null;
  /** 1 once Organizations confirmed it is a member (discovery, or DescribeAccount). */
  confirmed: number;
  /** When the enrollment worker should (re)try it; null when nothing is queued. */
  enroll_due_at: string | null;
  enroll_attempts: number;
  claimed_by: string | null;
  claim_expires_at: string | null;
  discovered_at: string | null;
  /** When a discovery last listed it. */
  seen_at: string | null;
  state_changed_at: string;
  created_at: string;
  updated_at: string;
}

/** A hosted connect session (0015_connect_sessions). */
export interface ConnectSessionsTable {
  id: string;
  tenant_id: string;
  reference: string | null;
  kind: 'connect' | 'fix';
  state: 'open' | 'active' | 'completed' | 'cancelled';
  outcome: 'connected' | 'fixed' | 'cancelled' | null;
  /** JSON: { partitions, methods, bundles, regions, accountName }. */
  allowed: string;
  return_url: string;
  account_id: string | null;
  connection_id: string | null;
  /** SHA-256 of the link's secret. */
  link_hash: string;
  /** SHA-256 of the cookie of the browser that opened the link. */
  browser_hash: string | null;
  csrf_token: string | null;
  /** `token:tok_…` or `user:usr_…`. */
  created_by: string;
  expires_at: string;
  opened_at: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
}
