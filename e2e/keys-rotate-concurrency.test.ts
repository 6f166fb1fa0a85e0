/**
 * `onramp keys rotate` and `onramp keys retire` as an operator runs them: real CLI processes on one data
 * directory (SQLite) or one PostgreSQL database, many at once, some killed half-way, beside a process
 * that keeps sealing secrets as the running service does. Whatever happens, every stored secret must
 * open with the keyring left behind, and what each command printed must be true.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createEnvelope,
  type Dialect,
  KEYRING_ADVISORY_LOCK,
  type Keyring,
  lockKeyringFile,
  type MasterKey,
  memoryKeyring,
  newMasterKey,
  openKeyringFile,
} from '@onramp/server';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '@onramp/server/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ROOT } from './server-process.ts';

const TENANT = 'ten_keys';

interface World {
  database: TestDatabase;
  keyringFile: string;
  env: Record<string, string>;
  /** Every secret stored so far, by row id: its plaintext and binding. */
  plaintexts: Map<string, string>;
}

async function createWorld(dialect: Dialect, keys: MasterKey[] = [newMasterKey()]) {
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-keys-e2e-'));
  const keyringFile = join(dataDir, 'master-keys.json');
  writeKeyringFile(keyringFile, keys);
  const database = await createTestDatabase(
    dialect,
    dialect === 'sqlite' ? join(dataDir, 'onramp.db') : undefined,
  );
  const now = new Date().toISOString();
  await database.db
    .insertInto('tenants')
    .values({ id: TENANT, name: 'Keys', limits: '{}', created_at: now, updated_at: now })
    .execute();
  const env: Record<string, string> = {
    ONRAMP_DATA_DIR: dataDir,
    ONRAMP_MASTER_KEY_FILE: keyringFile,
    ...(database.location.kind === 'postgres' ? { DATABASE_URL: database.location.url } : {}),
  };
  return { database, keyringFile, env, plaintexts: new Map() } satisfies World;
}

/** The keyring file as the operator (or an older rotation) left it. */
function writeKeyringFile(path: string, keys: MasterKey[]): void {
  const body = {
    keys: keys.map((k) => ({ id: k.id, key: k.key.toString('base64'), createdAt: k.createdAt })),
  };
  writeFileSync(path, JSON.stringify(body, null, 2), { mode: 0o600 });
}

/** Seals `count` secrets with the envelope code the service uses, each under `keyring`'s newest key. */
async function storeSecrets(world: World, keyring: Keyring, count: number, prefix: string) {
  const envelope = createEnvelope(keyring);
  const now = new Date().toISOString();
  const rows = [];
  for (let i = 0; i < count; i++) {
    const owner = `acct_${prefix}${String(i).padStart(5, '0')}`;
    const plaintext = `secret-${prefix}-${i}-${owner.length}`;
    const sealed = envelope.seal(plaintext, {
      tenantId: TENANT,
      ownerId: owner,
      field: 'secretAccessKey',
    });
    world.plaintexts.set(`sec_${owner}`, plaintext);
    rows.push({
      id: `sec_${owner}`,
      tenant_id: TENANT,
      owner_id: owner,
      field: 'secretAccessKey',
      key_id: sealed.keyId,
      wrapped_key: sealed.wrappedKey,
      ciphertext: sealed.ciphertext,
      created_at: now,
      updated_at: now,
    });
  }
  for (let i = 0; i < rows.length; i += 500) {
    await world.database.db
      .insertInto('secrets')
      .values(rows.slice(i, i + 500))
      .execute();
  }
}

/**
 * What the running service does meanwhile: seal new secrets with its own view of the keyring file
 * (`openKeyringFile`, as main.ts opens it, picking up a new key within seconds).
 */
