import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of the test's own, in a temporary directory on a free port, so a test can stop
 * and restart it without touching the shared server on 5432. initdb refuses to run as root (as tests
 * run here and in CI), so as root the cluster belongs to, and is run as, the `postgres` user.
 */
export interface ThrowawayCluster {
  port: number;
  url: (database?: string) => string;
  /** `pg_ctl -m fast restart`: every session is cut, as an operator's restart does. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (immediately) and deletes the directory; safe to call twice. */
  destroy(): Promise<void>;
  log(): string;
}

function binDirectory(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) throw new Error(`No PostgreSQL server binaries (initdb) under ${root}.`);
  return join(root, versions[0], 'bin');
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function freePort(from: number): Promise<number> {
  for (let port = from; port < from + 200; port++) {
    if (await isPortFree(port)) return port;
  }
  throw new Error(`No free port in ${from}…${from + 199}.`);
}

export async function startThrowawayCluster(): Promise<ThrowawayCluster> {
  const bin = binDirectory();
  const isRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'onramp-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (isRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (command: string, args: string[]) =>
    isRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, command), ...args])
      : run(join(bin, command), args);

  let destroyed = false;
  const port = await freePort(55432);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=50`;
  const pgCtl = (...args: string[]) => as('pg_ctl', ['-D', data, '-l', logFile, ...args]);

  const cluster: ThrowawayCluster = {
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    restart: async () => {
      await pgCtl('-m', 'fast', '-w', '-t', '60', '-o', options, 'restart');
    },
    stop: async () => {
      await pgCtl('-m', 'fast', '-w', '-t', '60', 'stop');
    },
    start: async () => {
      await pgCtl('-w', '-t', '60', '-o', options, 'start');
    },
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  try {
    await as('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    await cluster.start();
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}
