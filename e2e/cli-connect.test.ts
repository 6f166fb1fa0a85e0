/**
 * `onramp connect` as a real process (node apps/cli/bin/onramp.js) against a real Onramp process
 * (SQLite, a public URL so stacks call back) and the loopback AWS: the stack made from the template the
 * CLI wrote calls back and the CLI completes with its checks; in aws-us-gov the role ARN is pasted on
 * standard input; Ctrl-C leaves the connection pending and `--connection <id>` resumes it with the
 * same external ID, without a second connection.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PartitionId } from '@onramp/core';
import { deployStack } from '@onramp/loopback-aws';
import { createClient } from '@onramp/sdk';
import { createConnectedRole, createHub } from '@onramp/server/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliWorld, CUSTOMER, startCliWorld } from './cli-world.ts';
import { ROOT } from './server-process.ts';

/** The GovCloud hub's keys, chosen before the server starts so its environment can name them. */
const GOV_HUB_KEYS = {
  accessKeyId: 'AKIAGOVHUBCLITEST001',
  secretAccessKey: 'govHubSecretForCliConnectTestsOnly000000',
};
const GOV_HUB_ARN = 'arn:aws-us-gov:iam::111122223333:user/onramp-hub';

let world: CliWorld;
const dir = mkdtempSync(join(tmpdir(), 'onramp-cli-connect-'));

beforeAll(async () => {
  // A public URL on a port chosen first, so the templates carry the stack's call-back.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const chosen = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(chosen));
    });
  });
  world = await startCliWorld({
    PORT: String(port),
    ONRAMP_PUBLIC_URL: `http://localhost:${port}`,
    ONRAMP_HUB_AWS_US_GOV_PRINCIPAL_ARN: GOV_HUB_ARN,
    ONRAMP_HUB_AWS_US_GOV_ACCESS_KEY_ID: GOV_HUB_KEYS.accessKeyId,
    ONRAMP_HUB_AWS_US_GOV_SECRET_ACCESS_KEY: GOV_HUB_KEYS.secretAccessKey,
  });
  const { user } = createHub(world.aws, 'aws-us-gov', GOV_HUB_KEYS);
  expect(user.arn).toBe(GOV_HUB_ARN);
  world.aws.createAccount('aws-us-gov', CUSTOMER);
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

