/**
 * The import row of `npm run bench` (`BENCH_ONLY=import npm run bench` runs it alone): `onramp accounts
 * import` of 1,000 access-key accounts, the CLI a real process, against Onramp from the production
 * build (apps/server/dist/main.js) with the loopback AWS as its AWS; the baseline is the API's own
 * create throughput in the same run: a bench client POSTing the same kind of accounts, at the same
 * concurrency, over keep-alive connections. The figure is accounts per second, CLI over API.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { createClient } from '@onramp/sdk';
import { bundlePolicy, createHub, hubEnvironment } from '@onramp/server/testing';

const ROOT = new URL('..', import.meta.url).pathname;
const ACCOUNTS = Number(process.env.BENCH_IMPORT_ACCOUNTS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_IMPORT_CONCURRENCY ?? 8);
const CUSTOMER = '246813579024';

export interface ImportBenchRow {
  figure: string;
  measured: string;
  baseline: string;
  ratio: number;
  goal?: { max?: number; min?: number; text: string };
  note?: string;
}

const log = (message: string) => process.stderr.write(`${message}\n`);

/** Builds the server and the CLI (`node scripts/build.mjs`) when the build is missing. */
function ensureBuild(): void {
  if (
    existsSync(join(ROOT, 'apps/server/dist/main.js')) &&
    existsSync(join(ROOT, 'apps/cli/dist/main.js'))
  ) {
    return;
  }
  log('import: building (node scripts/build.mjs)…');
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('node scripts/build.mjs failed');
}

/** Onramp from the production build, as `npm start` runs it; its URL and set-up token. */
async function startOnramp(env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-import-bench-'));
  const child = spawn(process.execPath, ['apps/server/dist/main.js'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      HOST: '127.0.0.1',
      PORT: '0',
      ONRAMP_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const started = await new Promise<{ url: string; setupToken: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Onramp did not start:\n${output}`)), 60_000);
    child.stdout.on('data', () => {
      const url = /Onramp is running at (\S+)/.exec(output)?.[1];
      const setupToken = /(setup_[A-Za-z0-9_-]+)/.exec(output)?.[1];
      if (url && setupToken) {
        clearTimeout(timer);
        resolve({ url: url.replace('localhost', '127.0.0.1').replace(/\/+$/, ''), setupToken });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Onramp exited with ${code}:\n${output}`));
    });
  });
  return {
    ...started,
    stop: async () => {
      await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** fetch with a cookie jar, for the operator's and the admin's console sessions. */
function cookieFetch(): typeof fetch {
  const jar = new Map<string, string>();
  return async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size > 0) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(input, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const equals = pair.indexOf('=');
      if (equals > 0) jar.set(pair.slice(0, equals), pair.slice(equals + 1));
    }
    return response;
  };
}

/** The operator, a tenant and its admin's API token, through the API as a person would. */
async function setUpTenant(url: string, setupToken: string): Promise<string> {
  const password = 'a long bench password 1';
  const operator = createClient({ baseUrl: url, fetch: cookieFetch() });
  await operator.session.setup({ setupToken, email: 'ops@example.com', name: 'Ops', password });
  await operator.tenants.create({
    name: 'Bench',
    admin: { email: 'admin@bench.example', name: 'Bench Admin', password },
  });
  const admin = createClient({ baseUrl: url, fetch: cookieFetch() });
  await admin.session.login({ email: 'admin@bench.example', password });
  const token = await admin.tokens.create({
    name: 'import bench',
    scopes: ['admin', 'accounts:read', 'accounts:write'],
  });
  return token.secret;
}

