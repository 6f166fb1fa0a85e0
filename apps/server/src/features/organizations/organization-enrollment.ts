import {
  describeRuleVerdict,
  evaluateOrganizationRules,
  memberExternalId,
  type PartitionId,
} from '@onramp/core';
import type { Kysely } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { Caller } from '../../domain/caller.ts';
import { AppError } from '../../http/problems.ts';
import { newId } from '../../ids.ts';
import { runLimited } from '../../jobs/job-loop.ts';
import { createTokenBucket, type TokenBucket } from '../../jobs/token-bucket.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import { type AwsGateway, AwsProblem } from '../../ports/aws-gateway.ts';
import type { AccountsService } from '../accounts/accounts-service.ts';
import type { WebhooksService } from '../webhooks/webhooks-service.ts';
import {
  AWS_ATTEMPTS,
  isTransient,
  managementSession,
  retryTransient,
} from './organization-aws.ts';
import { type MemberEventType, memberEvent } from './organization-discovery.ts';
import {
  createOrganizationJobsRepository,
  type MemberRow,
  type OrganizationRow,
  pathOf,
  rulesOf,
} from './organization-jobs-repository.ts';

export const DEFAULT_ENROLL_CONCURRENCY = 8;
/**
 * Enrollments started per second per partition and replica: a StackSet reporting 5,000 accounts at
 * once is validated at this pace, so the health checks sharing AWS's limits keep theirs.
 */
export const ENROLLMENTS_PER_SECOND = 5;
/** How long a claim holds before another replica may take the member over. */
export const ENROLL_CLAIM_MS = 5 * 60_000;
const LEAVING = new Set(['SUSPENDED', 'PENDING_CLOSURE']);

export interface EnrollmentDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  aws: AwsGateway;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  audit: Pick<AuditLog, 'append'>;
  accounts: Pick<AccountsService, 'create' | 'remove' | 'setPaused'>;
  events?: Pick<WebhooksService, 'publishAll'> | undefined;
  organizationSettings?: { enrollConcurrency?: number } | undefined;
}

type Reason = { code: string; message: string; hint?: string | undefined };

/** A name for the member's account: what AWS calls it and its ID (names are unique per tenant). */
function accountNameOf(member: MemberRow): string {
  const printable = member.name.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '').trim();
  return printable
    ? `${printable.slice(0, 80)} (${member.aws_account_id})`
    : `AWS account ${member.aws_account_id}`;
}

/** What a failed create says, as a member's reason. */
function reasonOf(error: unknown): Reason {
  if (error instanceof AppError) {
    const first = error.errors[0];
    return first
      ? { code: first.code, message: first.message, hint: first.hint }
      : { code: error.code, message: error.message };
  }
  if (error instanceof AwsProblem)
    return { code: error.code, message: error.message, hint: error.hint };
  return { code: 'internal', message: 'Onramp failed unexpectedly.' };
}

/**
 * The enrollment worker: claims members whose stacks reported a role (`enrolling`), confirms through
 * the management role that an account not yet discovered is a member, applies the rules, and connects
 * the role as an account like any other (the same validation: identity, external ID, confused-deputy
 * check, permissions). AWS not answering is retried with backoff, up to AWS_ATTEMPTS times.
 */
