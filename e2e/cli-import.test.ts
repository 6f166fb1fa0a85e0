/**
 * `onramp accounts import FILE` as a real process (node apps/cli/bin/onramp.js) against a real Onramp
 * process (SQLite) and the loopback AWS: an import with bad rows, a re-run that skips everything, an
 * import killed with SIGKILL half-way then re-run (each row connected exactly once), and the progress
 * on a pseudo-terminal and on a pipe. Secrets from the file appear in no output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRun, runCli } from '@onramp/cli/testing';
import { createClient, listAll } from '@onramp/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliWorld, startCliWorld } from './cli-world.ts';
import { ROOT } from './server-process.ts';

let world: CliWorld;
const dir = mkdtempSync(join(tmpdir(), 'onramp-cli-import-'));

beforeAll(async () => {
  world = await startCliWorld();
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

interface ProcessRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const describeProcess = (run: ProcessRun) =>
  `exit ${run.code ?? run.signal}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;

/** The environment of a CI job holding the tenant's token (no config file). */
const cliEnv = () => ({
  PATH: process.env.PATH ?? '',
  HOME: dir,
  ONRAMP_URL: world.url,
  ONRAMP_TOKEN: world.acme.adminToken,
  ONRAMP_CONFIG_DIR: dir,
});

/** Starts `onramp <argv>` as a real process, its output piped. */
function startCli(argv: readonly string[]): { child: ChildProcess; done: Promise<ProcessRun> } {
  const child = spawn(process.execPath, [join(ROOT, 'apps/cli/bin/onramp.js'), ...argv], {
    cwd: dir,
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const done = new Promise<ProcessRun>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

interface Summary {
  rows: number;
  connected: { row: number; name: string; accountId: string }[];
  skipped: { row: number; name: string; reason: string }[];
  failed: {
    row: number;
    line: number;
    name: string;
    errors: { field: string; message: string }[];
  }[];
  notTried: number;
}

function parseSummary(run: ProcessRun): Summary {
  try {
    return JSON.parse(run.stdout) as Summary;
  } catch {
    throw new Error(`stdout is not the JSON summary\n${describeProcess(run)}`);
  }
}

/** Every account of the tenant, as the API lists them. */
async function listAccounts() {
  const client = createClient({ baseUrl: world.url, token: world.acme.adminToken });
  return listAll(
    (cursor) => client.accounts.list({ limit: 200, ...(cursor ? { cursor } : {}) }),
    (page) => page.accounts,
  );
}

/** A CSV of access-key users made in the loopback AWS, named `<prefix>-<n>`. */
function keysCsv(prefix: string, count: number) {
  const users = Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${i + 1}`,
    ...world.createKeysUser(`${prefix}-${i + 1}`),
  }));
  const lines = users.map((u) => `${u.name},aws,${u.accessKeyId},${u.secretAccessKey},default`);
  return { users, header: 'name,partition,accessKeyId,secretAccessKey,bundles', lines };
}

describe('onramp accounts import', () => {
  const good = { users: [] as { name: string; secretAccessKey: string }[] };

  it('connects the good rows of 50, fails each bad row naming its row and field, and shows no secret', async () => {
    const { users, header, lines } = keysCsv('batch', 45);
    good.users = users;
    const stray = world.createKeysUser('stray');
    const other = world.createKeysUser('other');
    const bad = [
      // Refused locally, before any request.
      `Bad partition,aws-moon,AKIABADPARTITION0001,${stray.secretAccessKey},default`,
      'No secret,aws,AKIANOSECRET00000001,,default',
      // Refused by Onramp: AWS does not know the key, or the secret is wrong, or no such bundle.
      'Unknown key,aws,AKIAUNKNOWNKEY000001,notTheSecretOfAnyKey0000000000000000000,default',
      `Wrong secret,aws,${stray.accessKeyId},${stray.secretAccessKey.slice(0, -4)}XXXX,default`,
      `No such bundle,aws,${other.accessKeyId},${other.secretAccessKey},no-such-bundle`,
    ];
    // The bad rows among the good: rows 5, 15, 25, 35, 45.
    const body = [...lines];
    for (const [i, row] of bad.entries()) body.splice(4 + i * 10, 0, row);
    const file = join(dir, 'accounts.csv');
    writeFileSync(file, `${header}\r\n${body.join('\r\n')}\r\n`);

    const run = await startCli(['accounts', 'import', 'accounts.csv', '--json']).done;
    expect(run.code, describeProcess(run)).toBe(1);
    const summary = parseSummary(run);
    expect(summary.rows).toBe(50);
    expect(summary.connected).toHaveLength(45);
    expect(summary.skipped).toEqual([]);
    expect(summary.failed.map((f) => [f.row, f.name, f.errors[0]?.field])).toEqual([
      [5, 'Bad partition', 'partition'],
      [15, 'No secret', 'secretAccessKey'],
      [25, 'Unknown key', expect.stringMatching(/accessKeyId|secretAccessKey/)],
      [35, 'Wrong secret', expect.stringMatching(/accessKeyId|secretAccessKey/)],
      [45, 'No such bundle', expect.stringMatching(/^bundles/)],
    ]);
    expect(summary.failed[0]?.line).toBe(6);
    for (const user of [...users, stray, other]) {
      expect(run.stdout + run.stderr).not.toContain(user.secretAccessKey);
    }
    expect(run.stdout + run.stderr).not.toContain(stray.secretAccessKey.slice(0, -4));
    const accounts = await listAccounts();
    expect(accounts.map((a) => a.name).sort()).toEqual(users.map((u) => u.name).sort());
  }, 120_000);

  it('skips every row on a re-run of the same file, and duplicates nothing', async () => {
    const run = await startCli(['accounts', 'import', 'accounts.csv', '--json']).done;
    expect(run.code, describeProcess(run)).toBe(1);
    const summary = parseSummary(run);
    expect(summary.connected).toEqual([]);
    expect(summary.skipped).toHaveLength(45);
    expect(summary.skipped[0]?.reason).toMatch(/already connected/);
    expect(summary.failed).toHaveLength(5);
    expect(await listAccounts()).toHaveLength(45);
  }, 120_000);

  it('loses nothing and duplicates nothing when killed half-way and run again', async () => {
    const { users, header, lines } = keysCsv('killed', 40);
    writeFileSync(join(dir, 'killed.csv'), `${header}\n${lines.join('\n')}\n`);
    // AWS slow enough that the import is surely mid-way when it is killed.
    world.aws.latencyMs = 60;
    try {
      const { child, done } = startCli(['accounts', 'import', 'killed.csv', '--concurrency', '4']);
      let progress = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no progress in 60 s:\n${progress}`)),
          60_000,
        );
        child.stderr?.on('data', (chunk) => {
          progress += chunk;
          const counts = [...progress.matchAll(/^(\d+)\/40 /gm)].map((m) => Number(m[1]));
          if (Math.max(0, ...counts) >= 10) {
            clearTimeout(timer);
            child.kill('SIGKILL');
            resolve();
          }
        });
      });
      const killed = await done;
      expect(killed.signal).toBe('SIGKILL');
      const before = (await listAccounts()).filter((a) => a.name.startsWith('killed-'));
      expect(before.length).toBeGreaterThanOrEqual(10);
      expect(before.length).toBeLessThan(40);
    } finally {
      world.aws.latencyMs = 0;
    }

    const rerun = await startCli(['accounts', 'import', 'killed.csv', '--json']).done;
    expect(rerun.code, describeProcess(rerun)).toBe(0);
    const summary = parseSummary(rerun);
    expect(summary.failed).toEqual([]);
    expect(summary.connected.length + summary.skipped.length).toBe(40);
    expect(summary.skipped.length).toBeGreaterThanOrEqual(10);
    const after = (await listAccounts()).filter((a) => a.name.startsWith('killed-'));
    // Each row exactly once: one account per access key, every key there.
    expect(after.map((a) => a.accessKeyId).sort()).toEqual(
      [...new Set(after.map((a) => a.accessKeyId))].sort(),
    );
    expect(after.map((a) => a.name).sort()).toEqual(users.map((u) => u.name).sort());
  }, 180_000);

  it('draws a bar in place on a pseudo-terminal, and writes plain lines on a pipe', async () => {
    const { header, lines } = keysCsv('shown', 6);
    writeFileSync(join(dir, 'shown.csv'), `${header}\n${lines.join('\n')}\n`);
    const onPipe = await startCli(['accounts', 'import', 'shown.csv']).done;
    expect(onPipe.code, describeProcess(onPipe)).toBe(0);
    expect(onPipe.stderr).toMatch(/^0\/6 \(0%\)/m);
    expect(onPipe.stderr).toMatch(
      /^6\/6 \(100%\) [\d.]+\/s ETA -: connected 6, skipped 0, failed 0$/m,
    );
    expect(onPipe.stderr).not.toContain('\r');
    expect(onPipe.stdout).toMatch(/Imported 6 rows of shown\.csv .*: 6 connected, 0 skipped/);

    // script(1) runs the CLI on a pseudo-terminal; everything it shows comes back on its stdout.
    const command = `${process.execPath} ${join(ROOT, 'apps/cli/bin/onramp.js')} accounts import shown.csv`;
    const onTerminal = await new Promise<ProcessRun>((resolve) => {
      const child = spawn('script', ['-qfec', command, '/dev/null'], {
        cwd: dir,
        env: { ...cliEnv(), TERM: 'xterm', COLUMNS: '100' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr: '' }));
    });
    expect(onTerminal.code, describeProcess(onTerminal)).toBe(0);
    // Redrawn in place: erase the line, then the bar with its figures; the last frame is full.
    expect(onTerminal.stdout).toContain('\r\u001b[2K[');
    expect(onTerminal.stdout).toMatch(/\[█+\] 6\/6 100% [\d.]+\/s ETA - {2}✓0 ↷6 ✗0/);
    expect(onTerminal.stdout).not.toMatch(/^\d+\/6 \(/m);
  }, 120_000);

  it('checks rows with Onramp and AWS on --dry-run, connecting nothing', async () => {
    const { header, lines } = keysCsv('dry', 3);
    const file = join(dir, 'dry.csv');
    writeFileSync(file, `${header}\n${lines.join('\n')}\n`);
    const before = (await listAccounts()).length;
    const run = await runCli(['accounts', 'import', file, '--dry-run', '--json'], {
      io: { env: cliEnv() },
    });
    expect(run.code, describeRun(run)).toBe(0);
    const summary = JSON.parse(run.stdout) as {
      valid: unknown[];
      skipped: unknown[];
      dryRun: boolean;
    };
    expect(summary).toMatchObject({ dryRun: true, skipped: [] });
    expect(summary.valid).toHaveLength(3);
    expect(await listAccounts()).toHaveLength(before);
  }, 60_000);

  it('stops at a refused token without trying every row, and names a bad flag', async () => {
    const refused = await runCli(['accounts', 'import', join(dir, 'shown.csv')], {
      io: { env: { ...cliEnv(), ONRAMP_TOKEN: 'onr_not_a_real_token_at_all_000000' } },
    });
    expect(refused.code, describeRun(refused)).toBe(1);
    expect(refused.stderr).toContain('the token was refused');
    expect(refused.stderr).toMatch(/rows were not tried/);
    expect(refused.stderr).not.toContain('onr_not_a_real_token_at_all_000000');
    const badFlag = await runCli(['accounts', 'import', 'x.csv', '--concurrency', '0'], {
      io: { env: cliEnv() },
    });
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--concurrency');
    const missing = await runCli(['accounts', 'import', join(dir, 'missing.csv')], {
      io: { env: cliEnv() },
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  }, 60_000);
});
