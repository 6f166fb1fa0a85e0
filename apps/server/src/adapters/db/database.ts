import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  SqliteDialect,
} from 'kysely';
import pg from 'pg';
import { initialSchema } from './migrations/0001_initial.ts';
import { callbackTokens } from './migrations/0002_callback_tokens.ts';
import { healthAndWebhooks } from './migrations/0003_health_and_webhooks.ts';
import { webhookSecretRotation } from './migrations/0004_webhook_secret_rotation.ts';
import { usersHardening } from './migrations/0006_users_hardening.ts';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

export type DatabaseLocation = { kind: 'postgres'; url: string } | { kind: 'sqlite'; path: string };

/** Opens SQLite (a file, or `:memory:`) or a PostgreSQL pool. The only place that knows the drivers. */
export function openDatabase(location: DatabaseLocation): DatabaseHandle {
  if (location.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: location.url, max: 10 });
    // An idle client whose connection the server closed (restart, failover, DROP DATABASE … FORCE) is
    // an 'error' on the pool; without a listener it would crash the process. The pool replaces it.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }
  if (location.path !== ':memory:') mkdirSync(dirname(location.path), { recursive: true });
  const sqlite = new SqliteDatabase(location.path);
  // WAL lets readers and the one writer work at once; a busy timeout rides out short write locks.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
  });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

/** Prepared statements kept per SQL text; the app's queries are a few hundred shapes at most. */
const STATEMENTS_KEPT = 500;

/**
 * Kysely prepares every query it runs, and preparing (parsing and planning the SQL) costs more than
 * running a small query: keep the prepared statements and reuse them (SQLite re-prepares one itself if
 * the schema changes under it). Statements run to completion synchronously, so sharing one is safe.
 */
function withStatementCache(sqlite: SqliteDatabase.Database) {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        if (statements.size >= STATEMENTS_KEPT) statements.clear();
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

/** Versioned migrations, in order. Add new ones at the end; never edit one that has shipped. */
export function migrationsFor(dialect: Dialect): Record<string, Migration> {
  return {
    '0001_initial': initialSchema(dialect),
    '0002_callback_tokens': callbackTokens(dialect),
    '0003_health_and_webhooks': healthAndWebhooks(dialect),
    '0004_webhook_secret_rotation': webhookSecretRotation(dialect),
    '0006_users_hardening': usersHardening(dialect),
  };
}

/** Brings the schema up to date; throws (and the process refuses to start) if a migration fails. */
export async function migrateToLatest(handle: DatabaseHandle): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(handle.dialect) };
  const migrator = new Migrator({ db: handle.db, provider });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(
      `database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
