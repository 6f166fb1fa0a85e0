import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../dialect.ts';

/**
 * A check someone asked for (POST /v1/accounts/recheck) runs through the health schedule, paced like
 * every scheduled check, but is recorded with the trigger of the request: `requested_trigger` says
 * which (`manual`), and is cleared when the check has run. NULL: an ordinary scheduled check.
 */
export function requestedChecks(_dialect: Dialect): Migration {
  return { up };
}

// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then.
async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('health_schedule').addColumn('requested_trigger', 'text').execute();
}
