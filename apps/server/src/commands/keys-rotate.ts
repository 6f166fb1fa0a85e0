import { existsSync } from 'node:fs';
import { type Kysely, type Selectable, sql } from 'kysely';
import { createEnvelope, type SealedSecret, SecretOpenError } from '../adapters/crypto/envelope.ts';
import {
  describeLockHolder,
  type FileLock,
  LockTimeoutError,
} from '../adapters/crypto/file-lock.ts';
import {
  addKeyToFile,
  isKeyInFile,
  type Keyring,
  lockKeyringFile,
  type MasterKey,
  readKeyringFile,
  restoreKeyInFile,
  retireKeysInFile,
} from '../adapters/crypto/keyring.ts';
import { type DatabaseHandle, type Dialect, openDatabase } from '../adapters/db/database.ts';
import { type Database, OPERATOR_SECRET_SCOPE, type SecretsTable } from '../adapters/db/schema.ts';
import { databaseLocation, keyringPath, loadConfig } from '../config.ts';

/**
 * `keys retire` keeps an unused key until a newer key has replaced it for this long. Replicas re-read
 * the keyring every few seconds (KEYRING_REFRESH_MS) and seal with the key they knew as newest until
 * then; a mounted copy of the file (a Kubernetes secret, a synced volume) can lag by minutes; and the
 * key's date comes from the clock of the machine that rotated. Ten minutes covers all three.
 */
export const KEY_RETIRE_GRACE_MS = 10 * 60_000;

/** How long `onramp keys rotate|retire` waits for another one to finish before it gives up. */
export const DEFAULT_KEYS_LOCK_TIMEOUT_MS = 60_000;

/**
 * The PostgreSQL advisory lock every `onramp keys` command holds while it changes the keyring, so
 * commands on several machines sharing the database serialize even where the file lock cannot reach
 * (a network file system). A fixed number, in every Onramp database; released by PostgreSQL itself if
 * the process dies.
 */
export const KEYRING_ADVISORY_LOCK = '4711860302318330155';

export interface RotationReport {
  newKeyId: string;
  rewrapped: number;
  /** Secrets changed by the running service while we worked: already sealed under the new key, or gone. */
  skipped: number;
  failed: { id: string; reason: string }[];
  /** True when `shouldStop` asked the rotation to stop before it had gone through every secret. */
  stoppedEarly: boolean;
}

/**
 * Re-wraps every secret's data key under the keyring's newest key. Safe while the service runs: each
 * row is updated only if it still carries the wrapped key we read (a compare-and-set), the ciphertext
 * itself never changes, and old keys stay in the keyring until `retire` finds them unused.
 */
