import type { Kysely } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { AccountCheckRecord } from '../../domain/account.ts';
import { createHealthRepository } from './health-repository.ts';

/**
 * An account's health history, for the features that record a check of their own (a validation at
 * connect time, a stack's deletion). Apart from the health service, which needs the accounts service:
 * the accounts service records here without a cycle between the two.
 */
export function createCheckHistory(deps: { db: Kysely<Database>; dialect: Dialect }) {
  const repo = createHealthRepository(deps.db, deps.dialect);
  return {
    /** Appends a check; in the caller's transaction when given, with the change it records. */
    record(tenantId: string, record: AccountCheckRecord, trx?: Kysely<Database>): Promise<void> {
      return repo.insertCheck(tenantId, record, trx ?? deps.db);
    },
    /**
     * The sequence number of the account's newest check, or null: a caller that validated before its
     * transaction compares it to know whether another check was recorded meanwhile.
     */
    async latestSeq(
      tenantId: string,
      accountId: string,
      trx?: Kysely<Database>,
    ): Promise<number | null> {
      const row = await (trx ?? deps.db)
        .selectFrom('account_checks')
        .select('seq')
        .where('tenant_id', '=', tenantId)
        .where('account_id', '=', accountId)
        .orderBy('seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row ? Number(row.seq) : null;
    },
  };
}

export type CheckHistory = ReturnType<typeof createCheckHistory>;
