import type { organizationCallbackRequestSchema } from '@onramp/contracts';
import { memberExternalId, type PartitionId, parseRoleArn } from '@onramp/core';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { hashToken } from '../../adapters/crypto/secrets.ts';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { AccountCheckRecord } from '../../domain/account.ts';
import type { Caller } from '../../domain/caller.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { newId } from '../../ids.ts';
import { type AuditLog, untrustedText } from '../../ports/audit-log.ts';
import { type AwsGateway, AwsProblem } from '../../ports/aws-gateway.ts';
import type { AccountsService } from '../accounts/accounts-service.ts';
import type { PermissionsVerify } from '../accounts/permissions-verify.ts';
import { createRateLimiter, limitedAddress } from '../auth/rate-limits.ts';
import { createCheckHistory } from '../health/check-history.ts';
import { applyCheck } from '../health/health-service.ts';
import type { EventPublisher, WebhooksService } from '../webhooks/webhooks-service.ts';
import { memberEvent } from './organization-discovery.ts';
import {
  createOrganizationJobsRepository,
  type MemberRow,
  type OrganizationRow,
} from './organization-jobs-repository.ts';
import { createOrganizationsRepository, type Organization } from './organizations-repository.ts';

export type OrganizationCallback = z.output<typeof organizationCallbackRequestSchema>;
export type CallbackKind = 'management' | 'member';

/** Refused call-backs per address and window, as for a stack's call-back (callbacks-service.ts). */
export const ORG_CALLBACK_REFUSALS = 10;
export const ORG_CALLBACK_REFUSALS_WINDOW_SECONDS = 15 * 60;
/**
 * Accepted call-backs per organization and minute. A StackSet deploys to hundreds of accounts at
 * once, all calling from AWS's addresses, so the limit is per organization (not per address) and
 * generous; each accepted call-back costs one upsert, the validation runs in the background.
 */
export const ORG_CALLBACKS_PER_MINUTE = 2_000;
/** A connected member's Update verifies its permissions at most this often (per account). */
export const ORG_VERIFY_INTERVAL_SECONDS = 60;

const STACK_DELETED_MESSAGE = 'The CloudFormation stack that created this role was deleted.';

export type OrgRefusalReason =
  | 'unknown_token'
  | 'wrong_role'
  | 'another_management_account'
  | 'no_management_account';

export class OrganizationCallbackRefusedError extends AppError {
  constructor(readonly reason: OrgRefusalReason) {
    super('not_found', 'Onramp expects no such callback. Download a new template from Onramp.');
  }
}

interface Deps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  aws: AwsGateway;
  audit: Pick<AuditLog, 'append'>;
  accounts: Pick<AccountsService, 'find' | 'recordHealth'>;
  permissions?: Pick<PermissionsVerify, 'verify'> | undefined;
  events?: (EventPublisher & Pick<WebhooksService, 'publishAll'>) | undefined;
  /** Accepted call-backs per organization and minute; ORG_CALLBACKS_PER_MINUTE unless given. */
  callbacksPerMinute?: number | undefined;
}

type Meta = { requestId: string; sourceIp: string };

/** The organization row's columns the jobs repository works with, from the repository's record. */
function rowOf(org: Organization): OrganizationRow {
  return {
    id: org.id,
    tenant_id: org.tenantId,
    name: org.name,
    description: org.description,
    partition: org.partition,
    status: org.status,
    bundles: JSON.stringify(org.bundles),
    regions: JSON.stringify(org.regions),
    rules: JSON.stringify(org.rules),
    deployment: org.deployment,
    deployment_region: org.deploymentRegion,
    member_role_name: org.memberRoleName,
    management_role_name: org.managementRoleName,
    external_id_prefix: org.externalIdPrefix,
    aws_organization_id: org.awsOrganizationId,
    management_account_id: org.managementAccountId,
    management_role_arn: org.managementRoleArn,
    management_stack_id: org.managementStackId,
    root_id: org.rootId,
    token_hash: org.tokenHash,
    token_issued_at: org.tokenIssuedAt,
    previous_token_hash: org.previousTokenHash,
    previous_token_until: org.previousTokenUntil,
    last_discovery_at: org.lastDiscovery?.at ?? null,
    last_discovery_ok: org.lastDiscovery ? (org.lastDiscovery.ok ? 1 : 0) : null,
    last_discovery_accounts: org.lastDiscovery?.accounts ?? null,
    last_discovery_error: org.lastDiscovery?.error ?? null,
    discovery_due_at: org.discoveryDueAt,
    discovery_claimed_by: null,
    discovery_claim_expires_at: null,
    created_at: org.createdAt,
    updated_at: org.updatedAt,
  };
}

