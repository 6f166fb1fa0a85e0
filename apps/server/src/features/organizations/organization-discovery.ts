import {
  describeRuleVerdict,
  evaluateOrganizationRules,
  type OrganizationRules,
  type PartitionId,
} from '@onramp/core';
import type { Kysely } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import { createTokenBucket, type TokenBucket } from '../../jobs/token-bucket.ts';
import {
  type AwsGateway,
  AwsProblem,
  type OrganizationAccountInfo,
  type OrganizationsPage,
  type TemporaryCredentials,
} from '../../ports/aws-gateway.ts';
import type { WebhookEvent, WebhooksService } from '../webhooks/webhooks-service.ts';
import { managementSession, retryTransient } from './organization-aws.ts';
import {
  createOrganizationJobsRepository,
  type ListedMember,
  type MemberRow,
  type MemberState,
  type OrganizationRow,
  pathOf,
  rulesOf,
} from './organization-jobs-repository.ts';

export const DEFAULT_DISCOVERY_MINUTES = 60;

export type MemberEventType =
  | 'organization.account_discovered'
  | 'organization.account_connected'
  | 'organization.account_failed'
  | 'organization.account_left';
/** Organizations calls per second per partition and replica: AWS allows a few per second per account. */
export const DISCOVERY_CALLS_PER_SECOND = 5;
/** Members written per transaction: a 5,000-account organization is ten short transactions. */
export const MEMBER_PAGE = 500;
/** AWS statuses of an account that is leaving: Onramp treats it as gone. */
const LEAVING = new Set(['SUSPENDED', 'PENDING_CLOSURE']);

export interface DiscoveryDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  aws: AwsGateway;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** The webhook outbox: events are written in the transaction of the change they announce. */
  events?: Pick<WebhooksService, 'publishAll'> | undefined;
  organizationSettings?: { discoveryMinutes?: number } | undefined;
}

/** A member event's data (organizationMemberEventSchema). */
export function memberEvent(
  org: Pick<OrganizationRow, 'id' | 'tenant_id' | 'aws_organization_id'>,
  member: Pick<MemberRow, 'aws_account_id' | 'name' | 'state' | 'account_id'> & {
    reason_code: string | null;
    reason_message: string | null;
  },
  type: MemberEventType,
): WebhookEvent {
  return {
    tenantId: org.tenant_id,
    type,
    data: {
      organizationId: org.id,
      awsOrganizationId: org.aws_organization_id,
      awsAccountId: member.aws_account_id,
      name: member.name,
      state: member.state,
      accountId: member.account_id,
      reason:
        member.reason_code !== null
          ? { code: member.reason_code, message: member.reason_message ?? '' }
          : null,
    },
  };
}

interface Transition {
  row: MemberRow;
  event?: MemberEventType;
  /** The member's account to pause (a reason) or resume (null); undefined: unchanged. */
  pause?: string | null;
}

/**
 * What one listed member becomes: what AWS says of it, and its state by the rules and where it was.
 * Leaving (SUSPENDED, PENDING_CLOSURE) → `left`; not admitted → `excluded`; admitted again after
 * either → `connected` (its account exists), `enrolling` (its stack reported a role) or `discovered`.
 */
