import type { Kysely } from 'kysely';
import { createEnvelope, SecretOpenError } from '../adapters/crypto/envelope.ts';
import type { Keyring } from '../adapters/crypto/keyring.ts';
import { addKeyToFile, openKeyringFile, retireKeysInFile } from '../adapters/crypto/keyring.ts';
import { openDatabase } from '../adapters/db/database.ts';
import { type Database, OPERATOR_SECRET_SCOPE } from '../adapters/db/schema.ts';
import { databaseLocation, keyringPath, loadConfig } from '../config.ts';

export interface RotationReport {
  newKeyId: string;
  rewrapped: number;
  /** Secrets changed by the running service while we worked: already sealed under the new key, or gone. */
  skipped: number;
  failed: { id: string; reason: string }[];
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
): Promise<RotationReport> {
  const envelope = createEnvelope(keyring);
  const newKeyId = keyring.current().id;
  const report: RotationReport = { newKeyId, rewrapped: 0, skipped: 0, failed: [] };
  let after = '';
  for (;;) {
    const batch = await db
      .selectFrom('secrets')
      .selectAll()
      .where('key_id', '!=', newKeyId)
      .where('id', '>', after)
      .orderBy('id')
      .limit(100)
      .execute();
    if (batch.length === 0) break;
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
        const result = await db
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
        if (Number(result.numUpdatedRows) === 1) report.rewrapped++;
        else report.skipped++;
      } catch (error) {
        report.failed.push({
          id: row.id,
          reason: error instanceof SecretOpenError ? error.message : String(error),
        });
      }
    }
  }
  return report;
}

export async function keyIdsInUse(db: Kysely<Database>): Promise<Set<string>> {
  const rows = await db.selectFrom('secrets').select('key_id').distinct().execute();
  return new Set(rows.map((r) => r.key_id));
}

/** `onramp keys rotate` / `onramp keys retire`, with the server's own configuration. */
export async function runKeysCommand(
  action: 'rotate' | 'retire',
  out: (line: string) => void,
): Promise<number> {
  const config = loadConfig();
  const { path } = keyringPath(config);
  const database = openDatabase(databaseLocation(config));
  try {
    if (action === 'rotate') {
      const key = addKeyToFile(path);
      out(`added master key ${key.id} to ${path}`);
      const report = await rewrapAll(database.db, openKeyringFile(path));
      out(
        `re-wrapped ${report.rewrapped} secret(s) under ${report.newKeyId}; ${report.skipped} changed meanwhile; ${report.failed.length} failed`,
      );
      for (const f of report.failed) out(`  ${f.id}: ${f.reason}`);
      out(
        'Old keys stay in the keyring; run `onramp keys retire` once every replica has picked up the new key.',
      );
      return report.failed.length ? 1 : 0;
    }
    const inUse = await keyIdsInUse(database.db);
    const retired = retireKeysInFile(path, inUse);
    out(
      retired.length
        ? `retired ${retired.join(', ')}`
        : 'every key in the keyring is still in use (or is the newest)',
    );
    return 0;
  } finally {
    await database.close();
  }
}