/**
 * The call-backs of an organization's stacks (its enrollment token is the credential), and the
 * tenant's actions that feed the same machinery: the management role pasted, discovery asked for,
 * a failed member retried.
 */
export function createOrganizationCallbacks(deps: Deps) {
  const jobs = createOrganizationJobsRepository(deps.db, deps.dialect, deps.clock);
  const organizations = createOrganizationsRepository(deps.db, deps.clock);
  const limiter = createRateLimiter(deps.db, deps.clock);
  const history = createCheckHistory(deps);
  const now = () => deps.clock().toISOString();

  function audit(
    tenantId: string | null,
    meta: Meta & { actorType?: Caller['actorType']; actorId?: string | null },
    action: string,
    target: { type: string; id: string } | undefined,
    details: Record<string, unknown>,
    executor?: Kysely<Database>,
  ) {
    return deps.audit.append(
      {
        tenantId,
        actorType: meta.actorType ?? 'system',
        actorId: meta.actorId ?? null,
        action,
        ...(target ? { targetType: target.type, targetId: target.id } : {}),
        requestId: meta.requestId,
        sourceIp: meta.sourceIp,
        details,
      },
      executor,
    );
  }

  /**
   * Refuses a call-back: the same 404 whatever the reason, audited (never the token; what the caller
   * sent only cut short and hashed), and past ORG_CALLBACK_REFUSALS from one address a 429 without
   * an audit entry. Nothing else is recorded.
   */
  async function refuse(
    meta: Meta,
    reason: OrgRefusalReason,
    kind: CallbackKind,
    input: OrganizationCallback,
    org: Organization | undefined,
  ): Promise<never> {
    const limit = await limiter.hit(
      `org-callback-refused:${limitedAddress(meta.sourceIp)}`,
      ORG_CALLBACK_REFUSALS,
      ORG_CALLBACK_REFUSALS_WINDOW_SECONDS,
    );
    if (!limit.allowed) {
      if (limit.count === ORG_CALLBACK_REFUSALS + 1)
        await audit(null, meta, 'organization.callback_refusals_limited', undefined, {
          refusals: ORG_CALLBACK_REFUSALS,
          windowSeconds: ORG_CALLBACK_REFUSALS_WINDOW_SECONDS,
        });
      throw new AppError(
        'rate_limited',
        `Too many refused callbacks from this address; try again in ${limit.retryAfter} seconds.`,
        [],
        { 'retry-after': String(limit.retryAfter) },
      );
    }
    await audit(
      org?.tenantId ?? null,
      meta,
      'organization.callback_refused',
      org ? { type: 'organization', id: org.id } : undefined,
      {
        reason,
        kind,
        requestType: input.requestType,
        roleArn: untrustedText(input.roleArn),
        stackId: untrustedText(input.stackId),
      },
    );
    throw new OrganizationCallbackRefusedError(reason);
  }

  /** The role's account when the ARN is a role of the organization's partition with that name. */
  function accountOfRole(org: Organization, roleArn: string, roleName: string): string | undefined {
    const parsed = parseRoleArn(roleArn, { partition: org.partition });
    if (!parsed.ok || parsed.value.name !== roleName) return undefined;
    return parsed.value.accountId;
  }

  /** A connected member's stack was deleted: its account goes invalid, the member `failed`. */
  async function stackDeleted(meta: Meta, org: Organization, member: MemberRow): Promise<void> {
    const reason = {
      code: 'stack_deleted',
      message: STACK_DELETED_MESSAGE,
      hint: 'Deploy the member template again (or update the StackSet) to reconnect it.',
    };
    await deps.db.transaction().execute(async (trx) => {
      const moved = await jobs.setMemberState(
        org.id,
        member.aws_account_id,
        { state: 'failed', reason, from: ['connected', 'enrolling'] },
        trx,
      );
      if (!moved) return;
      await deps.events?.publishAll(
        [
          memberEvent(
            rowOf(org),
            {
              ...member,
              state: 'failed',
              reason_code: reason.code,
              reason_message: reason.message,
            },
            'organization.account_failed',
          ),
        ],
        trx,
      );
      if (!member.account_id || member.state !== 'connected') return;
      const before = await deps.accounts.find(org.tenantId, member.account_id, trx);
      if (!before || before.roleArn !== member.role_arn) return;
      const record: AccountCheckRecord = {
        id: newId('accountCheck'),
        accountId: before.id,
        at: now(),
        status: 'invalid',
        previousStatus: before.status,
        changed: before.status !== 'invalid',
        stale: false,
        checks: [
          {
            name: 'CloudFormation stack',
            status: 'failed',
            detail: `${STACK_DELETED_MESSAGE} Onramp can no longer act in this account through ${before.roleArn}.`,
            durationMs: 0,
          },
        ],
        findings: [],
        errors: [{ field: 'roleArn', ...reason }],
        durationMs: 0,
        trigger: 'stack_deleted',
      };
      if (!(await applyCheck({ ...deps, history }, trx, org.tenantId, before, record))) return;
      await audit(
        org.tenantId,
        meta,
        'account.disconnected',
        { type: 'account', id: before.id },
        {
          name: before.name,
          reason: STACK_DELETED_MESSAGE,
          roleArn: before.roleArn,
          organizationId: org.id,
          status: record.status,
          previousStatus: record.previousStatus,
          checkId: record.id,
        },
        trx,
      );
    });
  }

  /** The management account's role: recorded, discovery due now, the account a member too. */
  async function recordManagement(
    meta: Meta & { actorType?: Caller['actorType']; actorId?: string | null },
    org: Organization,
    report: { accountId: string; roleArn: string; stackId: string },
  ) {
    return deps.db.transaction().execute(async (trx) => {
      if (
        !(await jobs.recordManagement(
          { id: org.id },
          { accountId: report.accountId, roleArn: report.roleArn, stackId: report.stackId || null },
          trx,
        ))
      )
        return undefined;
      const member = await jobs.recordMemberReport(
        { id: org.id, tenant_id: org.tenantId },
        { ...report, management: true },
        trx,
      );
      await audit(
        org.tenantId,
        meta,
        'organization.management_role_recorded',
        { type: 'organization', id: org.id },
        { managementAccountId: report.accountId, roleArn: report.roleArn, stackId: report.stackId },
        trx,
      );
      return member;
    });
  }

  async function handle(
    meta: Meta,
    kind: CallbackKind,
    input: OrganizationCallback,
  ): Promise<{ state: MemberRow['state']; accountId: string | null }> {
    const found = await organizations.findByTokenHash(hashToken(input.token));
    if (!found) return refuse(meta, 'unknown_token', kind, input, undefined);
    const org = found.organization;
    const roleName = kind === 'management' ? org.managementRoleName : org.memberRoleName;
    const accountId = accountOfRole(org, input.roleArn, roleName);
    if (!accountId) return refuse(meta, 'wrong_role', kind, input, org);
    if (kind === 'management' && org.managementAccountId && org.managementAccountId !== accountId)
      return refuse(meta, 'another_management_account', kind, input, org);

    const limit = await limiter.hit(
      `org-callback:${org.id}`,
      deps.callbacksPerMinute ?? ORG_CALLBACKS_PER_MINUTE,
      60,
    );
    if (!limit.allowed)
      throw new AppError(
        'rate_limited',
        `Too many callbacks for this organization; try again in ${limit.retryAfter} seconds.`,
        [],
        { 'retry-after': String(limit.retryAfter) },
      );

    if (input.requestType === 'Delete') {
      const member = await jobs.findMember(org.id, accountId);
      if (member && member.role_arn === input.roleArn) await stackDeleted(meta, org, member);
      const after = await jobs.findMember(org.id, accountId);
      return { state: after?.state ?? 'discovered', accountId: after?.account_id ?? null };
    }
    if (kind === 'management') {
      const member = await recordManagement(meta, org, {
        accountId,
        roleArn: input.roleArn,
        stackId: input.stackId,
      });
      if (!member) return refuse(meta, 'another_management_account', kind, input, org);
      return member;
    }
    const result = await jobs.recordMemberReport(
      { id: org.id, tenant_id: org.tenantId },
      { accountId, roleArn: input.roleArn, stackId: input.stackId, management: false },
    );
    if (
      input.requestType === 'Update' &&
      result.state === 'connected' &&
      result.accountId &&
      deps.permissions &&
      (await limiter.claim(
        `org-callback-verify:${org.tenantId}:${result.accountId}`,
        ORG_VERIFY_INTERVAL_SECONDS,
      ))
    ) {
      const caller: Caller = {
        tenantId: org.tenantId,
        actorType: 'system',
        actorId: null,
        ...meta,
      };
      try {
        await deps.permissions.verify(caller, result.accountId, { source: 'stack_callback' });
      } catch (error) {
        // The stack has updated whatever Onramp answers: the next health check has it.
        await audit(
          org.tenantId,
          meta,
          'account.permissions_verify_failed',
          { type: 'account', id: result.accountId },
          {
            organizationId: org.id,
            code: error instanceof AppError ? error.code : 'internal',
          },
        );
      }
    }
    return result;
  }

  async function organizationOf(tenantId: string, id: string): Promise<Organization> {
    const org = await organizations.find(tenantId, id);
    if (!org) throw notFound('This organization');
    return org;
  }

  return {
    handle,

    /**
     * The management role's ARN, pasted (Terraform, or no public URL for the call-back): assumed as
     * discovery would, and DescribeOrganization must name its account as the management account.
     */
    async setManagementRole(caller: Caller, id: string, roleArn: string): Promise<Organization> {
      const org = await organizationOf(caller.tenantId, id);
      const parsed = parseRoleArn(roleArn, { partition: org.partition });
      if (!parsed.ok)
        throw new AppError('validation_failed', parsed.issue.message, [
          { ...parsed.issue, field: 'roleArn' },
        ]);
      const accountId = parsed.value.accountId;
      const refuse = (code: string, message: string, hint?: string): never => {
        throw new AppError('validation_failed', message, [
          { field: 'roleArn', code, message, ...(hint ? { hint } : {}) },
        ]);
      };
      if (org.managementAccountId && org.managementAccountId !== accountId)
        refuse(
          'another_management_account',
          `This organization's management account is ${org.managementAccountId}, not ${accountId}.`,
        );
      try {
        const { credentials } = await deps.aws.assumeRole(org.partition as PartitionId, {
          roleArn: parsed.value.arn,
          externalId: memberExternalId(org.externalIdPrefix, accountId),
          sessionName: 'onramp-organization',
        });
        const info = await deps.aws.describeOrganization(org.partition, credentials);
        if (info.managementAccountId !== accountId)
          refuse(
            'not_management_account',
            `This role is in ${accountId}, but the organization's management account is ${info.managementAccountId}.`,
            'Paste the role created by the management template in the management account.',
          );
      } catch (error) {
        if (error instanceof AwsProblem && error.kind === 'rejected')
          refuse(error.code, error.message, error.hint);
        throw error;
      }
      const recorded = await recordManagement(
        { ...caller, actorType: caller.actorType, actorId: caller.actorId },
        org,
        { accountId, roleArn: parsed.value.arn, stackId: '' },
      );
      if (!recorded)
        refuse(
          'another_management_account',
          'This organization already has another management account.',
        );
      return organizationOf(caller.tenantId, id);
    },

    /** Discovery due now; a replica runs it within seconds. */
    async requestDiscovery(caller: Caller, id: string): Promise<{ requestedAt: string }> {
      await organizationOf(caller.tenantId, id);
      const requestedAt = now();
      await jobs.requestDiscovery(caller.tenantId, id);
      await audit(
        caller.tenantId,
        caller,
        'organization.discovery_requested',
        { type: 'organization', id },
        {},
      );
      return { requestedAt };
    },

    /** A failed member with a role is validated again (due now); anything else is a 409. */
    async retryMember(caller: Caller, id: string, awsAccountId: string): Promise<MemberRow> {
      await organizationOf(caller.tenantId, id);
      const member = await jobs.findMember(id, awsAccountId);
      if (!member || member.tenant_id !== caller.tenantId) throw notFound('This member');
      if (member.state !== 'failed' || !member.role_arn)
        throw new AppError(
          'conflict',
          member.state === 'failed'
            ? 'This member’s stack has not reported a role yet; deploy the member template first.'
            : `Only a failed member can be retried; this one is ${member.state}.`,
          [
            {
              field: 'awsAccountId',
              code: 'not_retryable',
              message: `The member is ${member.state}.`,
            },
          ],
        );
      const moved = await jobs.setMemberState(id, awsAccountId, {
        state: 'enrolling',
        reason: null,
        enrollDueAt: now(),
        enrollAttempts: 0,
        from: ['failed'],
      });
      if (!moved) throw new AppError('conflict', 'The member changed meanwhile; reload it.');
      await audit(
        caller.tenantId,
        caller,
        'organization.member_retried',
        { type: 'organization', id },
        { awsAccountId },
      );
      return (await jobs.findMember(id, awsAccountId)) as MemberRow;
    },
  };
}

export type OrganizationCallbacks = ReturnType<typeof createOrganizationCallbacks>;