export function transitionOf(
  org: OrganizationRow,
  rules: OrganizationRules,
  existing: MemberRow | undefined,
  listed: ListedMember,
  at: string,
): Transition {
  const base: MemberRow = existing ?? {
    organization_id: org.id,
    tenant_id: org.tenant_id,
    aws_account_id: listed.awsAccountId,
    name: '',
    email: '',
    aws_status: null,
    parent_id: null,
    path: '[]',
    management: listed.awsAccountId === org.management_account_id ? 1 : 0,
    state: 'discovered',
    reason_code: null,
    reason_message: null,
    reason_hint: null,
    role_arn: null,
    stack_id: null,
    connection_id: null,
    account_id: null,
    confirmed: 1,
    enroll_due_at: null,
    enroll_attempts: 0,
    claimed_by: null,
    claim_expires_at: null,
    discovered_at: at,
    seen_at: at,
    state_changed_at: at,
    created_at: at,
    updated_at: at,
  };
  const row: MemberRow = {
    ...base,
    name: listed.name,
    email: listed.email,
    aws_status: listed.awsStatus,
    parent_id: listed.parentId,
    path: JSON.stringify(listed.path),
    confirmed: 1,
    seen_at: at,
    discovered_at: base.discovered_at ?? at,
    updated_at: at,
  };
  const become = (
    state: MemberState,
    reason: { code: string; message: string; hint?: string } | null,
  ): MemberRow => ({
    ...row,
    state,
    reason_code: reason?.code ?? null,
    reason_message: reason?.message ?? null,
    reason_hint: reason?.hint ?? null,
    enroll_due_at: state === 'enrolling' ? at : null,
    enroll_attempts: state === 'enrolling' ? 0 : row.enroll_attempts,
    claimed_by: state === 'enrolling' ? row.claimed_by : null,
    claim_expires_at: state === 'enrolling' ? row.claim_expires_at : null,
    state_changed_at: state === base.state && existing ? base.state_changed_at : at,
  });

  if (LEAVING.has(listed.awsStatus)) {
    if (existing?.state === 'left') return { row };
    return {
      row: become('left', {
        code: 'account_closed',
        message: `AWS Organizations reports the account ${listed.awsStatus}.`,
      }),
      event: 'organization.account_left',
      ...(row.account_id ? { pause: 'organization_left' } : {}),
    };
  }
  const verdict = evaluateOrganizationRules(rules, {
    accountId: listed.awsAccountId,
    path: listed.path,
  });
  if (!verdict.admitted) {
    if (existing?.state === 'excluded') return { row };
    return {
      row: become('excluded', {
        code: 'excluded_by_rules',
        message: describeRuleVerdict(verdict),
        hint: 'Change the organization’s rules to connect it.',
      }),
      ...(existing ? {} : { event: 'organization.account_discovered' as const }),
      ...(row.account_id ? { pause: 'organization_excluded' } : {}),
    };
  }
  if (!existing)
    return { row: become('discovered', null), event: 'organization.account_discovered' };
  if (existing.state === 'excluded' || existing.state === 'left') {
    // Back in the organization, or admitted by new rules.
    if (row.account_id) return { row: become('connected', null), pause: null };
    return {
      row: become(row.role_arn ? 'enrolling' : 'discovered', null),
      event: 'organization.account_discovered',
    };
  }
  return { row };
}

/**
 * Discovery: reads an organization through its management role (DescribeOrganization, the root, the
 * OU tree, the accounts of each unit, ListAccounts), paced per partition and retried while AWS
 * throttles, then records units and members in one transaction per MEMBER_PAGE members. Exactly one
 * replica discovers an organization at a time (the claim on `organizations`).
 */
