import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { acquireFileLock, type LockHolder, LockTimeoutError } from './file-lock.ts';

const FILE_LOCK = fileURLToPath(new URL('./file-lock.ts', import.meta.url));

const lockPathIn = (dir = mkdtempSync(join(tmpdir(), 'onramp-lock-'))) => join(dir, 'thing.lock');

/**
 * A separate process that takes the lock, writes `enter`/`exit` lines to `log` around `holdMs`, and
 * prints how many dead holders it removed; with `die`, it kills itself (SIGKILL) while holding it.
 * With `go`, it says `ready` and waits for that file to appear first, so several start together.
 */
function runHolder(
  lockPath: string,
  options: { log: string; holdMs: number; die?: boolean; go?: string },
) {
  const script = `
    import { acquireFileLock } from ${JSON.stringify(FILE_LOCK)};
    import { appendFileSync, existsSync } from 'node:fs';
    const go = ${JSON.stringify(options.go ?? null)};
    if (go) {
      console.log('ready');
      while (!existsSync(go)) await new Promise((r) => setTimeout(r, 1));
    }
    const lock = await acquireFileLock(${JSON.stringify(lockPath)}, { purpose: 'holder ' + process.pid, timeoutMs: 60000, pollMs: 5 });
    appendFileSync(${JSON.stringify(options.log)}, 'enter ' + process.pid + '\\n');
    if (${options.die === true}) process.kill(process.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, ${options.holdMs}));
    appendFileSync(${JSON.stringify(options.log)}, 'exit ' + process.pid + '\\n');
    lock.release();
    console.log(JSON.stringify({ removed: lock.removedStale.length }));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const finished = new Promise<{ code: number | null; output: string }>((resolve) => {
    child.once('close', (code) => resolve({ code, output }));
  });
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', () => {
      if (output.includes('ready')) resolve();
    });
  });
  return Object.assign(finished, { ready });
}

describe('the file lock', () => {
  it('makes a second taker wait, then give up naming the holder; it gets the lock once released', async () => {
    const path = lockPathIn();
    const first = await acquireFileLock(path, { purpose: 'first', timeoutMs: 1000 });
    const error = await acquireFileLock(path, { purpose: 'second', timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).message).toContain(
      `\`first\` (pid ${process.pid} on ${hostname()}`,
    );
    expect(first.isHeld()).toBe(true);
    first.release();
    const second = await acquireFileLock(path, { purpose: 'second', timeoutMs: 300 });
    expect(second.isHeld()).toBe(true);
    expect(second.removedStale).toEqual([]);
    second.release();
  });

  it('takes over at once a lock whose holder on this machine was killed', async () => {
    const path = lockPathIn();
    const log = `${path}.log`;
    const killed = await runHolder(path, { log, holdMs: 0, die: true });
    expect(readFileSync(log, 'utf8'), killed.output).toMatch(/^enter \d+\n$/);
    const started = performance.now();
    const lock = await acquireFileLock(path, { purpose: 'next', timeoutMs: 5000 });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(lock.removedStale.map((h) => h.purpose)).toEqual([
      `holder ${readFileSync(log, 'utf8').split(' ')[1]?.trim()}`,
    ]);
    lock.release();
  }, 30_000);

  it('takes over a lock held on another machine only once its heartbeat stops', async () => {
    const path = lockPathIn();
    const elsewhere: LockHolder = {
      token: 'a1b2c3',
      pid: process.pid,
      host: 'replica-2',
      machine: 'replica-2/boot/pid:[1]',
      since: new Date().toISOString(),
      purpose: 'onramp keys rotate',
    };
    writeFileSync(path, JSON.stringify(elsewhere));
    // While the holder touches its file, it is alive, however long we wait.
    const heartbeat = setInterval(() => utimesSync(path, new Date(), new Date()), 50);
    const waited = await acquireFileLock(path, {
      purpose: 'here',
      timeoutMs: 700,
      staleAfterMs: 300,
    }).catch((e: unknown) => e);
    clearInterval(heartbeat);
    expect(waited).toBeInstanceOf(LockTimeoutError);
    expect((waited as LockTimeoutError).holder).toEqual(elsewhere);
    // Once it stops, the lock is taken after staleAfterMs.
    const started = performance.now();
    const lock = await acquireFileLock(path, {
      purpose: 'here',
      timeoutMs: 5000,
      staleAfterMs: 300,
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(lock.removedStale).toEqual([elsewhere]);
    lock.release();
  });

  it('never lets the one it took the lock from remove it, once that one wakes up', async () => {
    const path = lockPathIn();
    // A holder that stops heartbeating (a paused process) is judged dead by a waiter…
    const paused = await acquireFileLock(path, {
      purpose: 'paused',
      timeoutMs: 1000,
      heartbeatMs: 60_000,
    });
    const started = performance.now();
    const next = await acquireFileLock(path, {
      purpose: 'next',
      timeoutMs: 5000,
      staleAfterMs: 100,
    });
    // Its process is still running here, so only ten times the silence counts.
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    // …and when it resumes it finds out, and its release leaves the new holder's lock alone.
    expect(paused.isHeld()).toBe(false);
    paused.release();
    expect(next.isHeld()).toBe(true);
    next.release();
  });

  it('lets exactly one of many processes remove a dead holder, and they hold it one at a time', async () => {
    const path = lockPathIn();
    const log = `${path}.log`;
    await runHolder(path, { log, holdMs: 0, die: true });
    // All released together, as they would find the dead holder's lock together.
    const go = `${path}.go`;
    const holders = Array.from({ length: 6 }, () => runHolder(path, { log, holdMs: 50, go }));
    await Promise.all(holders.map((h) => h.ready));
    writeFileSync(go, '');
    const runs = await Promise.all(holders);
    const outputs = runs.map((r) => r.output).join('\n');
    expect(
      runs.map((r) => r.code),
      outputs,
    ).toEqual(runs.map(() => 0));
    const removed = runs.map(
      (r) => (JSON.parse(r.output.replace('ready', '')) as { removed: number }).removed,
    );
    expect(
      removed.reduce((a, b) => a + b, 0),
      outputs,
    ).toBe(1);
    // After the dead holder's lone `enter`, every `enter` is followed by its own `exit`.
    const lines = readFileSync(log, 'utf8').trim().split('\n').slice(1);
    expect(lines).toHaveLength(12);
    for (let i = 0; i < lines.length; i += 2) {
      expect(lines[i]?.replace('enter', 'exit'), lines.join('\n')).toBe(lines[i + 1]);
    }
  }, 60_000);
});
