/**
 * `onramp login`, profiles and `onramp accounts …` against a real Onramp process (SQLite) and the
 * loopback AWS: the CLI runs in-process (runCli) for most cases and as a real process for the wiring.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type CliRun, describeRun, parseJsonOutput, runCli } from '@onramp/cli/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliWorld, CUSTOMER, startCliWorld } from './cli-world.ts';
import { ROOT } from './server-process.ts';

let world: CliWorld;

beforeAll(async () => {
  world = await startCliWorld();
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

/** A fresh config directory, as a new machine has. */
const freshConfigDir = () => mkdtempSync(join(tmpdir(), 'onramp-cli-config-'));

/** Runs the CLI with a token in the environment (no config file), as a CI job would. */
function asToken(token: string, argv: readonly string[], stdin?: string): Promise<CliRun> {
  return runCli(argv, {
    ...(stdin === undefined ? {} : { stdin }),
    io: {
      env: { ONRAMP_URL: world.url, ONRAMP_TOKEN: token, ONRAMP_CONFIG_DIR: freshConfigDir() },
    },
  });
}

async function addKeysAccount(name: string, token = world.acme.adminToken) {
  const keys = world.createKeysUser(`user-${name.toLowerCase().replace(/\W+/g, '-')}`);
  const result = await asToken(
    token,
    [
      'accounts',
      'add',
      '--partition',
      'aws',
      '--name',
      name,
      '--access-key-id',
      keys.accessKeyId,
      '--secret-stdin',
      '--json',
    ],
    `${keys.secretAccessKey}\n`,
  );
  expect(result.code, describeRun(result)).toBe(0);
  return { account: parseJsonOutput(result) as { id: string; name: string; status: string }, keys };
}