export async function rewrapAll(
  db: Kysely<Database>,
  keyring: Keyring,
  clock: () => Date = () => new Date(),
  options: { shouldStop?: () => boolean; dialect?: Dialect } = {},
): Promise<RotationReport> {
  const envelope = createEnvelope(keyring);
  const newKeyId = keyring.current().id;
  const report: RotationReport = {
    newKeyId,
    rewrapped: 0,
    skipped: 0,
    failed: [],
    stoppedEarly: false,
  };
  let after = '';
  for (;;) {
    if (options.shouldStop?.()) {
      report.stoppedEarly = true;
      break;
    }
    const batch = await db
      .selectFrom('secrets')
      .selectAll()
      .where('key_id', '!=', newKeyId)
      .where('id', '>', after)
      .orderBy('id')
      .limit(100)
      .execute();
    if (batch.length === 0) break;
    const updates: PendingRewrap[] = [];
    for (const row of batch) {
      after = row.id;
      const binding = {
        tenantId: row.tenant_id ?? OPERATOR_SECRET_SCOPE,
        ownerId: row.owner_id,
        field: row.field,
      };
      try {
        const next = envelope.rewrap(
          { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
          binding,
        );
        updates.push({ row, next });
      } catch (error) {
        report.failed.push({
          id: row.id,
          reason: error instanceof SecretOpenError ? error.message : String(error),
        });
      }
    }
    const changed = await applyRewraps(db, updates, clock, options.dialect);
    report.rewrapped += changed;
    report.skipped += updates.length - changed;
  }
  return report;
}

type PendingRewrap = { row: Selectable<SecretsTable>; next: SealedSecret };

/** Writes a batch of re-wrapped keys, each row a compare-and-set; answers how many rows changed. */
async function applyRewraps(
  db: Kysely<Database>,
  updates: PendingRewrap[],
  clock: () => Date,
  dialect: Dialect | undefined,
): Promise<number> {
  const apply = async (executor: Kysely<Database>) => {
    let count = 0;
    for (const { row, next } of updates) {
      const result = await executor
        .updateTable('secrets')
        .set({
          key_id: next.keyId,
          wrapped_key: next.wrappedKey,
          updated_at: clock().toISOString(),
        })
        .where('id', '=', row.id)
        .where('key_id', '=', row.key_id)
        .where('wrapped_key', '=', row.wrapped_key)
        .executeTakeFirst();
      count += Number(result.numUpdatedRows);
    }
    return count;
  };
  try {
    // One commit (and flush to disk) per batch, not one per row.
    return await db.transaction().execute(async (trx) => {
      // On PostgreSQL the service may hold a secret's row while it waits for another (a webhook secret
      // and its predecessor change together): give way long before its deadlock check (1 s) would
      // abort one of us, and redo the batch a row at a time, holding nothing while waiting.
      if (dialect === 'postgres') await sql`SET LOCAL lock_timeout = '200ms'`.execute(trx);
      return await apply(trx);
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (dialect !== 'postgres' || (code !== '55P03' && code !== '40P01')) throw error;
    return apply(db);
  }
}

export async function keyIdsInUse(db: Kysely<Database>): Promise<Set<string>> {
  const rows = await db.selectFrom('secrets').select('key_id').distinct().execute();
  return new Set(rows.map((r) => r.key_id));
}

/**
 * A keyring that seals with exactly `key`, the one this rotation added and read back from the file,
 * whatever else the file says meanwhile: the report names the key every secret was re-wrapped under.
 */
function pinnedKeyring(path: string, key: MasterKey): Keyring {
  let keys = readKeyringFile(path);
  return {
    current: () => key,
    find: (id) => keys.find((k) => k.id === id),
    ids: () => keys.map((k) => k.id),
    reload: () => {
      keys = readKeyringFile(path);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class KeysLockTimeoutError extends Error {
  constructor(what: string, waitedMs: number) {
    super(
      `could not take the keyring lock within ${Math.round(waitedMs / 1000)} s: ${what}. Only one \`onramp keys\` command runs at a time; wait for it to finish (or raise --lock-timeout), then run this again. Nothing was changed.`,
    );
    this.name = 'KeysLockTimeoutError';
  }
}

/** On PostgreSQL, runs `work` holding the keyring's advisory lock (waiting until `deadline`). */
async function withDatabaseLock<T>(
  database: DatabaseHandle,
  deadline: number,
  work: () => Promise<T>,
): Promise<T> {
  if (database.dialect !== 'postgres') return work();
  const started = performance.now();
  // A session lock lives on one connection: keep that connection for the whole command.
  return database.db.connection().execute(async (connection) => {
    for (;;) {
      const { rows } = await sql<{
        locked: boolean;
      }>`SELECT pg_try_advisory_lock(${KEYRING_ADVISORY_LOCK}::bigint) AS locked`.execute(
        connection,
      );
      if (rows[0]?.locked) break;
      if (performance.now() >= deadline) {
        throw new KeysLockTimeoutError(
          'another `onramp keys` command holds it in the database (on a machine sharing this database)',
          performance.now() - started,
        );
      }
      await sleep(100 + Math.random() * 100);
    }
    try {
      return await work();
    } finally {
      // If the connection is gone, so is the lock: PostgreSQL drops it with the session.
      await sql`SELECT pg_advisory_unlock(${KEYRING_ADVISORY_LOCK}::bigint)`
        .execute(connection)
        .catch(() => {});
    }
  });
}

async function rotate(
  { db, dialect }: DatabaseHandle,
  path: string,
  lock: FileLock,
  out: (line: string) => void,
  clock: () => Date,
): Promise<number> {
  // Added, written to disk and read back before anything is sealed with it.
  const key = addKeyToFile(path, lock, clock());
  out(`added master key ${key.id} to ${path}`);
  const report = await rewrapAll(db, pinnedKeyring(path, key), clock, {
    shouldStop: () => !lock.isHeld(),
    dialect,
  });
  const problems: string[] = [];
  if (report.stoppedEarly) {
    problems.push(
      'stopped before the end: another process took the keyring lock (it judged this one dead); run `onramp keys rotate` again',
    );
  }
  if (!isKeyInFile(path, key)) {
    restoreKeyInFile(path, key);
    problems.push(
      `master key ${key.id} went missing from ${path} while secrets were re-wrapped under it (was the file edited or replaced?); it has been written back`,
    );
  }
  out(
    `re-wrapped ${report.rewrapped} secret(s) under ${report.newKeyId}; ${report.skipped} changed meanwhile; ${report.failed.length} failed`,
  );
  for (const f of report.failed) out(`  ${f.id}: ${f.reason}`);
  for (const problem of problems) out(problem);
  const older = await countSecretsNotUnder(db, key.id);
  if (older > report.failed.length) {
    out(
      `${older - report.failed.length} secret(s) written meanwhile by a replica that had not yet read the new key are still under an older key: they open as before, and the next rotation moves them.`,
    );
  }
  out(
    `Old keys stay in the keyring; \`onramp keys retire\` removes those no secret uses, ${KEY_RETIRE_GRACE_MS / 60_000} minutes after a newer key replaced them.`,
  );
  return report.failed.length > 0 || problems.length > 0 ? 1 : 0;
}

async function countSecretsNotUnder(db: Kysely<Database>, keyId: string): Promise<number> {
  const row = await db
    .selectFrom('secrets')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('key_id', '!=', keyId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function retire(
  db: Kysely<Database>,
  path: string,
  lock: FileLock,
  out: (line: string) => void,
  clock: () => Date,
): Promise<number> {
  // Read under the lock: no rotation is moving secrets between keys meanwhile.
  const inUse = await keyIdsInUse(db);
  const plan = retireKeysInFile(path, inUse, {
    lock,
    graceMs: KEY_RETIRE_GRACE_MS,
    now: clock(),
  });
  out(
    plan.retired.length
      ? `retired ${plan.retired.join(', ')}`
      : 'retired nothing: every older key is still in use or was replaced too recently',
  );
  for (const kept of plan.keptRecent) {
    out(
      `  kept ${kept.id}: no secret uses it, but a replica may still seal with it (replaced less than ${KEY_RETIRE_GRACE_MS / 60_000} minutes ago); it can retire after ${kept.retirableAt}`,
    );
  }
  return 0;
}

export interface KeysCommandOptions {
  /** How long to wait for another `onramp keys` command to finish. */
  lockTimeoutMs?: number;
  clock?: () => Date;
}

/**
 * `onramp keys rotate` / `onramp keys retire`, with the server's own configuration. Each holds the
 * keyring's file lock (and on PostgreSQL the database's advisory lock) from reading the keyring to its
 * last write, so commands run at once take turns instead of overwriting each other's keys.
 */
export async function runKeysCommand(
  action: 'rotate' | 'retire',
  out: (line: string) => void,
  options: KeysCommandOptions = {},
): Promise<number> {
  const config = loadConfig();
  const { path } = keyringPath(config);
  const clock = options.clock ?? (() => new Date());
  if (!existsSync(path)) {
    throw new Error(
      `the keyring ${path} does not exist: start Onramp once to create it, or set ONRAMP_MASTER_KEY_FILE to the keyring the service uses`,
    );
  }
  const timeoutMs = options.lockTimeoutMs ?? DEFAULT_KEYS_LOCK_TIMEOUT_MS;
  const started = performance.now();
  let lock: FileLock;
  try {
    lock = await lockKeyringFile(path, { purpose: `onramp keys ${action}`, timeoutMs });
  } catch (error) {
    if (!(error instanceof LockTimeoutError)) throw error;
    throw new KeysLockTimeoutError(
      `${error.holder ? describeLockHolder(error.holder) : 'another process'} holds ${error.path}`,
      error.waitedMs,
    );
  }
  try {
    for (const holder of lock.removedStale) {
      out(`took over the keyring lock from ${describeLockHolder(holder)}, which had stopped`);
    }
    const database = openDatabase(databaseLocation(config));
    try {
      return await withDatabaseLock(database, started + timeoutMs, () =>
        action === 'rotate'
          ? rotate(database, path, lock, out, clock)
          : retire(database.db, path, lock, out, clock),
      );
    } finally {
      await database.close();
    }
  } finally {
    lock.release();
  }
}
