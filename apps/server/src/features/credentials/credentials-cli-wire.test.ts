/**
 * `onramp credentials` as AWS tools run it: the CLI as a child process (its bin, as `npx onramp`
 * starts it) against Onramp listening on a real port, its output read by the AWS SDK's own
 * credential_process provider, and the credentials used against the loopback AWS.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import type { Catalog } from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectStatus,
  type Harness,
  type TestTenant,
  testCatalog,
} from '../../testing/harness.ts';
import { createConnectedRole, createHub } from '../../testing/loopback-world.ts';

const CUSTOMER = '555566667777';
const BIN = fileURLToPath(new URL('../../../../cli/bin/onramp.js', import.meta.url));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** `onramp <args>` in a process of its own, with only this environment (and PATH). */
function runOnramp(args: string[], env: Record<string, string>): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe.each(TEST_DIALECTS)('onramp credentials against Onramp on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let tenant: TestTenant;
  let catalog: Catalog;
  let url: string;
  let accountId: string;
  let roleName: string;
  let token: string;
  let tokenId: string;
  let home: string;

  beforeAll(async () => {
    aws = await startLoopbackAws();
    catalog = await testCatalog();
    aws.createAccount('aws', CUSTOMER);
    const { user: hub, config: hubConfig } = createHub(aws, 'aws');
    const gateway = createSdkAwsGateway({ hubs: { aws: hubConfig }, endpoint: aws.url });
    h = await createHarness(dialect, { aws: gateway, hubs: { aws: { principalArn: hub.arn } } });
    url = (await h.app.listen({ port: 0, host: '127.0.0.1' })) as string;
    tenant = await h.tenant();
    roleName = 'PlatformCliRole';
    const connection = await tenant.admin.request('POST', '/v1/connections', {
      name: 'CLI',
      partition: 'aws',
      bundles: ['nodes-ec2'],
      roleName,
    });
    expectStatus(connection, 201);
    const role = createConnectedRole(aws, catalog, {
      partition: 'aws',
      accountId: CUSTOMER,
      roleName,
      hubArn: hub.arn,
      externalId: connection.body.externalId,
      bundles: ['nodes-ec2'],
    });
    const account = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn: role.arn,
    });
    expectStatus(account, 201);
    accountId = account.body.id;
    const service = await tenant.token(['credentials:vend']);
    token = service.secret;
    tokenId = service.tokenId;
    home = await mkdtemp(join(tmpdir(), 'onramp-cli-wire-'));
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('gives the AWS SDK’s own credential_process provider working credentials', async () => {
    const configFile = join(home, 'config');
    const credentialsFile = join(home, 'credentials');
    await writeFile(
      configFile,
      `[profile customer]\ncredential_process = "${process.execPath}" "${BIN}" credentials ${accountId}\n`,
    );
    await writeFile(credentialsFile, '');
    // credential_process runs in the environment of the process that asks: that is where the
    // platform's service keeps ONRAMP_URL and ONRAMP_TOKEN.
    const saved = { url: process.env.ONRAMP_URL, token: process.env.ONRAMP_TOKEN };
    process.env.ONRAMP_URL = url;
    process.env.ONRAMP_TOKEN = token;
    try {
      const provider = fromProcess({
        profile: 'customer',
        configFilepath: configFile,
        filepath: credentialsFile,
        ignoreCache: true,
      });
      const credentials = await provider();
      expect(credentials.accessKeyId).toMatch(/^ASIA/);
      expect(credentials.expiration?.getTime()).toBeGreaterThan(Date.now() + 3000_000);
      const sts = new STSClient({ region: 'us-east-1', endpoint: aws.url, credentials: provider });
      const identity = await sts.send(new GetCallerIdentityCommand({}));
      sts.destroy();
      expect(identity.Arn).toBe(
        `arn:aws:sts::${CUSTOMER}:assumed-role/${roleName}/onramp-${tokenId}`,
      );
    } finally {
      for (const [name, value] of [
        ['ONRAMP_URL', saved.url],
        ['ONRAMP_TOKEN', saved.token],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('prints exactly AWS’s credential_process keys, shell exports, or Onramp’s JSON', async () => {
    const env = { ONRAMP_URL: url, ONRAMP_TOKEN: token };
    const process_ = await runOnramp(['credentials', accountId], env);
    expect(process_, process_.stderr).toMatchObject({ code: 0, stderr: '' });
    const parsed = JSON.parse(process_.stdout);
    expect(Object.keys(parsed)).toEqual([
      'Version',
      'AccessKeyId',
      'SecretAccessKey',
      'SessionToken',
      'Expiration',
    ]);
    expect(parsed.Version).toBe(1);
    expect(parsed.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const json = await runOnramp(['credentials', accountId, '--format', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    // The server serves the same session to the same token: the formats print the same credentials.
    expect(JSON.parse(json.stdout)).toEqual({
      accessKeyId: parsed.AccessKeyId,
      secretAccessKey: parsed.SecretAccessKey,
      sessionToken: parsed.SessionToken,
      expiration: parsed.Expiration,
    });

    const exports = await runOnramp(['credentials', accountId, '--format=env'], env);
    expect(exports.code, exports.stderr).toBe(0);
    const values = Object.fromEntries(
      exports.stdout
        .trim()
        .split('\n')
        .map((line) => {
          const match = /^export (\w+)=(.*)$/.exec(line);
          expect(match, line).not.toBeNull();
          return [match?.[1], match?.[2]?.replace(/^'(.*)'$/, '$1')];
        }),
    );
    expect(values).toEqual({
      AWS_ACCESS_KEY_ID: parsed.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: parsed.SecretAccessKey,
      AWS_SESSION_TOKEN: parsed.SessionToken,
      AWS_CREDENTIAL_EXPIRATION: parsed.Expiration,
    });
  });

  it('narrows with --bundles and reads the token from --token-env', async () => {
    const ran = await runOnramp(
      [
        'credentials',
        accountId,
        '--bundles',
        'nodes-ec2',
        '--duration',
        '900',
        '--format',
        'json',
        '--token-env',
        'PLATFORM_VEND_TOKEN',
      ],
      { ONRAMP_URL: url, PLATFORM_VEND_TOKEN: token },
    );
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).not.toContain(token);
    const expiresIn = Date.parse(JSON.parse(ran.stdout).expiration) - Date.now();
    expect(expiresIn).toBeLessThanOrEqual(900_000);
  });

  it('fails with a message on stderr, a non-zero exit and nothing on stdout', async () => {
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [
        ['credentials', 'acct_00000000000000000000000000'],
        { ONRAMP_URL: url, ONRAMP_TOKEN: token },
        1,
        /no account acct_0+ .*check the account id/,
      ],
      [['credentials', accountId], { ONRAMP_URL: url }, 1, /No API token: set ONRAMP_TOKEN/],
      [
        ['credentials', accountId],
        { ONRAMP_URL: url, ONRAMP_TOKEN: 'onr_not_a_token' },
        1,
        /refused the API token in ONRAMP_TOKEN \(401\)/,
      ],
      [
        ['credentials', accountId, '--duration', '60'],
        { ONRAMP_URL: url, ONRAMP_TOKEN: token },
        1,
        /--duration: /,
      ],
      [
        ['credentials', accountId, '--bundles', 'not-granted'],
        { ONRAMP_URL: url, ONRAMP_TOKEN: token },
        1,
        /--bundles: /,
      ],
      [['credentials', accountId], { ONRAMP_TOKEN: token }, 1, /ONRAMP_URL/],
      [['credentials', accountId, '--format', 'yaml'], {}, 2, /--format: "yaml" is not a format/],
    ];
    for (const [args, env, code, message] of cases) {
      const ran = await runOnramp(args, env);
      expect(ran, `${args.join(' ')}: ${ran.stderr}`).toMatchObject({ code, stdout: '' });
      expect(ran.stderr).toMatch(message);
      expect(ran.stderr).not.toContain(token);
    }
  });
});