interface KeysRow {
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** `count` IAM users in the loopback AWS with the default bundles' policy, as a customer makes them. */
function createUsers(aws: LoopbackAws, policy: unknown, prefix: string, count: number): KeysRow[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}-${String(i + 1).padStart(4, '0')}`;
    const user = aws.createUser('aws', CUSTOMER, name, {
      policies: { onramp: policy as never },
    });
    return { name, accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey };
  });
}

/** The baseline: the same creates straight to the API, `CONCURRENCY` in flight, keep-alive. */
async function createThroughApi(url: string, token: string, rows: readonly KeysRow[]) {
  let next = 0;
  const failures: number[] = [];
  const started = performance.now();
  const create = (row: KeysRow) =>
    fetch(`${url}/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'access_keys', partition: 'aws', bundles: 'default', ...row }),
    });
  const lane = async () => {
    while (next < rows.length) {
      const row = rows[next++] as KeysRow;
      // Like the CLI, a 429 or 5xx is tried again (a few times): both sides do the same work.
      for (let attempt = 1; ; attempt++) {
        const response = await create(row);
        await response.arrayBuffer();
        if (response.status === 201 || (response.status === 409 && attempt > 1)) break;
        const isRetryable = response.status === 429 || response.status >= 500;
        if (!isRetryable || attempt >= 5) {
          failures.push(response.status);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const seconds = (performance.now() - started) / 1000;
  if (failures.length > 0) {
    throw new Error(`import bench: API creates failed with ${failures.join(', ')}`);
  }
  return { seconds, rate: rows.length / seconds };
}

/** The CLI as a real process, from spawn to exit, importing a CSV of the rows. */
async function importThroughCli(url: string, token: string, rows: readonly KeysRow[]) {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-import-bench-cli-'));
  const file = join(dir, 'accounts.csv');
  writeFileSync(
    file,
    `name,partition,accessKeyId,secretAccessKey,bundles\n${rows
      .map((r) => `${r.name},aws,${r.accessKeyId},${r.secretAccessKey},default`)
      .join('\n')}\n`,
  );
  const started = performance.now();
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(
        process.execPath,
        [
          join(ROOT, 'apps/cli/bin/onramp.js'),
          'accounts',
          'import',
          file,
          '--concurrency',
          String(CONCURRENCY),
          '--json',
        ],
        {
          cwd: dir,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: dir,
            ONRAMP_URL: url,
            ONRAMP_TOKEN: token,
            ONRAMP_CONFIG_DIR: dir,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    },
  );
  const seconds = (performance.now() - started) / 1000;
  rmSync(dir, { recursive: true, force: true });
  const summary = JSON.parse(result.stdout || '{}') as { connected?: unknown[] };
  if (result.code !== 0 || summary.connected?.length !== rows.length) {
    throw new Error(
      `import bench: the CLI connected ${summary.connected?.length ?? 0} of ${rows.length} (exit ${result.code}):\n${result.stderr.slice(-2000)}`,
    );
  }
  return { seconds, rate: rows.length / seconds };
}

/** Runs the bench and returns its row. */
export async function benchImport(): Promise<ImportBenchRow[]> {
  ensureBuild();
  const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
    actions: createIamDataActionIndex(),
  });
  const aws = await startLoopbackAws();
  aws.createAccount('aws', CUSTOMER);
  const { user: hub } = createHub(aws, 'aws');
  const onramp = await startOnramp({ AWS_ENDPOINT_URL: aws.url, ...hubEnvironment('aws', hub) });
  try {
    const token = await setUpTenant(onramp.url, onramp.setupToken);
    const policy = bundlePolicy(catalog, {
      partition: 'aws',
      bundles: 'default',
      principal: 'user',
      accountId: CUSTOMER,
    });
    const apiRows = createUsers(aws, policy, 'api', ACCOUNTS);
    const cliRows = createUsers(aws, policy, 'cli', ACCOUNTS);
    log(`import: ${ACCOUNTS} accounts through the API, ${CONCURRENCY} in flight…`);
    const api = await createThroughApi(onramp.url, token, apiRows);
    log(`import: ${api.rate.toFixed(1)} accounts/s; now onramp accounts import…`);
    const cli = await importThroughCli(onramp.url, token, cliRows);
    log(`import: ${cli.rate.toFixed(1)} accounts/s`);
    return [
      {
        figure: `onramp accounts import, ${ACCOUNTS.toLocaleString('en')} access-key accounts`,
        measured: `${cli.rate.toFixed(1)} accounts/s (${cli.seconds.toFixed(1)} s, the CLI process from spawn to exit)`,
        baseline: `${api.rate.toFixed(1)} accounts/s (the API's own creates, ${CONCURRENCY} in flight, keep-alive)`,
        ratio: cli.rate / api.rate,
        goal: { min: 0.8, text: '≥ 0.8×' },
        note: `Onramp from the production build (apps/server/dist/main.js, SQLite), the loopback AWS in the bench process; each create validates the keys against it (GetCallerIdentity, the permission simulation) and commits the account in one transaction. The CLI (apps/cli/bin/onramp.js) reads a CSV and creates at --concurrency ${CONCURRENCY}, with progress on a pipe, retries for 429/5xx and its JSON summary.`,
      },
    ];
  } finally {
    await onramp.stop();
    await aws.stop();
  }
}
