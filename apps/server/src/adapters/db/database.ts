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
import type { Dialect } from './dialect.ts';
import { initialSchema } from './migrations/0001_initial.ts';
import { callbackTokens } from './migrations/0002_callback_tokens.ts';
import { healthAndWebhooks } from './migrations/0003_health_and_webhooks.ts';
import { webhookSecretRotation } from './migrations/0004_webhook_secret_rotation.ts';
import { usersHardening } from './migrations/0006_users_hardening.ts';
import { connectionLifecycle } from './migrations/0007_connection_lifecycle.ts';
import { accountIdentityIndex } from './migrations/0010_account_identity_index.ts';
import { permissionGrants } from './migrations/0011_permission_grants.ts';
import { requestedChecks } from './migrations/0012_requested_checks.ts';
import { keylessRoles } from './migrations/0013_keyless_roles.ts';
import { organizations } from './migrations/0014_organizations.ts';
import { connectSessions } from './migrations/0015_connect_sessions.ts';
import { tokenParents } from './migrations/0016_token_parents.ts';
import type { Database } from './schema.ts';

export type { Dialect } from './dialect.ts';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

export type DatabaseLocation = { kind: 'postgres'; url: string } | { kind: 'sqlite'; path: string };

export interface DatabaseOptions {
  /**
   * How long a query waits for a PostgreSQL connection (a new one, or a free one of the pool) before
   * it fails: during an outage requests fail fast with 503 instead of hanging. Default 5 s.
   */
  connectTimeoutMs?: number;
  /** Told of every connection the server cut (restart, failover); the pool replaces it by itself. */
  onConnectionError?: (error: Error) => void;
}

/** Opens SQLite (a file, or `:memory:`) or a PostgreSQL pool. The only place that knows the drivers. */
export function openDatabase(
  location: DatabaseLocation,
  options: DatabaseOptions = {},
): DatabaseHandle {
  if (location.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: location.url,
      max: 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    });
    const report = (error: Error) => options.onConnectionError?.(error);
    // A connection the server closes (restart, fast shutdown, failover, DROP DATABASE … FORCE) is an
    // 'error' event on its client, and an 'error' without a listener ends the process. pg-pool listens
    // only while a client is idle; a checked-out client (a transaction between queries, or the end of
    // the socket after its query already failed) has no listener of its own. So every client gets one
    // for its whole life: its queries fail (and the request answers 503), the pool drops it when it is
    // released, and the next query opens a new connection.
    pool.on('connect', (client) => client.on('error', report));
    // The pool re-emits an idle client's error, which the client's own listener has reported; without
    // a listener of its own that re-emission would end the process just the same.
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

/** PostgreSQL's classes of "the server is not there (now)": connection exception, operator intervention. */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** pg's and pg-pool's own errors for a connection that is gone or could not be had in time. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
];

/**
 * Whether an error means the database cannot be reached right now (a restart, a fail-over, a network
 * cut, every connection busy past the timeout, SQLite's write lock held past the busy timeout), as
 * opposed to a fault in a query: the caller should try again shortly, and nothing is wrong with the
 * request. pg, pg-pool and kysely throw these errors as they are (kysely only extends the stack), so
 * only the error itself is looked at, never its `cause`: an S3 or AWS failure that wraps a refused
 * connection is not the database's.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    if (UNAVAILABLE_SOCKET_CODES.has(code)) return true;
    if (code.startsWith('SQLITE_BUSY')) return true;
  }
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(message));
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
    '0007_connection_lifecycle': connectionLifecycle(dialect),
    '0010_account_identity_index': accountIdentityIndex(dialect),
    '0011_permission_grants': permissionGrants(dialect),
    '0012_requested_checks': requestedChecks(dialect),
    '0013_keyless_roles': keylessRoles(dialect),
    '0014_organizations': organizations(dialect),
    '0015_connect_sessions': connectSessions(dialect),
    '0016_token_parents': tokenParents(dialect),
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
