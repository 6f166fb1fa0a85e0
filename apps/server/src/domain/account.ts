import type { PartitionId } from '@onramp/core';
import type { ProblemFieldError } from '../http/problems.ts';

/**
 * The account and its checks as every feature sees them. Here rather than in the accounts
 * repository, so a feature can name an account without importing another feature's storage.
 */

/**
 * How Onramp reaches the account: a role it assumes with an external ID from the hub, a keyless role
 * it assumes with a token of its own OpenID Connect issuer, or an IAM user's keys.
 */
export type AccountMethod = 'role' | 'oidc_role' | 'access_keys';
export type AccountStatus = 'valid' | 'degraded' | 'invalid' | 'unverified';
/** How a role reached Onramp: reported by the CloudFormation stack's call-back, or pasted by a person. */
export type RoleOrigin = 'stack_callback' | 'pasted_arn';

/** One step of a validation, as recorded. */
export interface Check {
  name: string;
  /** `error`: AWS did not answer this step (5xx, unreadable, timeout, throttled); nothing was found. */
  status: 'passed' | 'failed' | 'warning' | 'error' | 'skipped';
  detail: string;
  durationMs: number;
}

export interface BundleFinding {
  bundleId: string;
  bundleName: string;
  /** Actions the principal's policies do not allow. */
  missing: string[];
  /** Actions the policies allow but an organization SCP denies. */
  deniedByScp: string[];
}

/** What the last validation found, kept for the console. */
export interface StatusDetail {
  checks: Check[];
  errors: ProblemFieldError[];
  /** Per bundle, the actions missing or denied by an SCP at the last check. */
  findings?: BundleFinding[];
  /**
   * Actions the principal's own policies allow that no chosen bundle needs, per policy, as last read
   * (at connect, a check on demand, and at most daily otherwise); absent when never readable.
   */
  extra?: { checkedAt: string; policies: { policy: string; actions: string[] }[] };
}

export interface Account {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  partition: PartitionId;
  method: AccountMethod;
  awsAccountId: string;
  principalArn: string;
  roleArn: string | null;
  externalId: string | null;
  connectionId: string | null;
  accessKeyId: string | null;
  bundles: string[];
  regions: string[];
  status: AccountStatus;
  statusDetail: StatusDetail;
  lastCheckedAt: string | null;
  /** Since when health checks could not reach AWS (status is the last one found); null when fresh. */
  staleSince: string | null;
  /** Role accounts: how the role reached Onramp (null for keys, and roles connected before 0007). */
  roleOrigin: RoleOrigin | null;
  /** What the account was granted, and how that compares with the catalog and the last check. */
  permissions: AccountPermissionState;
  /**
   * How the bundles were chosen: `default` accounts follow the partition's defaults as the catalog
   * changes (a bundle made default since is one they lack); `all` every bundle; `custom` their own list.
   */
  bundleChoice: 'default' | 'all' | 'custom';
  /** The organization it is a member account of (features/organizations); null when alone. */
  organizationId: string | null;
  /**
   * Why its health checks are paused (`organization_excluded`, `organization_left`): its member is
   * out of the organization or of the rules. Null: checked as usual.
   */
  pausedReason: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One bundle's actions as granted, with a hash of them that changes when the catalog's bundle does. */
export interface GrantedBundle {
  hash: string;
  actions: string[];
  /**
   * A check proved the account holds these actions (it passed for this bundle when the grant was
   * recorded, or since). Only then can missing actions be called trimmed.
   */
  verified: boolean;
}

/** The difference in one bundle between what was granted and what the catalog asks now. */
export interface PermissionChange {
  bundle: string;
  add: string[];
  remove: string[];
}

/** Granted actions of a bundle that a check found missing (someone trimmed the role's policies). */
export interface TrimmedBundle {
  bundle: string;
  actions: string[];
}

export interface AccountPermissionState {
  /** By bundle id; null when nothing was recorded (accounts connected before grants were kept). */
  granted: Record<string, GrantedBundle> | null;
  grantedAt: string | null;
  /** Since when the catalog asks more or less than was granted; null when it matches. */
  outdatedSince: string | null;
  changes: PermissionChange[];
  trimmed: TrimmedBundle[];
}

export const NO_PERMISSION_STATE: AccountPermissionState = {
  granted: null,
  grantedAt: null,
  outdatedSince: null,
  changes: [],
  trimmed: [],
};

/** What started a check: a health check, a person, or a change of the account. */
export type CheckTrigger =
  | 'schedule'
  | 'manual'
  | 'connect'
  | 'permissions_changed'
  | 'credentials_replaced'
  | 'stack_deleted'
  | 'permissions_updated';

/** One entry of an account's health history. */
export interface AccountCheckRecord {
  id: string;
  accountId: string;
  at: string;
  status: AccountStatus;
  previousStatus: AccountStatus;
  changed: boolean;
  stale: boolean;
  checks: Check[];
  findings: BundleFinding[];
  errors: ProblemFieldError[];
  durationMs: number;
  trigger: CheckTrigger;
}
