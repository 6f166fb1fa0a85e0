/**
 * `npm run dev` as a newcomer uses it: the dev script (scripts/dev.ts, the loopback AWS and Onramp as a
 * child process), driven through its prompt and the API. A connection with chosen permissions is
 * connected by the prompt's `role` command through the stack's call-back; then dev is restarted on the
 * same data directory, and the accounts connected before are still valid.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type OnrampClient } from '@onramp/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './server-process.ts';

const STEP_TIMEOUT = 90_000;

interface RunningDev {
  child: ChildProcess;
  output: () => string;
  /** Types a line at the prompt and waits for the output to match. */
  type(line: string, until: RegExp): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(output: () => string, pattern: RegExp, from = 0, ms = 45_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const match = pattern.exec(output().slice(from));
    if (match) return match;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`dev did not print ${pattern} within ${ms / 1000} s:\n${output()}`);
}

/** Starts dev as `npm run dev` does, without rebuilding the console (no browser here). */
async function startDev(dataDir: string, port: number): Promise<RunningDev> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ONRAMP_DATA_DIR: dataDir,
      PORT: String(port),
      LOOPBACK_AWS_PORT: '0',
      ONRAMP_LOG_LEVEL: 'warn',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  await waitFor(() => output, /Onramp is running at/);
  return {
    child,
    output: () => output,
    type: async (line, until) => {
      const from = output.length;
      child.stdin?.write(`${line}\n`);
      return (await waitFor(() => output, until, from))[0];
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin?.write('quit\n');
      }),
  };
}

/** The demo keys the banner shows for a partition. */
function demoKeys(output: string, partition: string) {
  const block = output.slice(output.indexOf(`  ${partition}: demo account`));
  const match = /default permissions:\s+(AKIA\w+)\s+(\S+)/.exec(block);
  return { accessKeyId: match?.[1] ?? '', secretAccessKey: match?.[2] ?? '' };
}

/** A client keeping the session cookie, as a browser would. */
function clientFor(url: string, tenant?: () => string | undefined): OnrampClient {
  let cookie = '';
  return createClient({
    baseUrl: url,
    ...(tenant ? { tenant } : {}),
    fetch: async (input, init) => {
      const headers = new Headers(init?.headers);
      if (cookie) headers.set('cookie', cookie);
      const response = await fetch(input, { ...init, headers });
      const set = response.headers.get('set-cookie');
      if (set) cookie = set.split(';')[0] ?? '';
      return response;
    },
  });
}

describe('npm run dev', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-dev-'));
  const running: RunningDev[] = [];
  afterAll(async () => {
    for (const dev of running) await dev.stop();
  });

  it(
    'connects a role with the connection’s own permissions through the stack’s call-back, and keeps every account valid across a restart',
    async () => {
      const port = await freePort();
      const first = await startDev(dataDir, port);
      running.push(first);
      const url = `http://127.0.0.1:${port}`;
      const setupToken = /(setup_[A-Za-z0-9_-]+)/.exec(first.output())?.[1] ?? '';
      let tenantId: string | undefined;
      const api = clientFor(url, () => tenantId);
      await api.session.setup({
        setupToken,
        email: 'dev@example.com',
        name: 'Dev Operator',
        password: 'correct horse battery staple 42',
      });
      tenantId = (await api.tenants.create({ name: 'Demo tenant' })).id;

      // Keys from the banner, in aws.
      const keys = demoKeys(first.output(), 'aws');
      const keysAccount = await api.accounts.create({
        method: 'access_keys',
        name: 'Demo keys',
        partition: 'aws',
        ...keys,
        bundles: 'default',
      });
      expect(keysAccount.status).toBe('valid');

      // A role with permissions other than the defaults, limited to one region.
      const connection = await api.connections.create({
        name: 'Demo role',
        partition: 'aws',
        bundles: ['nodes-ec2', 'kubernetes-eks'],
        regions: ['eu-west-1'],
      });
      // Dev gives Onramp a public URL and a template bucket: the one-click link is there.
      const quickCreate = new URL(connection.links.quickCreate ?? '');
      expect(quickCreate.host).toBe('console.aws.amazon.com');
      expect(connection.quickCreateUnavailableReason ?? null).toBeNull();

      const answer = await first.type(
        `role ${connection.id}`,
        /call-back (connected it as account \S+|was refused[^\n]*)|No connection[^\n]*|\n {2}[A-Z][^\n]*\n/,
      );
      expect(answer, first.output()).toMatch(/call-back connected it as account acct_/);
      const connected = await api.connections.get(connection.id);
      expect(connected.status).toBe('connected');
      const roleAccount = await api.accounts.get(connected.accountId ?? '');
      expect(roleAccount).toMatchObject({
        status: 'valid',
        partition: 'aws',
        bundles: ['kubernetes-eks', 'nodes-ec2'],
        regions: ['eu-west-1'],
      });
      // The role the connection asks for: its default name carries the connection's suffix.
      expect(connection.roleName).toMatch(/^OnrampRole-[a-z0-9]{8}$/);
      expect(roleAccount.roleArn).toBe(`arn:aws:iam::222233334444:role/${connection.roleName}`);
      // The role holds the chosen permissions, as the template builds them: region-limited EC2.
      const policies = [...first.output().matchAll(/created (arn:\S+) with ([^\n]+)/g)];
      expect(policies.at(-1)?.[2]).toContain('kubernetes-eks, nodes-ec2, limited to eu-west-1');

      // The same connection again: connected already, the prompt says so.
      expect(await first.type(`role ${connection.id}`, /is connected already\./)).toBeTruthy();

      await first.stop();
      const second = await startDev(dataDir, port);
      running.push(second);
      expect(second.output()).toContain('as the last run left it');
      // The banner shows the same demo keys: the ones stored in Onramp.
      expect(demoKeys(second.output(), 'aws')).toEqual(keys);
      for (const account of [keysAccount, roleAccount]) {
        const check = await api.accounts.check(account.id);
        expect(check.status, JSON.stringify(check)).toBe('valid');
      }
    },
    STEP_TIMEOUT * 2,
  );
});