export function createOrganizationDiscovery(deps: DiscoveryDeps) {
  const repo = createOrganizationJobsRepository(deps.db, deps.dialect, deps.clock);
  const sleep = deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const intervalMs =
    (deps.organizationSettings?.discoveryMinutes ?? DEFAULT_DISCOVERY_MINUTES) * 60_000;
  const buckets = new Map<PartitionId, TokenBucket>();
  const bucketOf = (partition: PartitionId) => {
    let bucket = buckets.get(partition);
    if (!bucket) {
      bucket = createTokenBucket({ ratePerSecond: DISCOVERY_CALLS_PER_SECOND, sleep });
      buckets.set(partition, bucket);
    }
    return bucket;
  };
  const now = () => deps.clock().toISOString();

  async function publish(events: WebhookEvent[], trx: Kysely<Database>) {
    if (deps.events && events.length > 0) await deps.events.publishAll(events, trx);
  }

  /** Reads the organization (every page of every list). */
  async function read(org: OrganizationRow) {
    const partition = org.partition as PartitionId;
    const call = <T>(fn: () => Promise<T>) =>
      retryTransient(async () => {
        await bucketOf(partition).take();
        return fn();
      }, sleep);
    const all = async <T>(
      page: (token: string | null) => Promise<OrganizationsPage<T>>,
    ): Promise<T[]> => {
      const items: T[] = [];
      let token: string | null = null;
      do {
        const current: OrganizationsPage<T> = await call(() => page(token));
        items.push(...current.items);
        token = current.nextToken;
      } while (token);
      return items;
    };
    const session: TemporaryCredentials = await call(() => managementSession(deps.aws, org));
    const info = await call(() => deps.aws.describeOrganization(partition, session));
    if (org.management_account_id && info.managementAccountId !== org.management_account_id)
      throw new AwsProblem(
        'rejected',
        'managementRoleArn',
        'not_management_account',
        `The management role is in ${org.management_account_id}, but the organization's management account is ${info.managementAccountId}.`,
        'Deploy the management template in the management account.',
      );
    const roots = await all((t) => deps.aws.listRoots(partition, session, t));
    const root = roots[0];
    if (!root)
      throw new AwsProblem(
        'rejected',
        'managementRoleArn',
        'no_root',
        'The organization has no root.',
      );
    const units: { id: string; name: string; parentId: string | null; path: string[] }[] = [
      { id: root.id, name: root.name, parentId: null, path: [root.id] },
    ];
    for (let i = 0; i < units.length; i++) {
      const parent = units[i] as (typeof units)[number];
      const children = await all((t) =>
        deps.aws.listOrganizationalUnitsForParent(partition, session, parent.id, t),
      );
      for (const child of children)
        units.push({
          id: child.id,
          name: child.name,
          parentId: parent.id,
          path: [...parent.path, child.id],
        });
    }
    const placement = new Map<string, { parentId: string; path: string[] }>();
    for (const unit of units) {
      const accounts = await all((t) =>
        deps.aws.listAccountsForParent(partition, session, unit.id, t),
      );
      for (const account of accounts)
        placement.set(account.id, { parentId: unit.id, path: unit.path });
    }
    const accounts: OrganizationAccountInfo[] = await all((t) =>
      deps.aws.listAccounts(partition, session, t),
    );
    const listed: ListedMember[] = accounts.map((a) => ({
      awsAccountId: a.id,
      name: a.name,
      email: a.email,
      awsStatus: a.status,
      parentId: placement.get(a.id)?.parentId ?? null,
      path: placement.get(a.id)?.path ?? [],
    }));
    return { info, root, units, listed };
  }

  /** Discovers one claimed organization and records the outcome. */
  async function discover(claimed: OrganizationRow, owner: string): Promise<boolean> {
    const startedAt = now();
    try {
      const { info, root, units, listed } = await read(claimed);
      // Read again: the rules may have changed while AWS was asked.
      const org = (await repo.findOrganization(claimed.id)) ?? claimed;
      const current = { ...org, aws_organization_id: info.id };
      const rules = rulesOf(org);
      await deps.db.transaction().execute((trx) => repo.saveUnits(org, units, startedAt, trx));
      for (let i = 0; i < listed.length; i += MEMBER_PAGE) {
        const page = listed.slice(i, i + MEMBER_PAGE);
        await deps.db.transaction().execute(async (trx) => {
          const existing = new Map(
            (
              await repo.lockMembers(
                org.id,
                page.map((m) => m.awsAccountId),
                trx,
              )
            ).map((m) => [m.aws_account_id, m]),
          );
          const at = now();
          const transitions = page.map((m) =>
            transitionOf(current, rules, existing.get(m.awsAccountId), m, at),
          );
          const isKnown = (t: Transition) => existing.has(t.row.aws_account_id);
          await repo.writeMembers(
            transitions.filter(isKnown).map((t) => t.row),
            trx,
          );
          await repo.insertListedMembers(
            transitions.filter((t) => !isKnown(t)).map((t) => t.row),
            trx,
          );
          for (const reason of ['organization_left', 'organization_excluded', null] as const) {
            await repo.pauseAccounts(
              org.tenant_id,
              transitions
                .filter((t) => t.pause === reason && t.row.account_id)
                .map((t) => t.row.account_id as string),
              reason,
              trx,
            );
          }
          await publish(
            transitions.flatMap((t) => (t.event ? [memberEvent(current, t.row, t.event)] : [])),
            trx,
          );
        });
      }
      await deps.db.transaction().execute(async (trx) => {
        const gone = await repo.findGone(org.id, startedAt, trx);
        const at = now();
        const rows = gone.map(
          (m): MemberRow => ({
            ...m,
            state: 'left',
            reason_code: 'left_organization',
            reason_message: 'The account is no longer in the organization.',
            reason_hint: null,
            enroll_due_at: null,
            claimed_by: null,
            claim_expires_at: null,
            state_changed_at: at,
            updated_at: at,
          }),
        );
        await repo.writeMembers(rows, trx);
        await repo.pauseAccounts(
          org.tenant_id,
          rows.flatMap((r) => (r.account_id ? [r.account_id] : [])),
          'organization_left',
          trx,
        );
        await publish(
          rows.map((r) => memberEvent(current, r, 'organization.account_left')),
          trx,
        );
      });
      return repo.finishDiscovery(org.id, owner, {
        ok: true,
        accounts: listed.length,
        error: null,
        nextDueAt: new Date(deps.clock().getTime() + intervalMs).toISOString(),
        awsOrganizationId: info.id,
        rootId: root.id,
      });
    } catch (error) {
      const message =
        error instanceof AwsProblem || error instanceof Error
          ? error.message
          : 'Onramp failed unexpectedly.';
      await repo.finishDiscovery(claimed.id, owner, {
        ok: false,
        accounts: 0,
        error: message,
        nextDueAt: new Date(deps.clock().getTime() + intervalMs).toISOString(),
      });
      if (!(error instanceof AwsProblem)) throw error;
      return false;
    }
  }

  return {
    repository: repo,
    /** One pass: every due organization this replica can claim, one after another. */
    async runOnce(owner: string, claimMs = 15 * 60_000): Promise<number> {
      let discovered = 0;
      for (;;) {
        const until = new Date(deps.clock().getTime() + claimMs).toISOString();
        const [claimed] = await repo.claimDiscoveries(owner, until, 1);
        if (!claimed) return discovered;
        await discover(claimed, owner);
        discovered += 1;
      }
    },
    discover,
    pathOf,
  };
}

export type OrganizationDiscovery = ReturnType<typeof createOrganizationDiscovery>;
