/**
 * When the database is away (restarted, cut off, or SQLite's write lock held too long), the process
 * stays up and every request is a 503 `unavailable` with Retry-After, never a 500. The restart of a
 * real cluster under load is e2e/postgres-restart.test.ts; these are the pieces, fast.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, openDatabase } from './adapters/db/database.ts';
import { createTestDatabase, POSTGRES_ADMIN_URL, type TestDatabase } from './testing/databases.ts';
import { createHarness, expectProblem } from './testing/harness.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a PostgreSQL connection the server cuts', () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });

  it('fails the query that used it (unavailable), does not end the process, and is replaced', async () => {
    database = await createTestDatabase('postgres');
    if (database.location.kind !== 'postgres') throw new Error('PostgreSQL expected');
    const name = new URL(database.location.url).pathname.slice(1);
    const lost: Error[] = [];
    const handle = openDatabase(database.location, { onConnectionError: (e) => lost.push(e) });
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    try {
      // A transaction holds its client between queries: that is when pg-pool has no 'error' listener
      // on it, and a terminated connection's 'error' event used to end the process (57P01).
      const transaction = handle.db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        await admin.query(
          'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
          [name],
        );
        await sleep(300);
        await sql`select 1`.execute(trx);
      });
      const failure = await transaction.then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure, String(failure)).toBeDefined();
      expect(isDatabaseUnavailable(failure), String(failure)).toBe(true);
      expect(lost.map((e) => (e as { code?: string }).code ?? e.message)).toContain('57P01');
      // The next query gets a new connection.
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(handle.db);
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await handle.close();
    }
  });
});

describe('requests while PostgreSQL is unreachable', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  /** The app on a PostgreSQL address; the harness's own (SQLite) database only seeds nothing. */
  async function appOn(url: string, connectTimeoutMs = 2_000) {
    const handle = openDatabase({ kind: 'postgres', url }, { connectTimeoutMs });
    const h = await createHarness('sqlite', { db: handle.db, dialect: 'postgres' });
    closers.push(async () => {
      await h.close();
      await handle.close();
    });
    return h;
  }

  /** A port where something accepts connections and never answers (a black-holed database). */
  async function silentPort(): Promise<number> {
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    });
    return (server.address() as { port: number }).port;
  }

  async function refusedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  it('answers 503 unavailable with Retry-After, and /readyz 503, when connections are refused', async () => {
    const h = await appOn(`postgres://postgres@127.0.0.1:${await refusedPort()}/onramp`);
    const setup = await h.anonymous.request('POST', '/v1/setup', {
      setupToken: `setup_${randomBytes(16).toString('hex')}`,
      email: 'ops@example.com',
      name: 'Ops',
      password: 'a long enough password',
    });
    expectProblem(setup, 503);
    expect(setup.body.type).toBe('urn:onramp:problem:unavailable');
    expect(setup.headers['retry-after']).toBe('1');
    expect(setup.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    const signedIn = await h.anonymous.request('GET', '/v1/session', undefined, {
      cookie: 'onramp_session=whatever',
    });
    expectProblem(signedIn, 503);
    expect((await h.anonymous.request('GET', '/readyz')).status).toBe(503);
  });

  it('fails fast (the connect timeout), not hanging, when the database does not answer', async () => {
    const h = await appOn(`postgres://postgres@127.0.0.1:${await silentPort()}/onramp`, 300);
    const started = Date.now();
    const response = await h.anonymous.request('GET', '/v1/session', undefined, {
      cookie: 'onramp_session=whatever',
    });
    expectProblem(response, 503);
    expect(response.headers['retry-after']).toBe('1');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('SQLite’s write lock held past the busy timeout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-busy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers 503 unavailable with Retry-After, and the same write succeeds once it is free', async () => {
    const path = join(dir, 'onramp.db');
    const h = await createHarness('sqlite', {}, { sqlitePath: path });
    const other = new SqliteDatabase(path);
    try {
      const operator = await h.operator();
      other.exec('BEGIN IMMEDIATE');
      const blocked = await operator.request('POST', '/v1/tenants', { name: 'While locked' });
      expectProblem(blocked, 503);
      expect(blocked.body.type).toBe('urn:onramp:problem:unavailable');
      expect(blocked.headers['retry-after']).toBe('1');
      other.exec('ROLLBACK');
      const after = await operator.request('POST', '/v1/tenants', { name: 'While locked' });
      expect(after.status, after.text).toBe(201);
    } finally {
      other.close();
      await h.close();
    }
  }, 20_000);
});

describe('isDatabaseUnavailable', () => {
  const cases: [string, unknown, boolean][] = [
    ['admin shutdown', Object.assign(new Error('terminating connection'), { code: '57P01' }), true],
    ['crash shutdown', Object.assign(new Error('x'), { code: '57P02' }), true],
    [
      'starting up',
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      true,
    ],
    ['connection exception class', Object.assign(new Error('x'), { code: '08006' }), true],
    ['too many clients', Object.assign(new Error('x'), { code: '53300' }), true],
    ['refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true],
    ['reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), true],
    ['socket ended', new Error('Connection terminated unexpectedly'), true],
    ['pool timeout', new Error('timeout exceeded when trying to connect'), true],
    [
      'pool connect timeout',
      new Error('Connection terminated due to connection timeout', { cause: new Error('x') }),
      true,
    ],
    [
      'another service wrapping a refused connection',
      new Error('could not write the template', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
      false,
    ],
    ['SQLite busy', Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), true],
    ['unique violation', Object.assign(new Error('duplicate key'), { code: '23505' }), false],
    ['syntax error', Object.assign(new Error('syntax error'), { code: '42601' }), false],
    ['SQLite constraint', Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT' }), false],
    ['a plain bug', new TypeError('x is undefined'), false],
    ['not an error', 'Connection terminated', false],
  ];
  it.each(cases)('%s', (_label, error, expected) => {
    expect(isDatabaseUnavailable(error)).toBe(expected);
  });
});
