import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { PartitionId } from '@onramp/core';
import type { ScheduleClaim } from '../features/health/health-repository.ts';
import {
  DEFAULT_HEALTH,
  type HealthService,
  type HealthSettings,
} from '../features/health/health-service.ts';
import { type JobLog, silentLog } from './job-log.ts';
import { createJobLoop } from './job-loop.ts';
import { createTokenBucket, type TokenBucket } from './token-bucket.ts';

export interface HealthSchedulerOptions {
  /** This replica's name in claims. Default: host, process id and a random suffix. */
  owner?: string;
  /** How often the loop looks for due checks. Default 5 s. */
  tickMs?: number;
  /** How long a claim holds before another replica may take the check over. Default 10 minutes. */
  claimMs?: number;
  log?: JobLog;
}

export function replicaName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * Checks every account on a schedule. Replicas share the `health_schedule` table: each claims due rows
 * (exactly one replica gets each), checks them with bounded concurrency and a per-partition rate, and
 * sets the next run. A replica that dies mid-check holds its claims until they expire; then another
 * takes them over. Accounts without a schedule row (new ones) get one, spread over the interval.
 */
/** What the scheduler runs on: the health service of the one service graph (wiring.ts). */
export interface HealthSchedulerDeps {
  health: HealthService;
  clock: () => Date;
  healthSettings?: HealthSettings | undefined;
}

export function createHealthScheduler(
  deps: HealthSchedulerDeps,
  options: HealthSchedulerOptions = {},
) {
  const { health } = deps;
  const repo = health.repository;
  const owner = options.owner ?? replicaName();
  const log = options.log ?? silentLog;
  const claimMs = options.claimMs ?? 10 * 60_000;
  const concurrency = deps.healthSettings?.concurrency ?? DEFAULT_HEALTH.concurrency;
  const ratePerSecond = deps.healthSettings?.ratePerSecond ?? DEFAULT_HEALTH.ratePerSecond;
  const buckets = new Map<PartitionId, TokenBucket>();
  const bucketOf = (partition: PartitionId) => {
    let bucket = buckets.get(partition);
    if (!bucket) {
      bucket = createTokenBucket({ ratePerSecond });
      buckets.set(partition, bucket);
    }
    return bucket;
  };

  /** Gives every account without a schedule row one, 500 rows per statement. */
  async function scheduleNewAccounts(): Promise<number> {
    let scheduled = 0;
    for (;;) {
      const now = deps.clock();
      const unscheduled = await repo.findUnscheduled(500);
      await repo.addSchedule(
        unscheduled.map((a) => ({
          accountId: a.id,
          tenantId: a.tenantId,
          nextRunAt: health.firstRunOf(a.lastCheckedAt, now),
        })),
      );
      scheduled += unscheduled.length;
      if (unscheduled.length < 500) return scheduled;
    }
  }

  async function runClaim(claim: ScheduleClaim) {
    let failures = claim.failures;
    try {
      const result = await health.check(
        claim.tenantId,
        claim.accountId,
        claim.requested ?? 'schedule',
        {
          beforeAws: (partition) => bucketOf(partition).take(),
          // A re-check of a whole filter runs here too: paced, and reading policies as the
          // schedule does, not once per account of the fleet.
          fromSchedule: true,
        },
      );
      if (!result) return false;
      if (result.superseded) {
        // Another check of the account was recorded meanwhile: it stands, the next is a full interval on.
        failures = 0;
        log.info(
          { accountId: claim.accountId },
          'health check superseded by a newer one; not recorded',
        );
        return false;
      }
      failures = result.record.stale ? claim.failures + 1 : 0;
      if (result.record.stale) {
        log.warn(
          { accountId: claim.accountId, failures },
          'health check could not reach AWS; kept the previous health, will retry',
        );
      } else if (result.record.changed) {
        log.info(
          {
            accountId: claim.accountId,
            status: result.record.status,
            previousStatus: result.record.previousStatus,
          },
          'account health changed',
        );
      }
      return true;
    } catch (error) {
      failures = claim.failures + 1;
      log.error({ err: error, accountId: claim.accountId }, 'health check failed');
      return false;
    } finally {
      await repo
        .reschedule(
          claim.accountId,
          { nextRunAt: health.nextRunAfter(deps.clock(), failures), failures },
          { owner },
        )
        .catch((error: unknown) =>
          log.error({ err: error, accountId: claim.accountId }, 'could not reschedule'),
        );
    }
  }

  /**
   * One pass: schedule new accounts, then check every due account. `concurrency` workers share a
   * queue that is refilled by claiming (one claim at a time, `concurrency` rows each) whenever it runs
   * dry, so a slow check never holds the others back; the pass ends when nothing is due.
   */
  async function runOnce(signal: { stopping: boolean } = { stopping: false }): Promise<number> {
    await scheduleNewAccounts();
    let checked = 0;
    const queue: ScheduleClaim[] = [];
    let claiming: Promise<boolean> | undefined;
    let exhausted = false;
    const refill = () => {
      claiming ??= (async () => {
        const at = deps.clock();
        const claims = await repo.claimDue(
          owner,
          at.toISOString(),
          new Date(at.getTime() + claimMs).toISOString(),
          concurrency,
        );
        queue.push(...claims);
        if (claims.length === 0) exhausted = true;
        return claims.length > 0;
      })().finally(() => {
        claiming = undefined;
      });
      return claiming;
    };
    const worker = async () => {
      while (!signal.stopping) {
        const claim = queue.shift();
        if (claim) {
          if (await runClaim(claim)) checked += 1;
          continue;
        }
        if (exhausted || !(await refill())) {
          if (queue.length === 0) return;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    // Claimed but not started (stopping): released for the next pass or another replica.
    await Promise.all(
      queue
        .splice(0)
        .map((claim) => repo.release(claim.accountId, owner, deps.clock().toISOString())),
    );
    return checked;
  }

  const loop = createJobLoop(runOnce, options.tickMs ?? 5_000, (error) =>
    log.error({ err: error }, 'health scheduler pass failed'),
  );

  return { owner, runOnce, scheduleNewAccounts, start: loop.start, stop: loop.stop };
}

export type HealthScheduler = ReturnType<typeof createHealthScheduler>;