function startLiveSealer(world: World) {
  const keyring = openKeyringFile(world.keyringFile);
  let stopped = false;
  let sealed = 0;
  const done = (async () => {
    while (!stopped) {
      await storeSecrets(world, keyring, 1, `live${String(sealed++).padStart(4, '0')}_`);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      return sealed;
    },
  };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `onramp keys <action>` as a real process, with the server's configuration in its environment. They
 * wait for each other longer than the default minute: a loaded CI machine starts eight slowly.
 */
function startKeys(
  world: World,
  action: 'rotate' | 'retire',
  extra: string[] = ['--lock-timeout', '180'],
) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['apps/cli/bin/onramp.js', 'keys', action, ...extra],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...world.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const run: Run = { code: null, signal: null, stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk) => {
    run.stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    run.stderr += chunk;
  });
  const finished = new Promise<Run>((resolve) => {
    child.once('close', (code, signal) => {
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
  return { child, run, finished };
}

const describeRun = (run: Run) =>
  `exit ${run.code ?? run.signal}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;

/** Opens every stored secret with the keyring file as it is now; returns those that do not open. */
async function unopenableSecrets(world: World): Promise<string[]> {
  const envelope = createEnvelope(openKeyringFile(world.keyringFile));
  const rows = await world.database.db.selectFrom('secrets').selectAll().execute();
  expect(rows.length).toBe(world.plaintexts.size);
  const failures: string[] = [];
  for (const row of rows) {
    try {
      const plaintext = envelope.open(
        { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
        { tenantId: TENANT, ownerId: row.owner_id, field: row.field },
      );
      if (plaintext !== world.plaintexts.get(row.id)) failures.push(`${row.id}: wrong plaintext`);
    } catch (error) {
      failures.push(`${row.id} (${row.key_id}): ${(error as Error).message}`);
    }
  }
  return failures;
}

/** The keys in the file, read here rather than by the code under test. */
const keysInFile = (path: string): MasterKey[] =>
  (
    JSON.parse(readFileSync(path, 'utf8')) as {
      keys: { id: string; key: string; createdAt: string }[];
    }
  ).keys.map((k) => ({ id: k.id, key: Buffer.from(k.key, 'base64'), createdAt: k.createdAt }));

const keyIdsInFile = (path: string): string[] => keysInFile(path).map((k) => k.id);

const addedKey = (run: Run) => /^added master key (mk_\S+) to /m.exec(run.stdout)?.[1];

describe.each(TEST_DIALECTS)('onramp keys rotate, eight at once, on %s', (dialect) => {
  it('loses no key and no secret, and every run reports what it really did', async () => {
    const SECRETS = 300;
    // Each trial failed on SQLite and on PostgreSQL before rotations took a lock; SQLite, cheaper, runs twice.
    for (let trial = 0; trial < (dialect === 'sqlite' ? 2 : 1); trial++) {
      const world = await createWorld(dialect);
      try {
        const original = keyIdsInFile(world.keyringFile);
        await storeSecrets(world, openKeyringFile(world.keyringFile), SECRETS, `t${trial}_`);
        const runs = await Promise.all(
          Array.from({ length: 8 }, () => startKeys(world, 'rotate').finished),
        );
        const details = runs.map(describeRun).join('\n');
        expect(
          runs.map((r) => r.code),
          details,
        ).toEqual(runs.map(() => 0));
        const added = runs.map(addedKey);
        const keys = keyIdsInFile(world.keyringFile);
        // Every key a run said it added is still there, with the original: nothing was overwritten.
        expect(new Set(keys), details).toEqual(new Set([...original, ...added]));
        // One after the other, each run re-wrapped every secret under its own key, and says so.
        for (const [i, run] of runs.entries()) {
          expect(run.stdout, details).toContain(
            `re-wrapped ${SECRETS} secret(s) under ${added[i]}; 0 changed meanwhile; 0 failed`,
          );
        }
        expect(await unopenableSecrets(world), details).toEqual([]);
        const inUse = await world.database.db
          .selectFrom('secrets')
          .select('key_id')
          .distinct()
          .execute();
        expect(inUse.map((r) => r.key_id)).toEqual([keys.at(-1)]);
      } finally {
        await world.database.drop();
      }
    }
  }, 240_000);
});

const countUnder = async (world: World, keyId: string) =>
  Number(
    (
      await world.database.db
        .selectFrom('secrets')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('key_id', '=', keyId)
        .executeTakeFirstOrThrow()
    ).n,
  );

describe.each(TEST_DIALECTS)('onramp keys rotate killed half-way, on %s', (dialect) => {
  it('the next rotations, three at once, take over one at a time; every secret opens', async () => {
    const SECRETS = 1000;
    const world = await createWorld(dialect);
    try {
      const original = keyIdsInFile(world.keyringFile);
      await storeSecrets(world, openKeyringFile(world.keyringFile), SECRETS, 'k');
      const victim = startKeys(world, 'rotate');
      await expect.poll(() => addedKey(victim.run), { timeout: 60_000, interval: 5 }).toBeDefined();
      const victimKey = addedKey(victim.run) as string;
      // Killed once it has re-wrapped some secrets under the key it added, and not all.
      await expect
        .poll(() => countUnder(world, victimKey), { timeout: 60_000, interval: 2 })
        .toBeGreaterThan(0);
      victim.child.kill('SIGKILL');
      const killed = await victim.finished;
      const halfWay = await countUnder(world, victimKey);
      expect(killed.signal, describeRun(killed)).toBe('SIGKILL');
      expect(halfWay, 'killed half-way').toBeLessThan(SECRETS);

      const runs = await Promise.all(
        Array.from({ length: 3 }, () => startKeys(world, 'rotate').finished),
      );
      const details = runs.map(describeRun).join('\n');
      expect(
        runs.map((r) => r.code),
        details,
      ).toEqual([0, 0, 0]);
      // Exactly one of them found the dead rotation's lock and took it over.
      const takeOvers = runs.filter((r) =>
        r.stdout.includes(
          `took over the keyring lock from \`onramp keys rotate\` (pid ${victim.child.pid} `,
        ),
      );
      expect(takeOvers.length, details).toBe(1);
      const added = runs.map(addedKey);
      expect(new Set(keyIdsInFile(world.keyringFile)), details).toEqual(
        new Set([...original, victimKey, ...added]),
      );
      for (const [i, run] of runs.entries()) {
        expect(run.stdout, details).toContain(
          `re-wrapped ${SECRETS} secret(s) under ${added[i]}; 0 changed meanwhile; 0 failed`,
        );
      }
      expect(await unopenableSecrets(world), details).toEqual([]);
    } finally {
      await world.database.drop();
    }
  }, 240_000);
});

