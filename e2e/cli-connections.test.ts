/**
 * `onramp connections …`, a role account added from a connection, `onramp tokens …` (a token making
 * tokens) and `onramp audit` against a real Onramp process (SQLite) and the loopback AWS.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliRun, describeRun, parseJsonOutput, runCli } from '@onramp/cli/testing';
import { createConnectedRole } from '@onramp/server/testing';
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

function asToken(token: string, argv: readonly string[], stdin?: string): Promise<CliRun> {
  return runCli(argv, {
    ...(stdin === undefined ? {} : { stdin }),
    io: { env: { ONRAMP_URL: world.url, ONRAMP_TOKEN: token } },
  });
}

interface ConnectionJson {
  id: string;
  externalId: string;
  roleName: string;
  status: string;
  accountId: string | null;
  trustedPrincipal: { arn: string };
}

async function createConnection(name: string): Promise<ConnectionJson> {
  const result = await asToken(world.acme.adminToken, [
    'connections',
    'create',
    '--name',
    name,
    '--partition',
    'aws',
    '--json',
  ]);
  expect(result.code, describeRun(result)).toBe(0);
  return parseJsonOutput(result) as ConnectionJson;
}

/** The role a customer creates from the connection's template, in the loopback AWS. */
function createRole(connection: ConnectionJson): string {
  return createConnectedRole(world.aws, world.catalog, {
    partition: 'aws',
    accountId: CUSTOMER,
    roleName: connection.roleName,
    hubArn: world.hubArn,
    externalId: connection.externalId,
    bundles: 'default',
  }).arn;
}

describe('onramp connections', () => {
  it('creates a role set-up, prints its external ID and templates, and connects the role', async () => {
    const created = await asToken(world.acme.adminToken, [
      'connections',
      'create',
      '--name',
      'Acme Role',
      '--partition',
      'aws',
    ]);
    expect(created.code, describeRun(created)).toBe(0);
    const id = /^ID\s+(con_\S+)$/m.exec(created.stdout)?.[1] ?? '';
    expect(id, describeRun(created)).not.toBe('');
    expect(created.stdout).toMatch(/^External ID\s+\S{16,}$/m);
    expect(created.stdout).toContain(`Trusted principal  ${world.hubArn}`);

    const json = await asToken(world.acme.adminToken, ['connections', 'get', id, '--json']);
    const connection = parseJsonOutput(json) as ConnectionJson;
    expect(created.stdout).toContain(connection.externalId);

    const out = join(mkdtempSync(join(tmpdir(), 'onramp-cli-template-')), 'role.yaml');
    const template = await asToken(world.acme.adminToken, [
      'connections',
      'template',
      id,
      '--out',
      out,
    ]);
    expect(template.code, describeRun(template)).toBe(0);
    const yaml = readFileSync(out, 'utf8');
    expect(yaml).toContain('AWS::IAM::Role');
    expect(yaml).toContain(connection.externalId);
    const terraform = await asToken(world.acme.adminToken, [
      'connections',
      'template',
      id,
      '--format',
      'terraform',
    ]);
    expect(terraform.stdout).toContain('resource "aws_iam_role"');
    const steps = await asToken(world.acme.adminToken, [
      'connections',
      'template',
      id,
      '--format',
      'steps',
    ]);
    expect(steps.stdout).toMatch(/^1\. /m);
    expect(steps.stdout).toContain(connection.externalId);

    const roleArn = createRole(connection);
    const add = await asToken(world.acme.adminToken, [
      'accounts',
      'add',
      '--connection',
      id,
      '--role-arn',
      roleArn,
      '--json',
    ]);
    expect(add.code, describeRun(add)).toBe(0);
    const account = parseJsonOutput(add) as {
      id: string;
      method: string;
      status: string;
      roleArn: string;
    };
    expect(account).toMatchObject({ method: 'role', status: 'valid', roleArn });

    const list = await asToken(world.acme.adminToken, [
      'connections',
      'list',
      '--status',
      'connected',
    ]);
    expect(list.stdout).toMatch(
      new RegExp(`^${id}\\s+Acme Role\\s+aws\\s+role\\s+connected\\s+${account.id}`, 'm'),
    );
  });

  it('finds the connection by its external ID, and explains a bad role ARN', async () => {
    const connection = await createConnection('By External ID');
    const bad = await asToken(world.acme.adminToken, [
      'accounts',
      'validate',
      '--external-id',
      connection.externalId,
      '--role-arn',
      `arn:aws:iam::${CUSTOMER}:role/NoSuchRole`,
    ]);
    expect(bad.code, describeRun(bad)).toBe(3);
    expect(bad.stdout).toContain('✗');

    const roleArn = createRole(connection);
    const good = await asToken(world.acme.adminToken, [
      'accounts',
      'add',
      '--external-id',
      connection.externalId,
      '--role-arn',
      roleArn,
    ]);
    expect(good.code, describeRun(good)).toBe(0);
    expect(good.stdout).toContain('Connected By External ID');

    const unknown = await asToken(world.acme.adminToken, [
      'accounts',
      'add',
      '--external-id',
      'not-an-external-id',
      '--role-arn',
      roleArn,
    ]);
    expect(unknown.code, describeRun(unknown)).toBe(2);
    expect(unknown.stderr).toContain('--external-id: no pending connection');
  });

  it('names --role-name when the API refuses it, and deletes a pending connection', async () => {
    const bad = await asToken(world.acme.adminToken, [
      'connections',
      'create',
      '--name',
      'X',
      '--partition',
      'aws',
      '--role-name',
      'no spaces allowed',
    ]);
    expect(bad.code, describeRun(bad)).toBe(2);
    expect(bad.stderr).toMatch(/^error: --role-name: /m);

    const connection = await createConnection('To Delete');
    const rm = await asToken(world.acme.adminToken, ['connections', 'rm', connection.id, '--yes']);
    expect(rm.code, describeRun(rm)).toBe(0);
    const gone = await asToken(world.acme.adminToken, ['connections', 'get', connection.id]);
    expect(gone.code, describeRun(gone)).toBe(1);
    expect(gone.stderr).toContain('not found');
    const otherTenant = await asToken(world.globex.adminToken, [
      'connections',
      'get',
      (await createConnection('Acme Only')).id,
    ]);
    expect(otherTenant.code, describeRun(otherTenant)).toBe(1);
    expect(otherTenant.stderr).toContain('not found');
  });
});

