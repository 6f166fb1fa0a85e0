import type { accountSchema } from '@onramp/contracts';
import type { z } from 'zod';
import type { Account } from '../../domain/account.ts';

/** The allow-list every interface shows: no field of it can carry the secret access key. */
export function toAccountResponse(account: Account): z.output<typeof accountSchema> {
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
    roleOrigin: account.method === 'role' ? account.roleOrigin : null,
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
    createdAt: account.createdAt,
    updatedAt: account.updatedAt,
  };
}
