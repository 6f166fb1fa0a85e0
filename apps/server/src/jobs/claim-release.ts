import type { Kysely } from 'kysely';
import type { Database } from '../adapters/db/schema.ts';

/**
 * Gives back every job claim the named replica owners still hold (health checks, organization
 * discoveries and enrollments, webhook deliveries), each due at `now`, so another replica — or this
 * one restarted — takes the work at once instead of waiting for the claim's lease to expire (up to
 * 15 minutes). Run at shutdown, once the jobs stopped or the shutdown's time ran out: a claim whose
 * work did finish was released by that work already, so only work cut short is handed back, and the
 * owner condition keeps a claim another replica took over untouched. Returns how many were released.
 */
export async function releaseHeldClaims(
  db: Kysely<Database>,
  owners: readonly string[],
  now: string,
): Promise<number> {
  if (owners.length === 0) return 0;
  const results = await Promise.all([
    db
      .updateTable('health_schedule')
      .set({ next_run_at: now, claimed_by: null, claim_expires_at: null })
      .where('claimed_by', 'in', owners)
      .executeTakeFirst(),
    db
      .updateTable('organizations')
      .set({ discovery_due_at: now, discovery_claimed_by: null, discovery_claim_expires_at: null })
      .where('discovery_claimed_by', 'in', owners)
      .executeTakeFirst(),
    db
      .updateTable('organization_members')
      .set({ enroll_due_at: now, claimed_by: null, claim_expires_at: null })
      .where('claimed_by', 'in', owners)
      .executeTakeFirst(),
    // A delivery keeps its next attempt time: it was due when it was claimed.
    db
      .updateTable('webhook_deliveries')
      .set({ claimed_by: null, claim_expires_at: null })
      .where('claimed_by', 'in', owners)
      .executeTakeFirst(),
  ]);
  return results.reduce((sum, result) => sum + Number(result.numUpdatedRows), 0);
}
