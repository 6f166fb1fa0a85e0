import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';

/**
 * An exclusive lock between processes that share a directory: a file created with O_EXCL beside the
 * thing it guards, naming who holds it. Node has no flock(), and a kernel lock would not reach another
 * machine over a network file system anyway, so the holder is judged by what the file says:
 *
 * - on this machine (same boot, same PID namespace), a holder whose process is gone is dead at once,
 *   so a `kill -9`ed holder never blocks the next one;
 * - elsewhere, the holder touches the file every few seconds, and a file left unchanged for
 *   `staleAfterMs` (measured by the waiter's own clock, so clocks need not agree) is dead; on this
 *   machine, with its process still running, only after ten times that (its pid may have been reused).
 *
 * Removing a dead holder's file is itself guarded: the remover first creates, again with O_EXCL, a
 * "break" file named after that exact lock file (its inode and contents), so of several waiters that
 * find the same dead holder only one removes it, and it removes it only if it is still that file.
 * Others then compete for the lock in the ordinary way.
 */
export interface LockHolder {
  token: string;
  pid: number;
  host: string;
  /** Boot and PID namespace: a pid means something only where these match. */
  machine: string;
  since: string;
  purpose: string;
}

export interface FileLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Dead holders whose lock files this process removed while it waited. */
  readonly removedStale: readonly LockHolder[];
  /** Whether the lock file is still ours: false if another process judged us dead and took it. */
  isHeld(): boolean;
  release(): void;
}

export interface FileLockOptions {
  /** What the holder is doing, shown to whoever waits (`onramp keys rotate`). */
  purpose: string;
  timeoutMs: number;
  staleAfterMs?: number;
  heartbeatMs?: number;
  pollMs?: number;
}

export class LockTimeoutError extends Error {
  constructor(
    readonly path: string,
    readonly waitedMs: number,
    readonly holder: LockHolder | undefined,
  ) {
    super(
      `could not lock ${path} within ${Math.round(waitedMs / 1000)} s: ${holder ? describeLockHolder(holder) : 'another process'} holds it`,
    );
    this.name = 'LockTimeoutError';
  }
}

export function describeLockHolder(holder: LockHolder): string {
  return `\`${holder.purpose}\` (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
}

const DEFAULT_STALE_AFTER_MS = 30_000;
const DEFAULT_HEARTBEAT_MS = 5_000;
const DEFAULT_POLL_MS = 50;

/** This boot of this machine, and this PID namespace (containers sharing a host name differ here). */
function machineIdentity(): string {
  const parts = [hostname()];
  try {
    parts.push(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    parts.push(readlinkSync('/proc/self/ns/pid'));
  } catch {
    // Not Linux: the host name alone; a container elsewhere must not share it with a holder's host.
  }
  return parts.join('/');
}

function isProcessRunning(pid: number): boolean {
  // kill(0) on pid 0 or a negative pid would address a process group, not the holder.
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface FoundLock {
  /** Which lock file this is: stays the same while its holder heartbeats. */
  identity: string;
  /** Changes on every heartbeat. */
  heartbeat: string;
  holder: LockHolder | undefined;
}

function readLock(path: string): FoundLock | undefined {
  let raw: string;
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let holder: LockHolder | undefined;
  try {
    holder = JSON.parse(raw) as LockHolder;
  } catch {
    // Created but not yet written (or its writer died in between): judged by its heartbeat alone.
  }
  const identity = `${stats.ino}:${raw}`;
  return { identity, heartbeat: `${identity}:${stats.mtimeMs}`, holder };
}

/** Creates `path` holding `body`, or answers false if it exists. */
function createExclusive(path: string, body: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, body);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw error;
  }
  closeSync(fd);
  return true;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function acquireFileLock(path: string, options: FileLockOptions): Promise<FileLock> {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const machine = machineIdentity();
  const holder: LockHolder = {
    token: randomBytes(12).toString('hex'),
    pid: process.pid,
    host: hostname(),
    machine,
    since: new Date().toISOString(),
    purpose: options.purpose,
  };
  const body = JSON.stringify(holder);
  const removedStale: LockHolder[] = [];
  // The last heartbeat seen of each file, and since when (this process's monotonic clock).
  const seen = new Map<string, { heartbeat: string; since: number }>();
  const now = () => performance.now();
  const started = now();

  const isAbandoned = (file: string, found: FoundLock): boolean => {
    const isLocal = found.holder?.machine === machine;
    if (found.holder && isLocal && !isProcessRunning(found.holder.pid)) return true;
    const last = seen.get(file);
    if (last?.heartbeat !== found.heartbeat) {
      seen.set(file, { heartbeat: found.heartbeat, since: now() });
      return false;
    }
    // A process of ours that is still running is the holder, only stalled (a loaded machine), unless
    // its pid was reused after it died: only a long silence says that.
    return now() - last.since >= (isLocal ? staleAfterMs * 10 : staleAfterMs);
  };

  const removeAbandoned = (file: string, found: FoundLock, depth: number): boolean => {
    const breakFile = `${path}.break-${createHash('sha256').update(found.identity).digest('hex').slice(0, 16)}`;
    if (!createExclusive(breakFile, body)) {
      // Another waiter is removing this very file, or died doing so (then its break file is abandoned
      // too, and is removed the same way; the depth bounds that chain).
      const breaker = readLock(breakFile);
      if (breaker && depth < 2 && isAbandoned(breakFile, breaker)) {
        removeAbandoned(breakFile, breaker, depth + 1);
      }
      return false;
    }
    try {
      // Only the same file: a new holder may have taken the lock since we looked.
      if (readLock(file)?.identity !== found.identity) return false;
      rmSync(file, { force: true });
      return true;
    } finally {
      rmSync(breakFile, { force: true });
    }
  };

  for (;;) {
    if (createExclusive(path, body)) break;
    const found = readLock(path);
    if (!found) continue;
    if (isAbandoned(path, found) && removeAbandoned(path, found, 0)) {
      if (found.holder) removedStale.push(found.holder);
      continue;
    }
    const waited = now() - started;
    if (waited >= options.timeoutMs) throw new LockTimeoutError(path, waited, found.holder);
    await sleep(pollMs + Math.random() * pollMs);
  }

  const isHeld = () => {
    try {
      return readFileSync(path, 'utf8') === body;
    } catch {
      return false;
    }
  };
  const heartbeat = setInterval(() => {
    try {
      if (isHeld()) utimesSync(path, new Date(), new Date());
    } catch {
      // Gone between the check and the touch: isHeld() says so to the holder.
    }
  }, options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  heartbeat.unref();
  return {
    path,
    holder,
    removedStale,
    isHeld,
    release: () => {
      clearInterval(heartbeat);
      if (isHeld()) rmSync(path, { force: true });
    },
  };
}
