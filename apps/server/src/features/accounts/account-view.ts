import type { accountSchema, validationResultSchema } from '@onramp/contracts';
import type { z } from 'zod';
import type { Account } from '../../domain/account.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import type { ValidationReport } from '../validation/accounts-validation.ts';
import { webIdentityTrustOf } from '../validation/web-identity-session.ts';

/**
 * The allow-list every interface shows: no field of it can carry the secret access key. A keyless
 * role account shows what its role trusts (`webIdentity`), which needs the issuer: every caller that
 * shows a keyless account passes it, so an event shows the account as the API does.
 */
export function toAccountResponse(
  account: Account,
  issuer: WebIdentityIssuer | undefined,
): z.output<typeof accountSchema> {
  return {
    id: account.id,
    name: account.name,
    description: account.description,
    partition: account.partition,
    method: account.method,
    awsAccountId: account.awsAccountId,
    principalArn: account.principalArn,
    roleArn: account.roleArn,
    accessKeyId: account.accessKeyId,
    connectionId: account.connectionId,
    roleOrigin: account.method === 'access_keys' ? null : account.roleOrigin,
    webIdentity: issuer ? webIdentityOf(account, issuer) : null,
    bundles: account.bundles,
    regions: account.regions,
    status: account.status,
    checks: account.statusDetail.checks,
    findings: account.statusDetail.findings ?? [],
    lastCheckedAt: account.lastCheckedAt,
    stale: account.staleSince !== null,
    staleSince: account.staleSince,
    permissions: {
      outdated: account.permissions.outdatedSince !== null,
      outdatedSince: account.permissions.outdatedSince,
      changes: account.permissions.changes,
      trimmed: account.permissions.trimmed,
      grantedAt: account.permissions.grantedAt,
      ...(account.statusDetail.extra
        ? {
            extra: account.statusDetail.extra.policies,
            extraCheckedAt: account.statusDetail.extra.checkedAt,
          }
        : {}),
    },
    organizationId: account.organizationId,
    paused: pausedOf(account.pausedReason),
    createdAt: account.createdAt,
    updatedAt: account.updatedAt,
  };
}

/**
 * What a validation shows its caller, the tenant's or a hosted session's: the report's allow-list
 * (never the credentials it proved, nor the faults' detail). The caller adds its own notices.
 */
export function toValidationResponse(
  report: ValidationReport,
): Omit<z.output<typeof validationResultSchema>, 'notices' | 'savableDegraded'> {
  return {
    valid: report.valid,
    status: report.status,
    findings: report.findings,
    identity: report.identity
      ? { accountId: report.identity.accountId, arn: report.identity.arn }
      : null,
    checks: report.checks,
    errors: report.errors,
  };
}

/** Why the account's checks are paused, as the contract names it; null when it is checked. */
function pausedOf(
  reason: string | null,
): { reason: 'organization_left' | 'organization_excluded' } | null {
  return reason === 'organization_left' || reason === 'organization_excluded' ? { reason } : null;
}

/** What a keyless role account's role trusts; null for other accounts or without an issuer. */
function webIdentityOf(account: Account, issuer: WebIdentityIssuer) {
  if (account.method !== 'oidc_role' || !account.connectionId) return null;
  const trust = webIdentityTrustOf(issuer, {
    ...account,
    connectionId: account.connectionId,
    accountId: account.awsAccountId,
  });
  if (!trust) return null;
  const { providerArn, ...rest } = trust;
  return { ...rest, providerArnPattern: providerArn };
}