describe('onramp login and profiles', () => {
  it('checks the token, says who it is, and saves it in a file only its owner can read', async () => {
    const dir = freshConfigDir();
    const env = { ONRAMP_CONFIG_DIR: join(dir, 'onramp') };
    const result = await runCli(['login', '--url', world.url, '--token-stdin'], {
      stdin: `${world.acme.adminToken}\n`,
      io: { env },
    });
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.stdout).toContain(`tenant ${world.acme.id}`);
    expect(result.stdout).toContain('accounts:write');
    expect(result.stdout + result.stderr).not.toContain(world.acme.adminToken);
    const file = join(dir, 'onramp', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'onramp')).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toEqual({
      current: 'default',
      profiles: { default: { url: world.url, token: world.acme.adminToken } },
    });

    // The saved profile is used by the next command, with no environment but the config directory.
    const list = await runCli(['accounts', 'list', '--json'], { io: { env } });
    expect(list.code, describeRun(list)).toBe(0);
    expect(parseJsonOutput(list)).toMatchObject({ accounts: expect.any(Array) });

    // The profiles list shows the token's first characters, never the token.
    const profiles = await runCli(['profiles'], { io: { env } });
    expect(profiles.code, describeRun(profiles)).toBe(0);
    expect(profiles.stdout).toMatch(/\*\s+default\s+http/);
    expect(profiles.stdout).not.toContain(world.acme.adminToken);
  });

  it('refuses a bad token and saves nothing', async () => {
    const dir = freshConfigDir();
    const result = await runCli(['login', '--url', world.url, '--token-stdin'], {
      stdin: 'onr_notARealTokenAtAll000000000000\n',
      io: { env: { ONRAMP_CONFIG_DIR: dir } },
    });
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain('the token was refused');
    expect(result.stderr).toContain('onramp login');
    expect(result.stderr).not.toContain('onr_notARealTokenAtAll');
    expect(() => statSync(join(dir, 'config.json'))).toThrow();
  });

  it('never takes the token as a flag, and needs --token-stdin without a terminal', async () => {
    const env = { ONRAMP_CONFIG_DIR: freshConfigDir() };
    const asFlag = await runCli(['login', '--url', world.url, '--token', world.acme.adminToken], {
      io: { env },
    });
    expect(asFlag.code, describeRun(asFlag)).toBe(2);
    expect(asFlag.stderr).toContain('--token is not taken');
    expect(asFlag.stderr).not.toContain(world.acme.adminToken);
    const noStdin = await runCli(['login', '--url', world.url], { io: { env } });
    expect(noStdin.code, describeRun(noStdin)).toBe(2);
    expect(noStdin.stderr).toContain('--token-stdin');
  });

  it('refuses a config file others can read, saying how to fix it', async () => {
    const dir = freshConfigDir();
    const env = { ONRAMP_CONFIG_DIR: dir };
    const login = await runCli(['login', '--url', world.url, '--token-stdin'], {
      stdin: world.acme.adminToken,
      io: { env },
    });
    expect(login.code, describeRun(login)).toBe(0);
    const file = join(dir, 'config.json');
    chmodSync(file, 0o644);
    const list = await runCli(['accounts', 'list'], { io: { env } });
    expect(list.code, describeRun(list)).toBe(1);
    expect(list.stderr).toContain(`chmod 600 ${file}`);
    // Logging in again does not write a new token into the exposed file either.
    const again = await runCli(['login', '--url', world.url, '--token-stdin'], {
      stdin: world.globex.adminToken,
      io: { env },
    });
    expect(again.code, describeRun(again)).toBe(1);
    expect(readFileSync(file, 'utf8')).not.toContain(world.globex.adminToken);
    chmodSync(file, 0o600);
    const fixed = await runCli(['accounts', 'list'], { io: { env } });
    expect(fixed.code, describeRun(fixed)).toBe(0);
  });

  it('keeps named profiles; ONRAMP_URL/ONRAMP_TOKEN and --profile choose among them', async () => {
    const dir = freshConfigDir();
    const env = { ONRAMP_CONFIG_DIR: dir };
    const globexAccount = (await addKeysAccount('Globex Prod', world.globex.adminToken)).account;
    for (const [profile, token] of [
      ['acme', world.acme.adminToken],
      ['globex', world.globex.adminToken],
    ] as const) {
      const login = await runCli(
        ['login', '--url', world.url, '--profile', profile, '--token-stdin'],
        { stdin: token, io: { env } },
      );
      expect(login.code, describeRun(login)).toBe(0);
    }
    const ids = async (argv: string[], extraEnv: Record<string, string> = {}) => {
      const result = await runCli(['accounts', 'list', '--json', ...argv], {
        io: { env: { ...env, ...extraEnv } },
      });
      expect(result.code, describeRun(result)).toBe(0);
      return (parseJsonOutput(result) as { accounts: { id: string }[] }).accounts.map((a) => a.id);
    };
    // The last login is the current profile.
    expect(await ids([])).toContain(globexAccount.id);
    expect(await ids(['--profile', 'acme'])).not.toContain(globexAccount.id);
    expect(await ids([], { ONRAMP_PROFILE: 'acme' })).not.toContain(globexAccount.id);
    // The environment's token overrides the profile's.
    expect(
      await ids(['--profile', 'acme'], {
        ONRAMP_URL: world.url,
        ONRAMP_TOKEN: world.globex.adminToken,
      }),
    ).toContain(globexAccount.id);

    const use = await runCli(['profiles', 'use', 'acme'], { io: { env } });
    expect(use.code, describeRun(use)).toBe(0);
    expect(await ids([])).not.toContain(globexAccount.id);

    const unknown = await runCli(['accounts', 'list', '--profile', 'nope'], { io: { env } });
    expect(unknown.code, describeRun(unknown)).toBe(2);
    expect(unknown.stderr).toContain('--profile: there is no profile "nope"');

    // A profile's token is sent only to the server it was saved for.
    const elsewhere = await runCli(['accounts', 'list', '--url', 'http://127.0.0.1:9'], {
      io: { env },
    });
    expect(elsewhere.code, describeRun(elsewhere)).toBe(2);
    expect(elsewhere.stderr).toContain('--url:');
    expect(elsewhere.stderr).toContain('its token is sent only there');

    const logout = await runCli(['logout', '--profile', 'globex'], { io: { env } });
    expect(logout.code, describeRun(logout)).toBe(0);
    const profiles = await runCli(['profiles', '--json'], { io: { env } });
    expect(parseJsonOutput(profiles)).toMatchObject({
      current: 'acme',
      profiles: [{ name: 'acme', current: true }],
    });
    expect(profiles.stdout).not.toContain(world.acme.adminToken);
  });

  it('saves an operator’s tenant with the profile, after checking the tenant exists', async () => {
    const env = { ONRAMP_CONFIG_DIR: freshConfigDir() };
    const unknown = await runCli(
      ['login', '--url', world.url, '--token-stdin', '--tenant', 'ten_doesnotexist'],
      { stdin: world.operatorToken, io: { env } },
    );
    expect(unknown.code, describeRun(unknown)).toBe(2);
    expect(unknown.stderr).toContain('--tenant:');
    expect(unknown.stderr).toContain('Nothing was saved');
    const login = await runCli(
      ['login', '--url', world.url, '--token-stdin', '--tenant', world.acme.id],
      { stdin: world.operatorToken, io: { env } },
    );
    expect(login.code, describeRun(login)).toBe(0);
    expect(login.stdout).toContain('of the operator');
    expect(login.stdout).toContain(`Acting on tenant ${world.acme.id}`);
    const { account } = await addKeysAccount('Seen By The Operator');
    await addKeysAccount('Also Seen');
    const list = await runCli(['accounts', 'list', '--json', '--all', '--limit', '1'], {
      io: { env },
    });
    expect(list.code, describeRun(list)).toBe(0);
    const all = parseJsonOutput(list) as { id: string }[];
    // --all follows every page (one account per page here) to the last.
    expect(all.length).toBeGreaterThan(1);
    expect(all.map((a) => a.id)).toContain(account.id);
    expect(new Set(all.map((a) => a.id)).size).toBe(all.length);
  });

  it('says how to log in when nothing is set', async () => {
    const result = await runCli(['accounts', 'list'], {
      io: { env: { ONRAMP_CONFIG_DIR: freshConfigDir() } },
    });
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(
      'not logged in: run `onramp login` or set ONRAMP_URL and ONRAMP_TOKEN',
    );
  });
});