export function createOrganizationEnrollment(deps: EnrollmentDeps) {
  const repo = createOrganizationJobsRepository(deps.db, deps.dialect, deps.clock);
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const concurrency = deps.organizationSettings?.enrollConcurrency ?? DEFAULT_ENROLL_CONCURRENCY;
  const buckets = new Map<PartitionId, TokenBucket>();
  const bucketOf = (partition: PartitionId) => {
    let bucket = buckets.get(partition);
    if (!bucket) {
      bucket = createTokenBucket({ ratePerSecond: ENROLLMENTS_PER_SECOND, sleep });
      buckets.set(partition, bucket);
    }
    return bucket;
  };
  const now = () => deps.clock().toISOString();

  async function publish(
    org: OrganizationRow,
    member: MemberRow,
    type: MemberEventType,
    trx: Kysely<Database>,
  ) {
    if (deps.events) await deps.events.publishAll([memberEvent(org, member, type)], trx);
  }

  /** Moves the claimed member on, with its event, in one transaction; false if it changed meanwhile. */
  async function settle(
    org: OrganizationRow,
    member: MemberRow,
    owner: string,
    change: {
      state: 'connected' | 'failed' | 'excluded' | 'left';
      reason: Reason | null;
      accountId?: string;
    },
  ): Promise<boolean> {
    return deps.db.transaction().execute(async (trx) => {
      const moved = await repo.setMemberState(
        org.id,
        member.aws_account_id,
        {
          state: change.state,
          reason: change.reason,
          ...(change.accountId ? { accountId: change.accountId } : {}),
          from: ['enrolling'],
          owner,
        },
        trx,
      );
      if (!moved) {
        // Excluded or left while its account was being connected (rules changed, discovery): the
        // account is kept as the member's, paused like the member, never left unlinked and checked.
        const current = await repo.findMember(org.id, member.aws_account_id, trx);
        if (change.accountId && current && !current.account_id) {
          await repo.linkAccount(org.tenant_id, change.accountId, org.id, trx);
          await repo.setMemberAccount(org.id, member.aws_account_id, change.accountId, trx);
          if (current.state === 'excluded' || current.state === 'left')
            await deps.accounts.setPaused(
              org.tenant_id,
              [change.accountId],
              current.state === 'left' ? 'organization_left' : 'organization_excluded',
              trx,
            );
        }
        return false;
      }
      if (change.accountId) {
        await repo.linkAccount(org.tenant_id, change.accountId, org.id, trx);
        if (change.state === 'excluded' || change.state === 'left')
          await deps.accounts.setPaused(
            org.tenant_id,
            [change.accountId],
            change.state === 'left' ? 'organization_left' : 'organization_excluded',
            trx,
          );
      }
      const row: MemberRow = {
        ...member,
        state: change.state,
        account_id: change.accountId ?? member.account_id,
        reason_code: change.reason?.code ?? null,
        reason_message: change.reason?.message ?? null,
      };
      const type: MemberEventType | undefined =
        change.state === 'connected'
          ? 'organization.account_connected'
          : change.state === 'failed'
            ? 'organization.account_failed'
            : change.state === 'left'
              ? 'organization.account_left'
              : undefined;
      if (type) await publish(org, row, type, trx);
      return true;
    });
  }

  /**
   * Confirms through the management role that the account is a member (DescribeAccount, then its
   * parents up to the root). Undefined when AWS says it is not: the report was not the organization's.
   */
  async function confirm(org: OrganizationRow, member: MemberRow) {
    const partition = org.partition as PartitionId;
    const session = await retryTransient(() => managementSession(deps.aws, org), sleep);
    let info: Awaited<ReturnType<AwsGateway['describeAccount']>>;
    try {
      info = await retryTransient(
        () => deps.aws.describeAccount(partition, session, member.aws_account_id),
        sleep,
      );
    } catch (error) {
      if (
        error instanceof AwsProblem &&
        error.kind === 'rejected' &&
        (error.awsCode === 'AccountNotFoundException' ||
          error.code === 'account_not_in_organization')
      )
        return undefined;
      throw error;
    }
    const path: string[] = [];
    let child = member.aws_account_id;
    // An OU tree is at most five levels deep below the root; ten guards against a loop.
    for (let depth = 0; depth < 10; depth++) {
      const parent = await retryTransient(
        () => deps.aws.listParents(partition, session, child),
        sleep,
      );
      path.unshift(parent.id);
      if (parent.type === 'ROOT') break;
      child = parent.id;
    }
    const listed = {
      awsAccountId: member.aws_account_id,
      name: info.name,
      email: info.email,
      awsStatus: info.status,
      parentId: path.at(-1) ?? null,
      path,
    };
    await repo.confirmMember(org.id, listed);
    return listed;
  }

  /** The member's connection: made once, kept across retries and replicas. */
  async function connectionOf(org: OrganizationRow, member: MemberRow): Promise<string> {
    if (member.connection_id) return member.connection_id;
    const id = newId('connection');
    await repo.createMemberConnection(org, {
      id,
      name: accountNameOf(member),
      externalId: memberExternalId(org.external_id_prefix, member.aws_account_id),
      roleName: member.management ? org.management_role_name : org.member_role_name,
    });
    if (await repo.setMemberConnection(org.id, member.aws_account_id, id)) return id;
    // Another run (a replica that took over an expired claim) set one first: use it.
    await repo.deleteConnection(org.tenant_id, id);
    const current = await repo.findMember(org.id, member.aws_account_id);
    if (!current?.connection_id) throw new Error('member connection vanished');
    return current.connection_id;
  }

  /**
   * The organization was deleted while its member's account was being made: the deletion removed
   * the accounts linked to it, not this one (linked only when the member settles), so it goes too.
   */
  async function dropIfOrphan(org: OrganizationRow, caller: Caller, accountId: string) {
    if (await repo.findOrganization(org.id)) return;
    try {
      await deps.accounts.remove(caller, accountId);
    } catch (error) {
      // Removed meanwhile, or adopted by another organization: nothing of this one is left.
      if (!(error instanceof AppError)) throw error;
    }
  }

  async function enroll(claimed: MemberRow, owner: string): Promise<void> {
    const org = await repo.findOrganization(claimed.organization_id);
    if (!org) return;
    let member = claimed;
    const caller: Caller = {
      tenantId: org.tenant_id,
      actorType: 'system',
      actorId: null,
      requestId: newId('request'),
      sourceIp: '',
    };
    try {
      await bucketOf(org.partition as PartitionId).take();
      if (Number(member.confirmed) !== 1) {
        const listed = await confirm(org, member);
        if (!listed) {
          // Not a member: whoever holds the token reported an account outside the organization.
          await deps.db.transaction().execute(async (trx) => {
            await repo.deleteMember(org.id, member.aws_account_id, trx);
            await deps.audit.append(
              {
                tenantId: org.tenant_id,
                actorType: 'system',
                actorId: null,
                action: 'organization.enrollment_refused',
                targetType: 'organization',
                targetId: org.id,
                requestId: caller.requestId,
                details: {
                  awsAccountId: member.aws_account_id,
                  roleArn: member.role_arn,
                  reason: 'not_in_organization',
                },
              },
              trx,
            );
          });
          if (member.connection_id)
            await repo.deleteConnection(org.tenant_id, member.connection_id);
          return;
        }
        member = { ...member, path: JSON.stringify(listed.path), name: listed.name };
        if (LEAVING.has(listed.awsStatus)) {
          await settle(org, member, owner, {
            state: 'left',
            reason: {
              code: 'account_closed',
              message: `AWS Organizations reports the account ${listed.awsStatus}.`,
            },
          });
          return;
        }
      }
      const verdict = evaluateOrganizationRules(rulesOf(org), {
        accountId: member.aws_account_id,
        path: pathOf(member),
      });
      if (!verdict.admitted) {
        await settle(org, member, owner, {
          state: 'excluded',
          reason: {
            code: 'excluded_by_rules',
            message: describeRuleVerdict(verdict),
            hint: 'Change the organization’s rules to connect it.',
          },
          ...(member.account_id ? { accountId: member.account_id } : {}),
        });
        return;
      }
      if (!member.role_arn) {
        // Only a stack's report makes a member enrolling, with its role: a row that says otherwise
        // is settled (retried, it would come back every time its claim expired).
        await settle(org, member, owner, {
          state: 'failed',
          reason: {
            code: 'role_not_reported',
            message: 'Onramp has no role for this account: its stack has not reported one.',
            hint: 'Deploy the member template in the account (or let the StackSet reach it).',
          },
        });
        return;
      }
      const connectionId = await connectionOf(org, member);
      // An earlier run connected the account and stopped before recording it.
      const earlier = await repo.connectedAccountOf(org.tenant_id, connectionId);
      if (earlier) {
        await settle(org, member, owner, { state: 'connected', reason: null, accountId: earlier });
        return;
      }
      let accountId: string;
      try {
        const account = await deps.accounts.create(
          caller,
          {
            method: 'role',
            connectionId,
            roleArn: member.role_arn,
            acceptMissingPermissions: true,
          },
          { waitForPropagation: true, roleOrigin: 'stack_callback' },
        );
        accountId = account.id;
      } catch (error) {
        if (!(error instanceof AppError) || error.code !== 'conflict') throw error;
        // Connected already: this connection by another run, or the same role as an account of the
        // tenant (connected alone before the organization): adopted.
        // Never another organization's: two organizations of a tenant reporting the same role would
        // otherwise move the account from one to the other.
        const byRole = await repo.findAccountByRole(org.tenant_id, member.role_arn);
        const adopted =
          (await repo.connectedAccountOf(org.tenant_id, connectionId)) ??
          (byRole && (byRole.organizationId ?? org.id) === org.id ? byRole.id : undefined);
        if (!adopted) throw error;
        accountId = adopted;
      }
      if (!(await settle(org, member, owner, { state: 'connected', reason: null, accountId })))
        await dropIfOrphan(org, caller, accountId);
    } catch (error) {
      const transient =
        isTransient(error) || (error instanceof AppError && error.code === 'upstream_unavailable');
      const attempts = Number(member.enroll_attempts) + 1;
      if (transient && attempts < AWS_ATTEMPTS) {
        const delayMs = 30_000 * 2 ** (attempts - 1);
        await repo.retryLater(
          org.id,
          member.aws_account_id,
          owner,
          new Date(deps.clock().getTime() + delayMs).toISOString(),
          attempts,
        );
        return;
      }
      const reason = transient
        ? {
            code: 'aws_unavailable',
            message: `AWS did not answer after ${AWS_ATTEMPTS} attempts: ${reasonOf(error).message}`,
            hint: 'Retry the member later.',
          }
        : reasonOf(error);
      await settle(org, member, owner, { state: 'failed', reason });
      if (!(error instanceof AppError || error instanceof AwsProblem)) throw error;
    }
  }

  return {
    /**
     * One pass: claims due members `concurrency` at a time and enrolls them side by side until none
     * is due. Returns how many were handled.
     */
    async runOnce(
      owner: string,
      signal: { stopping: boolean } = { stopping: false },
      claimMs = ENROLL_CLAIM_MS,
    ): Promise<number> {
      let handled = 0;
      while (!signal.stopping) {
        const until = new Date(deps.clock().getTime() + claimMs).toISOString();
        const claims = await repo.claimEnrollments(owner, until, concurrency);
        if (claims.length === 0) break;
        await runLimited(claims, concurrency, async (claim) => {
          try {
            await enroll(claim, owner);
          } catch {
            // Recorded as `failed` above; one member's bug never stops the others.
          }
        });
        handled += claims.length;
      }
      return handled;
    },
    enroll,
    now,
  };
}

export type OrganizationEnrollment = ReturnType<typeof createOrganizationEnrollment>;
