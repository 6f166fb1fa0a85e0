import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { acquireFileLock, type FileLock, type FileLockOptions } from './file-lock.ts';

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

function parseKeys(path: string, text: string): MasterKey[] {
  const parsed = fileSchema.safeParse(JSON.parse(text));
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

/** The keys in the file, oldest first (the last one seals). */
export function readKeyringFile(path: string): MasterKey[] {
  return parseKeys(path, readFileSync(path, 'utf8'));
}

function serialize(keys: MasterKey[]): string {
  return JSON.stringify(
    {
      keys: keys.map((k) => ({ id: k.id, key: k.key.toString('base64'), createdAt: k.createdAt })),
    },
    null,
    2,
  );
}

/** A full copy beside the keyring, on disk before anyone can see it under its real name. */
function writeTemporary(path: string, keys: MasterKey[]): string {
  mkdirSync(dirname(path), { recursive: true });
  // Random, not the pid: processes on two machines sharing the directory may have the same pid.
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, serialize(keys));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(temporary, 0o600);
  return temporary;
}

/** The rename itself must reach the disk too before a key it adds is used to seal anything. */
function syncDirectory(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeKeys(path: string, keys: MasterKey[]): void {
  const temporary = writeTemporary(path, keys);
  // Write beside, then rename: a reader never sees half a keyring.
  renameSync(temporary, path);
  syncDirectory(path);
}

export function newMasterKey(now = new Date()): MasterKey {
  return {
    id: `mk_${now.toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(4).toString('hex')}`,
    key: randomBytes(32),
    createdAt: now.toISOString(),
  };
}

/**
 * How often a running service re-reads the keyring file: it seals with a key added by
 * `onramp keys rotate` within this long. `keys retire` counts on that bound.
 */
export const KEYRING_REFRESH_MS = 5_000;

/**
 * Creates the keyring with one fresh key, unless it exists: link() refuses an existing name, so of two
 * processes creating it at once one key wins and both seal with it.
 */
function createKeyringFile(path: string): boolean {
  const temporary = writeTemporary(path, [newMasterKey()]);
  try {
    linkSync(temporary, path);
    syncDirectory(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** Opens a keyring file; with `createIfMissing`, makes one with a fresh key (the embedded set-up). */
export function openKeyringFile(
  path: string,
  options: { createIfMissing?: boolean } = {},
): Keyring & { created: boolean } {
  let created = false;
  if (!existsSync(path)) {
    if (!options.createIfMissing) throw new Error(`the keyring ${path} does not exist`);
    created = createKeyringFile(path);
  }
  let text = readFileSync(path, 'utf8');
  let keys = parseKeys(path, text);
  let checkedAt = Date.now();
  const reload = () => {
    const next = readFileSync(path, 'utf8');
    if (next !== text) {
      keys = parseKeys(path, next);
      text = next;
    }
    checkedAt = Date.now();
  };
  // A running service notices a key added by `onramp keys rotate` within seconds and seals with it.
  // It compares contents, not modification times: a coarse file system can give two writes one mtime,
  // and a replica that missed a rotation would go on sealing with a key `retire` may then drop.
  const refresh = () => {
    if (Date.now() - checkedAt >= KEYRING_REFRESH_MS) reload();
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

/**
 * The lock every change to the keyring file takes (`onramp keys rotate`, `onramp keys retire`), so two
 * read-modify-writes never interleave and lose each other's keys.
 */
export function lockKeyringFile(path: string, options: FileLockOptions): Promise<FileLock> {
  return acquireFileLock(`${path}.lock`, options);
}

function assertHeld(lock: FileLock, path: string): void {
  if (lock.path !== `${path}.lock` || !lock.isHeld()) {
    throw new Error(`the keyring lock ${path}.lock is no longer held by this process`);
  }
}

/**
 * A writer killed between writing its copy and renaming it leaves a whole keyring beside the file,
 * with keys that `retire` may later drop from the real one: under the lock, no live writer is using a
 * copy older than a minute, so remove those (named by a random suffix, or a pid by older versions).
 */
function removeLeftoverCopies(path: string): void {
  const name = basename(path);
  for (const entry of readdirSync(dirname(path))) {
    const isCopy =
      entry.startsWith(`${name}.`) &&
      /^([0-9a-f]{12}|\d+)\.tmp$/.test(entry.slice(name.length + 1));
    if (!isCopy) continue;
    const copy = join(dirname(path), entry);
    try {
      if (Date.now() - statSync(copy).mtimeMs > 60_000) rmSync(copy, { force: true });
    } catch {
      // Renamed or removed meanwhile.
    }
  }
}

const hasKey = (keys: MasterKey[], key: MasterKey) =>
  keys.some((k) => k.id === key.id && k.key.equals(key.key));

/** Whether the file holds this key (the same material, not only the id). */
export function isKeyInFile(path: string, key: MasterKey): boolean {
  return hasKey(readKeyringFile(path), key);
}

/**
 * Adds a new newest key to the file and returns it, once it has read it back from the file: nothing is
 * sealed with a key that is not on disk. Old keys stay until no secret uses them.
 */
export function addKeyToFile(path: string, lock: FileLock, now = new Date()): MasterKey {
  assertHeld(lock, path);
  removeLeftoverCopies(path);
  const key = newMasterKey(now);
  writeKeys(path, [...readKeyringFile(path), key]);
  if (!isKeyInFile(path, key)) {
    throw new Error(
      `the keyring ${path} did not keep the new key ${key.id}; nothing was re-wrapped`,
    );
  }
  return key;
}

/**
 * Puts a key back at the end of the file if it is missing; answers whether it had to. A repair for a
 * key that vanished while secrets were re-wrapped under it (a hand edit, a lock taken from a holder
 * wrongly judged dead): written even without the lock, since without it those secrets never open.
 */
export function restoreKeyInFile(path: string, key: MasterKey): boolean {
  const keys = readKeyringFile(path);
  if (hasKey(keys, key)) return false;
  writeKeys(path, [...keys.filter((k) => k.id !== key.id), key]);
  return true;
}

export interface RetirePlan {
  retired: string[];
  /** Unused, but superseded too recently: a replica may still be sealing with them. */
  keptRecent: { id: string; retirableAt: string }[];
}

/**
 * Drops keys no secret uses any more (the caller knows which are in use, read under the same lock) and
 * that a newer key superseded at least `graceMs` ago: a replica re-reads the file every few seconds
 * (longer with a mounted copy), and until it does it still seals with the key it knew as newest.
 */
export function retireKeysInFile(
  path: string,
  inUse: ReadonlySet<string>,
  options: { lock: FileLock; graceMs: number; now?: Date },
): RetirePlan {
  assertHeld(options.lock, path);
  removeLeftoverCopies(path);
  const now = (options.now ?? new Date()).getTime();
  const keys = readKeyringFile(path);
  const plan: RetirePlan = { retired: [], keptRecent: [] };
  const kept = keys.filter((key, i) => {
    const successor = keys[i + 1];
    if (!successor || inUse.has(key.id)) return true;
    // The successor's creation is when replicas started to move off this key; an unreadable or
    // future date (a clock ahead) keeps the key.
    const retirableAt = Date.parse(successor.createdAt) + options.graceMs;
    if (Number.isNaN(retirableAt) || retirableAt > now) {
      plan.keptRecent.push({
        id: key.id,
        retirableAt: Number.isNaN(retirableAt) ? 'never' : new Date(retirableAt).toISOString(),
      });
      return true;
    }
    plan.retired.push(key.id);
    return false;
  });
  if (plan.retired.length > 0) writeKeys(path, kept);
  return plan;
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