describe('onramp accounts', () => {
  it('adds access keys (the secret from stdin), lists, gets, checks, renames and removes', async () => {
    const keys = world.createKeysUser('keys-happy');
    const add = await asToken(
      world.acme.adminToken,
      [
        'accounts',
        'add',
        '--partition',
        'aws',
        '--name',
        'Acme Keys',
        '--access-key-id',
        keys.accessKeyId,
        '--secret-stdin',
      ],
      `${keys.secretAccessKey}\n`,
    );
    expect(add.code, describeRun(add)).toBe(0);
    expect(add.stdout).toContain('Connected Acme Keys');
    expect(add.stdout + add.stderr).not.toContain(keys.secretAccessKey);
    const id = /\((acct_[A-Za-z0-9]+)\)/.exec(add.stdout)?.[1] ?? '';
    expect(id, describeRun(add)).not.toBe('');

    const list = await asToken(world.acme.adminToken, ['accounts', 'list']);
    expect(list.code, describeRun(list)).toBe(0);
    const header = list.stdout.split('\n')[0] ?? '';
    expect(header).toMatch(/^ID\s+NAME\s+PARTITION\s+ACCOUNT\s+METHOD\s+HEALTH\s+LAST CHECK$/);
    const row = list.stdout.split('\n').find((line) => line.startsWith(id)) ?? '';
    expect(row, describeRun(list)).toMatch(
      new RegExp(`^${id}\\s+Acme Keys\\s+aws\\s+${CUSTOMER}\\s+access_keys\\s+valid\\s+`),
    );
    // Not a terminal: no colour codes in the table.
    expect(list.stdout).not.toContain('\u001b');

    const json = await asToken(world.acme.adminToken, [
      'accounts',
      'list',
      '--json',
      '--method',
      'access_keys',
      '--all',
    ]);
    expect(json.code, describeRun(json)).toBe(0);
    const all = parseJsonOutput(json) as { id: string; method: string }[];
    expect(all.map((a) => a.id)).toContain(id);
    expect(all.every((a) => a.method === 'access_keys')).toBe(true);

    const get = await asToken(world.acme.adminToken, ['accounts', 'get', id, '--json']);
    expect(parseJsonOutput(get)).toMatchObject({ id, name: 'Acme Keys', awsAccountId: CUSTOMER });
    expect(get.stdout).not.toContain(keys.secretAccessKey);

    const check = await asToken(world.acme.adminToken, ['accounts', 'check', id]);
    expect(check.code, describeRun(check)).toBe(0);
    expect(check.stdout).toContain(`${id}: valid`);
    expect(check.stdout).toMatch(/✓ \S/);

    const update = await asToken(world.acme.adminToken, [
      'accounts',
      'update',
      id,
      '--name',
      'Acme Keys 2',
      '--json',
    ]);
    expect(update.code, describeRun(update)).toBe(0);
    expect(parseJsonOutput(update)).toMatchObject({ id, name: 'Acme Keys 2' });

    const refused = await asToken(world.acme.adminToken, ['accounts', 'rm', id]);
    expect(refused.code, describeRun(refused)).toBe(2);
    expect(refused.stderr).toContain('--yes');
    const rm = await asToken(world.acme.adminToken, ['accounts', 'rm', id, '--yes']);
    expect(rm.code, describeRun(rm)).toBe(0);
    const gone = await asToken(world.acme.adminToken, ['accounts', 'get', id]);
    expect(gone.code, describeRun(gone)).toBe(1);
    expect(gone.stderr).toContain('not found');
  });

  it('asks before removing on a terminal, and removes only on yes', async () => {
    const { account } = await addKeysAccount('Asked First');
    const onTerminal = (answer: string) =>
      runCli(['accounts', 'rm', account.id], {
        terminalColumns: 100,
        io: {
          env: { ONRAMP_URL: world.url, ONRAMP_TOKEN: world.acme.adminToken },
          stdin: Object.assign(Readable.from([answer]), { isTTY: true }),
        },
      });
    const no = await onTerminal('n\n');
    expect(no.code, describeRun(no)).toBe(2);
    expect(no.stderr.replace(STYLE_ESCAPES, '')).toContain(
      `Remove Asked First (${account.id}, AWS account ${CUSTOMER}) from Onramp? [y/N]`,
    );
    expect((await asToken(world.acme.adminToken, ['accounts', 'get', account.id])).code).toBe(0);
    const yes = await onTerminal('y\n');
    expect(yes.code, describeRun(yes)).toBe(0);
    expect((await asToken(world.acme.adminToken, ['accounts', 'get', account.id])).code).toBe(1);
  });

  it('validates without saving: each step, and exit 3 when the keys are wrong', async () => {
    const keys = world.createKeysUser('keys-validate');
    const good = await asToken(
      world.acme.adminToken,
      [
        'accounts',
        'validate',
        '--partition',
        'aws',
        '--name',
        'Try',
        '--access-key-id',
        keys.accessKeyId,
        '--secret-stdin',
      ],
      keys.secretAccessKey,
    );
    expect(good.code, describeRun(good)).toBe(0);
    expect(good.stdout).toMatch(/^valid: arn:aws:iam::/m);
    expect(good.stdout).toContain('✓');

    const file = join(freshConfigDir(), 'secret.txt');
    writeFileSync(file, 'wrongSecretwrongSecretwrongSecret0000000\n');
    const bad = await asToken(world.acme.adminToken, [
      'accounts',
      'validate',
      '--partition',
      'aws',
      '--name',
      'Try',
      '--access-key-id',
      keys.accessKeyId,
      '--secret-file',
      file,
    ]);
    expect(bad.code, describeRun(bad)).toBe(3);
    expect(bad.stdout).toContain('✗');
    expect(bad.stderr).toContain('nothing was saved');
    const listed = await asToken(world.acme.adminToken, [
      'accounts',
      'list',
      '--json',
      '--search',
      'Try',
    ]);
    expect((parseJsonOutput(listed) as { accounts: unknown[] }).accounts).toEqual([]);
  });

  it('validates access keys without a --name (nothing is saved, so none is needed)', async () => {
    const keys = world.createKeysUser('keys-validate-unnamed');
    const args = [
      'accounts',
      'validate',
      '--partition',
      'aws',
      '--access-key-id',
      keys.accessKeyId,
    ];
    const good = await asToken(
      world.acme.adminToken,
      [...args, '--secret-stdin'],
      keys.secretAccessKey,
    );
    expect(good.code, describeRun(good)).toBe(0);
    expect(good.stdout).toMatch(/^valid: arn:aws:iam::/m);
    const noPartition = await asToken(
      world.acme.adminToken,
      ['accounts', 'validate', '--access-key-id', keys.accessKeyId, '--secret-stdin'],
      keys.secretAccessKey,
    );
    expect(noPartition.code, describeRun(noPartition)).toBe(2);
    expect(noPartition.stderr).toBe(
      'error: --partition: access keys need a partition and the key id.\n',
    );
    // Adding still needs a name: the account keeps it.
    const add = await asToken(
      world.acme.adminToken,
      ['accounts', 'add', ...args.slice(2), '--secret-stdin'],
      keys.secretAccessKey,
    );
    expect(add.code, describeRun(add)).toBe(2);
    expect(add.stderr).toContain('--name: access keys need a partition, a name and the key id.');
  });

  it('refused for missing permissions alone, says --accept-missing-permissions adds it degraded', async () => {
    const weak = world.aws.createUser('aws', CUSTOMER, 'keys-weak', {
      policies: {
        onramp: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['iam:SimulatePrincipalPolicy'], Resource: '*' }],
        },
      },
    });
    const args = [
      'accounts',
      'add',
      '--partition',
      'aws',
      '--name',
      'Weak',
      '--access-key-id',
      weak.accessKeyId,
      '--secret-stdin',
    ];
    const refused = await asToken(world.acme.adminToken, args, weak.secretAccessKey);
    expect(refused.code, describeRun(refused)).toBe(1);
    expect(refused.stderr).toMatch(/^error: permissions\.[a-z-]+: The user lacks /m);
    expect(refused.stderr).toContain(
      'error: only permissions are missing: attach the policy the console shows (View JSON) and run this again, or add it now (degraded) with --accept-missing-permissions.',
    );
    const degraded = await asToken(
      world.acme.adminToken,
      [...args, '--accept-missing-permissions', '--json'],
      weak.secretAccessKey,
    );
    expect(degraded.code, describeRun(degraded)).toBe(0);
    expect(parseJsonOutput(degraded)).toMatchObject({ name: 'Weak', status: 'degraded' });
  });

  it('tells an operator without a tenant to give --tenant', async () => {
    const list = await asToken(world.operatorToken, ['accounts', 'list']);
    expect(list.code, describeRun(list)).toBe(2);
    expect(list.stderr).toContain(
      'error: --tenant (or ONRAMP_TENANT, or onramp login --tenant): Name the tenant',
    );
    expect(list.stderr).not.toContain('error: Onramp-Tenant:');
    const withTenant = await asToken(world.operatorToken, [
      'accounts',
      'list',
      '--tenant',
      world.acme.id,
    ]);
    expect(withTenant.code, describeRun(withTenant)).toBe(0);
  });

  it('names the flag a field error of the API came from', async () => {
    const keys = world.createKeysUser('keys-field-error');
    const result = await asToken(
      world.acme.adminToken,
      [
        'accounts',
        'add',
        '--partition',
        'aws',
        '--name',
        'Bad bundles',
        '--access-key-id',
        keys.accessKeyId,
        '--secret-stdin',
        '--bundles',
        'no-such-bundle',
      ],
      keys.secretAccessKey,
    );
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr).toMatch(/^error: --bundles: /m);
    expect(result.stderr).not.toContain(keys.secretAccessKey);
  });

  it('never takes a secret access key as a flag', async () => {
    const result = await asToken(world.acme.adminToken, [
      'accounts',
      'add',
      '--partition',
      'aws',
      '--name',
      'X',
      '--access-key-id',
      'AKIAEXAMPLE',
      '--secret-access-key',
      'abc',
    ]);
    expect(result.code, describeRun(result)).toBe(2);
    expect(result.stderr).toContain('--secret-access-key is not taken');
  });

  it('says what is wrong with the token: 401, 403 with the scope, 404 across tenants', async () => {
    const { account } = await addKeysAccount('Acme Private');

    const revoked = await asToken('onr_revokedOrNeverIssuedToken00000000', ['accounts', 'list']);
    expect(revoked.code, describeRun(revoked)).toBe(1);
    expect(revoked.stderr).toContain(
      'the token was refused (expired or revoked?): run onramp login',
    );

    const viewer = await asToken(world.acme.readToken, ['accounts', 'rm', account.id, '--yes']);
    expect(viewer.code, describeRun(viewer)).toBe(1);
    expect(viewer.stderr).toContain('accounts:write');
    expect(viewer.stderr).toContain('onramp tokens create --scopes accounts:write');
    // The read-only token can still read.
    const read = await asToken(world.acme.readToken, ['accounts', 'get', account.id, '--json']);
    expect(read.code, describeRun(read)).toBe(0);

    const otherTenant = await asToken(world.globex.adminToken, ['accounts', 'get', account.id]);
    expect(otherTenant.code, describeRun(otherTenant)).toBe(1);
    expect(otherTenant.stderr).toContain('not found');
    expect(otherTenant.stderr).not.toContain('Acme Private');

    const missing = await asToken(world.acme.adminToken, [
      'accounts',
      'check',
      'acct_doesnotexist',
    ]);
    expect(missing.code, describeRun(missing)).toBe(1);
    expect(missing.stderr).toContain('not found');

    // An operator acts on a tenant it names.
    const operator = await asToken(world.operatorToken, [
      'accounts',
      'get',
      account.id,
      '--tenant',
      world.acme.id,
      '--json',
    ]);
    expect(operator.code, describeRun(operator)).toBe(0);
    expect(parseJsonOutput(operator)).toMatchObject({ id: account.id });
  });

  it('says it cannot reach a server that is not there', async () => {
    // A port that was free a moment ago: nothing listens there.
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const port = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${closed}`;
    const result = await runCli(['accounts', 'list'], {
      io: { env: { ONRAMP_URL: url, ONRAMP_TOKEN: world.acme.adminToken } },
    });
    expect(result.code, describeRun(result)).toBe(1);
    expect(result.stderr).toContain(`cannot reach ${url}`);
    expect(result.stderr).toContain('ECONNREFUSED');
    expect(result.stderr).not.toContain(world.acme.adminToken);
  });
});

/** The table's own bold header, the one escape the CLI writes on a terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escapes the CLI itself writes.
const STYLE_ESCAPES = /\u001b\[(1|22)m/g;

/** The control characters in a text, newlines aside (what a terminal would act on). */
function controlCharacters(text: string): string[] {
  return [...text].filter((character) => {
    const code = character.codePointAt(0) ?? 0;
    return (code < 0x20 && character !== '\n') || (code >= 0x7f && code <= 0x9f);
  });
}

describe('a hostile server', () => {
  const TOKEN = 'onr_hostileTestToken0000000000000';
  let hostile: Server;
  let hostileUrl = '';

  beforeAll(async () => {
    // A server that answers with terminal escapes, a forged line and the token echoed back.
    hostile = createServer((request, response) => {
      if (request.method === 'GET' && request.url?.startsWith('/v1/accounts')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        const now = new Date().toISOString();
        response.end(
          JSON.stringify({
            accounts: [
              {
                id: 'acct_1',
                name: 'evil\u001b]0;pwned\u0007\u001b[2J\rforged line',
                description: '',
                partition: 'aws',
                method: 'access_keys',
                awsAccountId: '123456789012',
                principalArn: 'arn:aws:iam::123456789012:user/x',
                roleArn: null,
                accessKeyId: 'AKIA',
                connectionId: null,
                roleOrigin: null,
                bundles: [],
                regions: [],
                status: 'valid',
                checks: [],
                findings: [],
                lastCheckedAt: null,
                stale: false,
                staleSince: null,
                createdAt: now,
                updatedAt: now,
              },
            ],
            next: null,
          }),
        );
        return;
      }
      response.writeHead(422, { 'content-type': 'application/problem+json' });
      response.end(
        JSON.stringify({
          title: 'Validation failed',
          status: 422,
          detail: `your token ${request.headers.authorization} \u001b[31mis\u001b[0m bad\u009b2J`,
          errors: [{ field: 'name', code: 'x', message: 'bad\u001b[2Jname' }],
        }),
      );
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => hostile.close(() => resolve())));

  it('shows its names and messages without control characters, and never the token', async () => {
    const env = { ONRAMP_URL: hostileUrl, ONRAMP_TOKEN: TOKEN };
    const list = await runCli(['accounts', 'list'], { io: { env }, terminalColumns: 200 });
    expect(list.code, describeRun(list)).toBe(0);
    expect(list.stdout).toContain('evil?]0;pwned??[2J?forged line');
    // Only the table's own styling may use escapes on a terminal: none from the server's text.
    expect(controlCharacters(list.stdout.replace(STYLE_ESCAPES, ''))).toEqual([]);

    const update = await runCli(['accounts', 'update', 'acct_1', '--name', 'x'], { io: { env } });
    expect(update.code, describeRun(update)).toBe(2);
    expect(update.stderr).toMatch(/^error: --name: bad\?\[2Jname/m);
    expect(controlCharacters(update.stderr)).toEqual([]);
    expect(update.stderr).not.toContain(TOKEN);
    expect(update.stderr).toContain('[the API token]');
  });
});

describe('the real onramp process', () => {
  const BIN = join(ROOT, 'apps/cli/bin/onramp.js');
  const run = (argv: string[], env: Record<string, string>, input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [BIN, ...argv],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(input ?? '');
    });

  it('logs in with the token piped in, then lists accounts as JSON', async () => {
    const { account } = await addKeysAccount('Process Account');
    const env = { HOME: freshConfigDir() };
    const login = await run(
      ['login', '--url', world.url, '--token-stdin'],
      env,
      `${world.acme.adminToken}\n`,
    );
    expect(login.code, `${login.stdout}\n${login.stderr}`).toBe(0);
    // HOME/.config/onramp/config.json, 0600.
    expect(statSync(join(env.HOME, '.config/onramp/config.json')).mode & 0o777).toBe(0o600);
    const list = await run(['accounts', 'list', '--json'], env);
    expect(list.code, `${list.stdout}\n${list.stderr}`).toBe(0);
    const page = JSON.parse(list.stdout) as { accounts: { id: string }[] };
    expect(page.accounts.map((a) => a.id)).toContain(account.id);
  });

  it('exits 3 when a check finds the account invalid', async () => {
    const { account, keys } = await addKeysAccount('Soon Invalid');
    world.aws.deleteAccessKey('aws', keys.accessKeyId);
    const check = await run(['accounts', 'check', account.id], {
      ONRAMP_URL: world.url,
      ONRAMP_TOKEN: world.acme.adminToken,
      HOME: freshConfigDir(),
    });
    expect(check.code, `${check.stdout}\n${check.stderr}`).toBe(3);
    expect(check.stdout).toContain('✗');
  });
});