describe('onramp tokens', () => {
  it('makes a narrower token with a token; the secret alone on stdout, once', async () => {
    const create = await asToken(world.acme.adminToken, [
      'tokens',
      'create',
      '--name',
      'nightly report',
      '--scopes',
      'accounts:read',
    ]);
    expect(create.code, describeRun(create)).toBe(0);
    const secret = create.stdout.trim();
    expect(secret).toMatch(/^onr_\S+$/);
    expect(create.stderr).toContain('shown this once');
    expect(create.stderr).not.toContain(secret);

    const list = await asToken(secret, ['accounts', 'list', '--json']);
    expect(list.code, describeRun(list)).toBe(0);
    const write = await asToken(secret, [
      'connections',
      'create',
      '--name',
      'N',
      '--partition',
      'aws',
    ]);
    expect(write.code, describeRun(write)).toBe(1);
    expect(write.stderr).toContain('accounts:write');

    const tokens = await asToken(world.acme.adminToken, ['tokens', 'list', '--json']);
    const page = parseJsonOutput(tokens) as {
      tokens: { id: string; name: string; parentTokenId: string | null }[];
    };
    const child = page.tokens.find((t) => t.name === 'nightly report');
    expect(child?.parentTokenId).toMatch(/^tok_/);
    expect(tokens.stdout).not.toContain(secret);
    const table = await asToken(world.acme.adminToken, ['tokens', 'list']);
    expect(table.stdout).toMatch(
      new RegExp(
        `^${child?.id}\\s+nightly report\\s+onr_\\S+\\s+accounts:read\\s+live\\s+tok_`,
        'm',
      ),
    );

    const revoke = await asToken(world.acme.adminToken, ['tokens', 'revoke', child?.id ?? '']);
    expect(revoke.code, describeRun(revoke)).toBe(0);
    const refused = await asToken(secret, ['accounts', 'list']);
    expect(refused.code, describeRun(refused)).toBe(1);
    expect(refused.stderr).toContain('the token was refused');
  });

  it('refuses scopes the token does not hold, naming them', async () => {
    const wider = await asToken(world.acme.readToken, [
      'tokens',
      'create',
      '--name',
      'x',
      '--scopes',
      'accounts:read',
    ]);
    expect(wider.code, describeRun(wider)).toBe(1);
    expect(wider.stderr).toContain('admin');
    const vend = await asToken(world.acme.adminToken, [
      'tokens',
      'create',
      '--name',
      'x',
      '--scopes',
      'credentials:vend',
    ]);
    expect(vend.code, describeRun(vend)).toBe(1);
    expect(vend.stderr).toContain('credentials:vend');
    const unknown = await asToken(world.acme.adminToken, [
      'tokens',
      'create',
      '--name',
      'x',
      '--scopes',
      'root',
    ]);
    expect(unknown.code, describeRun(unknown)).toBe(2);
    expect(unknown.stderr).toContain('--scopes: "root" is not one of');
  });

  it('lets the operator’s token make a tenant’s vend token, which vends for that tenant', async () => {
    const connection = await createConnection('Vended');
    const add = await asToken(world.acme.adminToken, [
      'accounts',
      'add',
      '--connection',
      connection.id,
      '--role-arn',
      createRole(connection),
      '--json',
    ]);
    expect(add.code, describeRun(add)).toBe(0);
    const accountId = (parseJsonOutput(add) as { id: string }).id;
    const create = await asToken(world.operatorToken, [
      'tokens',
      'create',
      '--name',
      'acme vending',
      '--scopes',
      'credentials:vend',
      '--tenant',
      world.acme.id,
      '--json',
    ]);
    expect(create.code, describeRun(create)).toBe(0);
    const { secret, token } = parseJsonOutput(create) as {
      secret: string;
      token: { tenantId: string };
    };
    expect(token.tenantId).toBe(world.acme.id);
    const vended = await asToken(secret, ['credentials', accountId, '--format', 'json']);
    expect(vended.code, describeRun(vended)).toBe(0);
    expect(parseJsonOutput(vended)).toMatchObject({ accessKeyId: expect.any(String) });
  });
});

