import { getPartition, type PartitionId } from '@onramp/core';
import type { AccountMethod } from '../../domain/account.ts';
import type { TenantLimits } from '../../domain/tenant.ts';
import { AppError, type ProblemFieldError } from '../../http/problems.ts';

/**
 * The tenant's limits on where and how it connects accounts. Shared by accounts and connections:
 * a role set-up is refused up front for what its account would be refused later.
 */
export function enforcePartitionAndMethod(
  limits: TenantLimits,
  partition: PartitionId,
  method: AccountMethod,
  methodField: string | undefined,
): void {
  if (limits.partitions && !limits.partitions.includes(partition)) {
    const allowed = limits.partitions.map((p) => getPartition(p).displayName).join(', ');
    throw limitReached(
      'partitions',
      `This tenant may connect accounts in ${allowed} only.`,
      'partition',
    );
  }
  if (limits.methods && !limits.methods.includes(method)) {
    const allowed = limits.methods.map(describeMethod).join(', ');
    throw limitReached(
      'methods',
      `This tenant may not connect accounts with ${describeMethod(method)}; it may use ${allowed}.`,
      methodField,
    );
  }
}

export function describeMethod(method: AccountMethod): string {
  if (method === 'oidc_role') return 'a keyless IAM role (Onramp’s OpenID Connect issuer)';
  return method === 'role' ? 'an IAM role' : 'access keys';
}

function limitReached(
  limit: 'partitions' | 'methods',
  message: string,
  field: string | undefined,
): AppError {
  const errors: ProblemFieldError[] = field ? [{ field, code: 'limit_reached', message }] : [];
  return new AppError(
    'limit_reached',
    `${message} (tenant limit: ${limit})`,
    errors,
    {},
    { limit },
  );
}
