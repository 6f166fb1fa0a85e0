import type { organizationMemberSchema, organizationSchema } from '@onramp/contracts';
import type { z } from 'zod';
import type { AccountStatus } from '../../domain/account.ts';
import {
  emptyHealthCounts,
  emptyStateCounts,
  type Organization,
  type OrganizationCounts,
  type OrganizationMember,
} from './organizations-repository.ts';

/**
 * An organization as every interface shows it: an allow-list with no field that can hold the
 * enrollment token (only when it was issued, and until when the one it replaced is accepted).
 */
export function toOrganizationResponse(
  organization: Organization,
  counts: OrganizationCounts | undefined,
): z.output<typeof organizationSchema> {
  return {
    id: organization.id,
    name: organization.name,
    description: organization.description,
    partition: organization.partition,
    status: organization.status,
    awsOrganizationId: organization.awsOrganizationId,
    managementAccountId: organization.managementAccountId,
    managementRoleArn: organization.managementRoleArn,
    managementRoleName: organization.managementRoleName,
    memberRoleName: organization.memberRoleName,
    externalIdPrefix: organization.externalIdPrefix,
    deployment: organization.deployment,
    deploymentRegion: organization.deploymentRegion,
    bundles: organization.bundles,
    regions: organization.regions,
    rules: {
      include: {
        organizationalUnits: [...organization.rules.include.organizationalUnits],
        accounts: [...organization.rules.include.accounts],
      },
      exclude: {
        organizationalUnits: [...organization.rules.exclude.organizationalUnits],
        accounts: [...organization.rules.exclude.accounts],
      },
    },
    rootId: organization.rootId,
    counts: counts?.counts ?? emptyStateCounts(),
    health: counts?.health ?? emptyHealthCounts(),
    outdated: counts?.outdated ?? 0,
    lastDiscovery: organization.lastDiscovery,
    enrollmentToken: {
      issuedAt: organization.tokenIssuedAt,
      previousValidUntil: organization.previousTokenUntil,
    },
    createdAt: organization.createdAt,
    updatedAt: organization.updatedAt,
  };
}

/** A member with its path named from the OU tree (an ID the tree lacks is shown as itself). */
export function toMemberResponse(
  member: OrganizationMember & { health: AccountStatus | null },
  unitNames: ReadonlyMap<string, string>,
): z.output<typeof organizationMemberSchema> {
  return {
    awsAccountId: member.awsAccountId,
    name: member.name,
    email: member.email,
    awsStatus: member.awsStatus,
    parentId: member.parentId,
    path: member.path.map((id) => ({ id, name: unitNames.get(id) ?? id })),
    state: member.state,
    reason: member.reason,
    roleArn: member.roleArn,
    accountId: member.accountId,
    // Health belongs to a connected member's account; a paused one keeps its last status.
    health: member.accountId ? member.health : null,
    management: member.management,
    discoveredAt: member.discoveredAt,
    stateChangedAt: member.stateChangedAt,
    updatedAt: member.updatedAt,
  };
}