/** A running `onramp connect`: its output so far, its stdin, and its end. */
interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves once stdout or stderr matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function startConnect(argv: readonly string[]): Running {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'apps/cli/bin/onramp.js'), 'connect', ...argv],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        ONRAMP_URL: world.url,
        ONRAMP_TOKEN: world.acme.adminToken,
        ONRAMP_CONFIG_DIR: dir,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
    changed();
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
    changed();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stdout) ?? pattern.exec(stderr);
          if (!match) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(match);
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `no ${pattern} in ${timeoutMs} ms\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
            ),
          );
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
  };
}

const describeEnd = (end: { code: number | null; stdout: string; stderr: string }) =>
  `exit ${end.code}\n--- stdout ---\n${end.stdout}\n--- stderr ---\n${end.stderr}`;

/** The role a person creates by hand from the facts the CLI printed. */
function createRoleFromFacts(partition: PartitionId, output: string, hubArn: string) {
  const externalId = /External ID:\s+(\S+)/.exec(output)?.[1] ?? '';
  const roleName = /, role (\S+)/.exec(output)?.[1] ?? '';
  expect(externalId, output).not.toBe('');
  expect(output).toContain(`Trusted principal (hub): ${hubArn}`);
  return createConnectedRole(world.aws, world.catalog, {
    partition,
    accountId: CUSTOMER,
    roleName,
    hubArn,
    externalId,
    bundles: 'default',
  });
}

const pendingConnections = async () => {
  const client = createClient({ baseUrl: world.url, token: world.acme.adminToken });
  return (await client.connections.list({ status: 'pending', limit: 200 })).connections;
};

describe('onramp connect', () => {
  it('writes the template, waits, and completes with the checks when the stack calls back', async () => {
    const out = join(dir, 'role');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(out);
    const cli = startConnect([
      '--partition',
      'aws',
      '--bundles',
      'default',
      '--out',
      out,
      '--name',
      'Called back',
    ]);
    await cli.waitFor(/Wrote (\S+\.yaml)/);
    await cli.waitFor(/Waiting for the stack to call back/);
    expect(cli.stdout()).toMatch(
      /aws cloudformation deploy[\s\S]*--template-file \S+role\/onramp-\S+\.yaml/,
    );
    const [file] = readdirSync(out);
    const template = readFileSync(join(out, file ?? ''), 'utf8');
    // The customer deploys the written template; its function calls Onramp back.
    const stack = deployStack(world.aws, { partition: 'aws', accountId: CUSTOMER, template });
    const callback = stack.customResources[0]?.properties as { Token: string; RoleArn: string };
    const reported = await fetch(`${world.url}/v1/callbacks/cloudformation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        requestType: 'Create',
        token: callback.Token,
        roleArn: callback.RoleArn,
        stackId: stack.stackId,
      }),
    });
    expect(reported.status).toBe(200);
    const end = await cli.done;
    expect(end.code, describeEnd(end)).toBe(0);
    expect(end.stderr).toContain('The stack called back');
    expect(end.stdout).toMatch(/^✓ /m);
    expect(end.stdout).toMatch(
      /Connected: acct_\S+ "Called back", AWS account 246813579024, valid\./,
    );
  }, 120_000);

  it('connects a role in aws-us-gov whose ARN is pasted on standard input, the template on stdout', async () => {
    const cli = startConnect(['--partition', 'aws-us-gov', '--name', 'Pasted gov']);
    await cli.waitFor(/Waiting for the stack to call back/);
    expect(cli.stdout()).toMatch(/AWSTemplateFormatVersion/);
    // The facts are on stderr, so `> role.yaml` holds the template alone.
    expect(cli.stdout()).not.toContain('External ID:');
    const role = createRoleFromFacts('aws-us-gov', cli.stderr(), GOV_HUB_ARN);
    expect(role.arn).toMatch(/^arn:aws-us-gov:iam::/);
    cli.child.stdin?.write('not an arn\n');
    await cli.waitFor(/that is not an ARN/);
    cli.child.stdin?.write(`${role.arn}\n`);
    const end = await cli.done;
    expect(end.code, describeEnd(end)).toBe(0);
    expect(end.stdout).toMatch(
      /Connected: acct_\S+ "Pasted gov", AWS account 246813579024, valid\./,
    );
  }, 120_000);

  it('stops on Ctrl-C saying how to resume, and --connection resumes with the same external ID', async () => {
    const first = startConnect(['--partition', 'aws', '--name', 'Resumed']);
    await first.waitFor(/Waiting for the stack to call back/);
    const externalId = /External ID:\s+(\S+)/.exec(first.stderr())?.[1];
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect(stopped.code, describeEnd(stopped)).toBe(1);
    const id = /onramp connect --connection (con_\S+)/.exec(stopped.stderr)?.[1] ?? '';
    expect(id, stopped.stderr).not.toBe('');
    expect((await pendingConnections()).map((c) => c.id)).toEqual([id]);

    const second = startConnect(['--connection', id]);
    await second.waitFor(/Waiting for the stack to call back/);
    expect(/External ID:\s+(\S+)/.exec(second.stderr())?.[1]).toBe(externalId);
    const role = createRoleFromFacts('aws', second.stderr(), world.hubArn);
    second.child.stdin?.write(`${role.arn}\n`);
    const end = await second.done;
    expect(end.code, describeEnd(end)).toBe(0);
    expect(end.stdout).toMatch(/Connected: acct_\S+ "Resumed"/);
    // One connection made in all, now connected: none left pending.
    expect(await pendingConnections()).toEqual([]);
  }, 120_000);

  it('refuses flags that would change a resumed connection, and a missing partition', async () => {
    const both = await startConnect(['--connection', 'con_x', '--partition', 'aws']).done;
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--partition: cannot be used with --connection');
    const none = await startConnect([]).done;
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--partition: required');
  }, 60_000);
});
