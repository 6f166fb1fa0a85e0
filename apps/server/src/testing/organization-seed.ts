import { randomBytes } from 'node:crypto';
import type { OrganizationRules, PartitionId } from '@onramp/core';
import { hashToken } from '../adapters/crypto/secrets.ts';
import {
  createOrganizationsRepository,
  ENROLLMENT_TOKEN_FIELD,
  type Organization,
} from '../features/organizations/organizations-repository.ts';
import { newId } from '../ids.ts';
import type { Harness } from './harness.ts';

export const MEMBER_ROLE = 'OnrampMemberRole-test';
export const MANAGEMENT_ROLE = 'OnrampOrganizationRole-test';

/**
 * An organization of a tenant as POST /v1/organizations stores it (repository-level, so the tests of
 * the call-backs and jobs do not depend on the tenant routes), with its enrollment token in clear.
 */
export async function seedOrganization(
  h: Harness,
  tenantId: string,
  options: {
    partition?: PartitionId;
    rules?: OrganizationRules;
    managementAccountId?: string | null;
  } = {},
): Promise<{ org: Organization; token: string }> {
  const partition = options.partition ?? 'aws';
  const repo = createOrganizationsRepository(h.database.db, h.deps.clock);
  const id = newId('organization');
  const token = `onrorg_${randomBytes(32).toString('base64url')}`;
  const org = await repo.create(tenantId, {
    id,
    name: `org ${id.slice(-6)}`,
    description: '',
    partition,
    bundles: h.deps.catalog.defaultBundles(partition).map((b) => b.id),
    regions: [],
    rules: options.rules ?? {
      include: { organizationalUnits: [], accounts: [] },
      exclude: { organizationalUnits: [], accounts: [] },
    },
    deployment: 'service_managed',
    deploymentRegion: partition === 'aws-us-gov' ? 'us-gov-west-1' : 'us-east-1',
    memberRoleName: MEMBER_ROLE,
    managementRoleName: MANAGEMENT_ROLE,
    externalIdPrefix: `onramp-${randomBytes(24).toString('base64url')}`,
    managementAccountId: options.managementAccountId ?? null,
    tokenHash: hashToken(token),
    sealedToken: h.deps.envelope.seal(token, {
      tenantId,
      ownerId: id,
      field: ENROLLMENT_TOKEN_FIELD,
    }),
  });
  return { org, token };
}

export function roleArnOf(partition: PartitionId, accountId: string, name: string): string {
  return `arn:${partition}:iam::${accountId}:role/${name}`;
}
