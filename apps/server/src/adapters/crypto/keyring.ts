import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

export interface MasterKey {
  id: string;
  key: Buffer;
  createdAt: string;
}

/**
 * The master keys that wrap every secret's data key. The newest seals; every key opens what it sealed,
 * so rotation can re-wrap secrets while the service keeps running. Kept in a JSON file readable by the
 * service account only (0600); with several replicas, each points at the same file (or a mounted copy).
 */
export interface Keyring {
  current(): MasterKey;
  /** Undefined for an id this process does not know; the caller may reload() and try again. */
  find(id: string): MasterKey | undefined;
  ids(): string[];
  reload(): void;
}

const fileSchema = z.object({
  keys: z
    .array(
      z.object({
        id: z.string().regex(/^mk_[A-Za-z0-9_-]{4,64}$/),
        key: z
          .string()
          .refine((k) => Buffer.from(k, 'base64').length === 32, 'a 256-bit key in base64'),
        createdAt: z.string(),
      }),
    )
    .min(1),
});

function readKeys(path: string): MasterKey[] {
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `the keyring ${path} is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data.keys.map((k) => ({
    id: k.id,
    key: Buffer.from(k.key, 'base64'),
    createdAt: k.createdAt,
  }));
}

function writeKeys(path: string, keys: MasterKey[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const body = JSON.stringify(
    {
      keys: keys.map((k) => ({ id: k.id, key: k.key.toString('base64'), createdAt: k.createdAt })),
    },
    null,
    2,
  );
  // Write beside, then rename: a reader never sees half a keyring.
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, body, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

export function newMasterKey(now = new Date()): MasterKey {
  return {
    id: `mk_${now.toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(4).toString('hex')}`,
    key: randomBytes(32),
    createdAt: now.toISOString(),
  };
}

/** Opens a keyring file; with `createIfMissing`, makes one with a fresh key (the embedded set-up). */
export function openKeyringFile(
  path: string,
  options: { createIfMissing?: boolean } = {},
): Keyring & { created: boolean } {
  let created = false;
  if (!existsSync(path)) {
    if (!options.createIfMissing) throw new Error(`the keyring ${path} does not exist`);
    writeKeys(path, [newMasterKey()]);
    created = true;
  }
  let keys = readKeys(path);
  let seen = statSync(path).mtimeMs;
  let checkedAt = Date.now();
  const reload = () => {
    keys = readKeys(path);
    seen = statSync(path).mtimeMs;
  };
  // A running service notices a key added by `onramp keys rotate` within seconds and seals with it.
  const refresh = () => {
    if (Date.now() - checkedAt < 5_000) return;
    checkedAt = Date.now();
    if (statSync(path).mtimeMs !== seen) reload();
  };
  return {
    created,
    current: () => {
      refresh();
      return keys[keys.length - 1] as MasterKey;
    },
    find: (id) => keys.find((k) => k.id === id),
    ids: () => keys.map((k) => k.id),
    reload,
  };
}

/** Adds a new newest key to the file and returns it. Old keys stay until no secret uses them. */
export function addKeyToFile(path: string): MasterKey {
  const keys = readKeys(path);
  const key = newMasterKey();
  writeKeys(path, [...keys, key]);
  return key;
}

/** Drops keys no secret uses any more (the caller knows which are still in use). */
export function retireKeysInFile(path: string, inUse: ReadonlySet<string>): string[] {
  const keys = readKeys(path);
  const newest = keys[keys.length - 1];
  const kept = keys.filter((k) => inUse.has(k.id) || k === newest);
  writeKeys(path, kept);
  return keys.filter((k) => !kept.includes(k)).map((k) => k.id);
}

/** A keyring held in memory, for tests. */
export function memoryKeyring(
  keys: MasterKey[] = [newMasterKey()],
): Keyring & { add(): MasterKey } {
  const list = [...keys];
  return {
    current: () => list[list.length - 1] as MasterKey,
    find: (id) => list.find((k) => k.id === id),
    ids: () => list.map((k) => k.id),
    reload: () => {},
    add: () => {
      const key = newMasterKey(new Date(Date.now() + list.length * 1000));
      list.push(key);
      return key;
    },
  };
}