// On PostgreSQL only: the locks are the same on SQLite (run above), and on PostgreSQL the race lost
// secrets before; the processes are what makes these tests slow.
describe.each(['postgres'] as const)(
  'onramp keys retire beside rotations and a live service, on %s',
  (dialect) => {
    it('never removes a key that a secret uses or that a replica may still seal with', async () => {
      // Two keys from long ago: the older one was replaced months back, the newer one seals today.
      const oldest = newMasterKey(new Date('2025-01-01T00:00:00Z'));
      const sealing = newMasterKey(new Date('2025-06-01T00:00:00Z'));
      const world = await createWorld(dialect, [oldest, sealing]);
      try {
        await storeSecrets(world, memoryKeyring([oldest]), 150, 'old');
        await storeSecrets(world, memoryKeyring([oldest, sealing]), 150, 'cur');
        const service = startLiveSealer(world);
        const runs = await Promise.all(
          ['rotate', 'retire', 'rotate', 'retire'].map(
            (action) => startKeys(world, action as 'rotate' | 'retire').finished,
          ),
        );
        const sealedMeanwhile = await service.stop();
        const details = runs.map(describeRun).join('\n');
        expect(
          runs.map((r) => r.code),
          details,
        ).toEqual(runs.map(() => 0));
        expect(sealedMeanwhile).toBeGreaterThan(0);
        expect(await unopenableSecrets(world), details).toEqual([]);
        const keys = keyIdsInFile(world.keyringFile);
        // The key the service sealed with until a moment ago stays: replicas may not have seen the
        // rotation yet. Every key a rotation added stays.
        expect(keys, details).toContain(sealing.id);
        for (const key of runs.map(addedKey)) if (key) expect(keys, details).toContain(key);
        const retired = runs.flatMap(
          (r) => /^retired (mk_.*)$/m.exec(r.stdout)?.[1]?.split(', ') ?? [],
        );
        for (const id of retired) expect(keys, details).not.toContain(id);

        // A replica that has not re-read the keyring since (it does every few seconds; a mounted copy
        // can lag longer) seals with the key that was newest before the next rotation, even after a
        // retire that found no secret under it.
        const lagging = memoryKeyring(keysInFile(world.keyringFile));
        const rotated = await startKeys(world, 'rotate').finished;
        const retiredAfter = await startKeys(world, 'retire').finished;
        await storeSecrets(world, lagging, 5, 'lag');
        const after = [rotated, retiredAfter].map(describeRun).join('\n');
        expect([rotated.code, retiredAfter.code], after).toEqual([0, 0]);
        expect(await unopenableSecrets(world), after).toEqual([]);
      } finally {
        await world.database.drop();
      }
    }, 240_000);
  },
);

describe.each(TEST_DIALECTS)(
  'onramp keys rotate while another holds the lock, on %s',
  (dialect) => {
    it('gives up after --lock-timeout, says who holds it, exits non-zero and changes nothing', async () => {
      const world = await createWorld(dialect);
      try {
        const before = readFileSync(world.keyringFile, 'utf8');
        const lock = await lockKeyringFile(world.keyringFile, {
          purpose: 'a rotation in another terminal',
          timeoutMs: 1000,
        });
        let fileRun: Run;
        try {
          fileRun = await startKeys(world, 'rotate', ['--lock-timeout', '1']).finished;
        } finally {
          lock.release();
        }
        expect(fileRun.code, describeRun(fileRun)).toBe(1);
        expect(fileRun.stderr).toContain(
          `error: could not take the keyring lock within 1 s: \`a rotation in another terminal\` (pid ${process.pid} `,
        );
        expect(readFileSync(world.keyringFile, 'utf8')).toBe(before);
        if (world.database.location.kind !== 'postgres') return;

        // Another machine sharing the database holds its lock (the file lock cannot reach it).
        const other = new pg.Client({ connectionString: world.database.location.url });
        await other.connect();
        let databaseRun: Run;
        try {
          await other.query('SELECT pg_advisory_lock($1::bigint)', [KEYRING_ADVISORY_LOCK]);
          databaseRun = await startKeys(world, 'rotate', ['--lock-timeout', '1']).finished;
        } finally {
          await other.end();
        }
        expect(databaseRun.code, describeRun(databaseRun)).toBe(1);
        expect(databaseRun.stderr).toContain(
          'error: could not take the keyring lock within 1 s: another `onramp keys` command holds it in the database',
        );
        expect(readFileSync(world.keyringFile, 'utf8')).toBe(before);
      } finally {
        await world.database.drop();
      }
    }, 60_000);
  },
);
