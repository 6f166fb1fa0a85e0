import { randomBytes } from 'node:crypto';
import { type MigrationProvider, Migrator } from 'kysely';
import pg from 'pg';
import {
  type DatabaseHandle,
  type Dialect,
  migrateToLatest,
  migrationsFor,
  openDatabase,
} from '../adapters/db/database.ts';

/**
 * Test databases: an in-memory SQLite, or a PostgreSQL database created for the test and dropped after
 * it, so runs never see each other's rows. PostgreSQL is at 127.0.0.1:5432 with trust auth on our
 * machines and in CI (ONRAMP_TEST_POSTGRES_URL overrides the server's address).
 */
export const POSTGRES_ADMIN_URL =
  process.env.ONRAMP_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const ALL_DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

/**
 * The engines the server's tests run on: both unless ONRAMP_TEST_DIALECTS names some (a comma list,
 * e.g. `sqlite` while iterating). An unknown name stops the run: a typo must not pass as zero tests.
 */
export function testDialectsFrom(value: string | undefined): Dialect[] {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) return [...ALL_DIALECTS];
  const unknown = names.filter((name) => !ALL_DIALECTS.includes(name as Dialect));
  if (unknown.length > 0) {
    throw new Error(
      `ONRAMP_TEST_DIALECTS names ${unknown.map((name) => `'${name}'`).join(', ')}: use ${ALL_DIALECTS.join(' or ')}, comma-separated (unset runs both).`,
    );
  }
  return ALL_DIALECTS.filter((dialect) => names.includes(dialect));
}

export const TEST_DIALECTS: Dialect[] = testDialectsFrom(process.env.ONRAMP_TEST_DIALECTS);

export interface TestDatabase extends DatabaseHandle {
  /** Where a second server process can reach the same database. */
  location: { kind: 'postgres'; url: string } | { kind: 'sqlite'; path: string };
  drop(): Promise<void>;
}

/** Runs the migrations up to and including `upTo` (a migration's test seeds the schema before it). */
async function migrate(handle: DatabaseHandle, upTo?: string): Promise<void> {
  if (!upTo) {
    await migrateToLatest(handle);
    return;
  }
  const provider: MigrationProvider = { getMigrations: async () => migrationsFor(handle.dialect) };
  const { error } = await new Migrator({ db: handle.db, provider }).migrateTo(upTo);
  if (error) throw error;
}

export async function createTestDatabase(
  dialect: Dialect,
  sqlitePath = ':memory:',
  options: { upTo?: string } = {},
): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const location = { kind: 'sqlite' as const, path: sqlitePath };
    const handle = openDatabase(location);
    await migrate(handle, options.upTo);
    return { ...handle, location, drop: () => handle.close() };
  }
  const name = `onramp_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  const location = { kind: 'postgres' as const, url: url.toString() };
  const handle = openDatabase(location);
  await migrate(handle, options.upTo);
  return {
    ...handle,
    location,
    drop: async () => {
      await handle.close();
      const cleanup = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}