describe('onramp audit', () => {
  it('lists entries, of one target too, as a table or JSON', async () => {
    const created = await asToken(world.acme.adminToken, [
      'tokens',
      'create',
      '--name',
      'audited',
      '--scopes',
      'accounts:read',
      '--json',
    ]);
    const tokenId = (parseJsonOutput(created) as { token: { id: string } }).token.id;
    const json = await asToken(world.acme.adminToken, ['audit', '--target', tokenId, '--json']);
    expect(json.code, describeRun(json)).toBe(0);
    const page = parseJsonOutput(json) as { entries: { action: string; targetId: string }[] };
    expect(page.entries.map((e) => e.action)).toContain('token.created');
    expect(page.entries.every((e) => e.targetId === tokenId)).toBe(true);
    const table = await asToken(world.acme.adminToken, ['audit', '--limit', '5']);
    expect(table.stdout.split('\n')[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+TARGET\s+SOURCE$/);
    expect(table.stdout).toContain('token.created');
    // A tenant sees its own log only.
    const other = await asToken(world.globex.adminToken, ['audit', '--target', tokenId, '--json']);
    expect((parseJsonOutput(other) as { entries: unknown[] }).entries).toEqual([]);
  });

  it('follows the log as a real process, printing new entries as they come', async () => {
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'apps/cli/bin/onramp.js'),
        'audit',
        '--follow',
        '--interval',
        '1',
        '--json',
        '--limit',
        '1',
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          ONRAMP_URL: world.url,
          ONRAMP_TOKEN: world.acme.adminToken,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const waitFor = async (test: () => boolean, what: string) => {
      for (let i = 0; i < 300 && !test(); i++) await new Promise((r) => setTimeout(r, 100));
      if (!test())
        throw new Error(
          `${what} did not come\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
        );
    };
    try {
      await waitFor(() => stdout.includes('\n'), 'the first entry');
      const created = await asToken(world.acme.adminToken, [
        'tokens',
        'create',
        '--name',
        'followed',
        '--scopes',
        'accounts:read',
        '--json',
      ]);
      const tokenId = (parseJsonOutput(created) as { token: { id: string } }).token.id;
      await waitFor(() => stdout.includes(tokenId), 'the new entry');
      const lines = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { action: string; targetId: string });
      expect(lines.at(-1)).toMatchObject({ action: 'token.created', targetId: tokenId });
    } finally {
      child.kill('SIGTERM');
    }
  });
});
