import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  addKeyToFile,
  lockKeyringFile,
  newMasterKey,
  openKeyringFile,
  readKeyringFile,
  retireKeysInFile,
} from './keyring.ts';

const GRACE_MS = 10 * 60_000;

function keyringIn(): string {
  return join(mkdtempSync(join(tmpdir(), 'onramp-keyring-')), 'master-keys.json');
}

afterEach(() => {
  vi.useRealTimers();
});

describe('a running service’s view of the keyring file', () => {
  it('picks up a new key within 5 s even when the file kept its modification time', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const path = keyringIn();
    openKeyringFile(path, { createIfMissing: true });
    // Whole seconds, as a coarse file system (or a copy that keeps times) records them.
    const mtime = new Date('2026-01-01T00:00:00Z');
    utimesSync(path, mtime, mtime);
    const service = openKeyringFile(path);
    const first = service.current();
    // Another process adds a key within the same second.
    const added = newMasterKey();
    const body = JSON.parse(readFileSync(path, 'utf8')) as { keys: unknown[] };
    body.keys.push({
      id: added.id,
      key: added.key.toString('base64'),
      createdAt: added.createdAt,
    });
    writeFileSync(path, JSON.stringify(body));
    utimesSync(path, mtime, mtime);
    expect(statSync(path).mtimeMs).toBe(mtime.getTime());

    vi.setSystemTime(Date.now() + 4_000);
    expect(service.current().id).toBe(first.id);
    vi.setSystemTime(Date.now() + 1_000);
    expect(service.current().id).toBe(added.id);
  });
});

describe('keys retire', () => {
  it('keeps an unused key until a newer key has replaced it for 10 minutes, then drops it', async () => {
    const path = keyringIn();
    const first = openKeyringFile(path, { createIfMissing: true }).current();
    const lock = await lockKeyringFile(path, { purpose: 'test', timeoutMs: 1000 });
    try {
      const second = addKeyToFile(path, lock);
      const replacedAt = Date.parse(second.createdAt);
      // No secret uses the first key, but a replica may not have read the file since the rotation.
      const soon = retireKeysInFile(path, new Set([second.id]), {
        lock,
        graceMs: GRACE_MS,
        now: new Date(replacedAt + GRACE_MS - 1000),
      });
      expect(soon).toEqual({
        retired: [],
        keptRecent: [{ id: first.id, retirableAt: new Date(replacedAt + GRACE_MS).toISOString() }],
      });
      expect(readKeyringFile(path).map((k) => k.id)).toEqual([first.id, second.id]);
      const later = retireKeysInFile(path, new Set([second.id]), {
        lock,
        graceMs: GRACE_MS,
        now: new Date(replacedAt + GRACE_MS),
      });
      expect(later).toEqual({ retired: [first.id], keptRecent: [] });
      expect(readKeyringFile(path).map((k) => k.id)).toEqual([second.id]);
    } finally {
      lock.release();
    }
  });

  it('keeps a key a secret uses however old, and a key whose successor has no readable date', async () => {
    const path = keyringIn();
    const old = newMasterKey(new Date('2024-01-01T00:00:00Z'));
    const undated = newMasterKey(new Date('2024-02-01T00:00:00Z'));
    const newest = { ...newMasterKey(new Date('2024-03-01T00:00:00Z')), createdAt: 'yesterday' };
    const keys = [old, undated, newest].map((k) => ({
      id: k.id,
      key: k.key.toString('base64'),
      createdAt: k.createdAt,
    }));
    writeFileSync(path, JSON.stringify({ keys }), { mode: 0o600 });
    const lock = await lockKeyringFile(path, { purpose: 'test', timeoutMs: 1000 });
    try {
      const plan = retireKeysInFile(path, new Set([old.id]), { lock, graceMs: GRACE_MS });
      expect(plan).toEqual({ retired: [], keptRecent: [{ id: undated.id, retirableAt: 'never' }] });
    } finally {
      lock.release();
    }
  });
});

describe('changing the keyring file', () => {
  it('needs the keyring lock, held', async () => {
    const path = keyringIn();
    openKeyringFile(path, { createIfMissing: true });
    const lock = await lockKeyringFile(path, { purpose: 'test', timeoutMs: 1000 });
    lock.release();
    expect(() => addKeyToFile(path, lock)).toThrow(/no longer held/);
    const other = await lockKeyringFile(keyringIn(), { purpose: 'test', timeoutMs: 1000 });
    expect(() => addKeyToFile(path, other)).toThrow(/no longer held/);
    other.release();
    expect(readKeyringFile(path)).toHaveLength(1);
  });

  it('removes the copies a killed writer left beside it, with keys retire would drop', async () => {
    const path = keyringIn();
    openKeyringFile(path, { createIfMissing: true });
    const leftover = `${path}.0a1b2c3d4e5f.tmp`;
    const fromOlderVersion = `${path}.4242.tmp`;
    const fresh = `${path}.ffffffffffff.tmp`;
    for (const copy of [leftover, fromOlderVersion, fresh]) {
      writeFileSync(copy, readFileSync(path), { mode: 0o600 });
    }
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(leftover, anHourAgo, anHourAgo);
    utimesSync(fromOlderVersion, anHourAgo, anHourAgo);
    const lock = await lockKeyringFile(path, { purpose: 'test', timeoutMs: 1000 });
    try {
      retireKeysInFile(path, new Set(), { lock, graceMs: GRACE_MS });
    } finally {
      lock.release();
    }
    // A copy written a moment ago may belong to a writer at work: it stays.
    expect(readdirSync(dirname(path)).sort()).toEqual([basename(path), basename(fresh)].sort());
  });
});
