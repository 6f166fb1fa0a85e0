/**
 * `fromOnramp` (@onramp/sdk) as a platform service uses it: a real STSClient signs with credentials
 * the provider vends from Onramp listening on a real port, against the loopback AWS, which checks the
 * signature, the role's trust policy and the session's expiry.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Catalog } from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { fromOnramp, type OnrampCredentialProvider, OnrampCredentialsError } from '@onramp/sdk';
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

const CUSTOMER = '444455556666';

describe.each(TEST_DIALECTS)('fromOnramp with a real AWS SDK client on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let tenant: TestTenant;
  /** Reads the audit log: a token, since a console session would end when Onramp's clock jumps. */
  let auditor: Awaited<ReturnType<TestTenant['token']>>;
  let catalog: Catalog;
  let hubArn: string;
  let url: string;
  /** How far Onramp's clock is ahead of the real one. */
  let serverAhead = 0;
  let sequence = 0;
  const clients: STSClient[] = [];

  beforeAll(async () => {
    aws = await startLoopbackAws();
    catalog = await testCatalog();
    aws.createAccount('aws', CUSTOMER);
    const { user: hub, config: hubConfig } = createHub(aws, 'aws');
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({ hubs: { aws: hubConfig }, endpoint: aws.url });
    h = await createHarness(dialect, {
      aws: gateway,
      hubs: { aws: { principalArn: hub.arn } },
      clock: () => new Date(Date.now() + serverAhead),
    });
    url = (await h.app.listen({ port: 0, host: '127.0.0.1' })) as string;
    tenant = await h.tenant();
    auditor = await tenant.token(['admin']);
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await h?.close();
    await aws?.stop();
  });

  /** A role the stack created and the account connected from it. */
  const connectAccount = async () => {
    const roleName = `PlatformRole${++sequence}`;
    const connection = await tenant.admin.request('POST', '/v1/connections', {
      name: `Provider ${sequence}`,
      partition: 'aws',
      bundles: ['nodes-ec2'],
      roleName,
    });
    expectStatus(connection, 201);
    const role = createConnectedRole(aws, catalog, {
      partition: 'aws',
      accountId: CUSTOMER,
      roleName,
      hubArn,
      externalId: connection.body.externalId,
      bundles: ['nodes-ec2'],
    });
    const account = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn: role.arn,
    });
    expectStatus(account, 201);
    return { id: account.body.id as string, roleName };
  };

  const stsWith = (credentials: OnrampCredentialProvider) => {
    const client = new STSClient({ region: 'us-east-1', endpoint: aws.url, credentials });
    clients.push(client);
    return client;
  };
  const vendsOf = async (accountId: string) => {
    const audit = await auditor.request('GET', `/v1/audit?targetId=${accountId}&limit=200`);
    expectStatus(audit, 200);
    return (audit.body.entries as { action: string }[]).filter(
      (entry) => entry.action === 'account.credentials_vended',
    ).length;
  };

  it('signs GetCallerIdentity as the connected role, in a session named after the token', async () => {
    const { id, roleName } = await connectAccount();
    const service = await tenant.token(['credentials:vend']);
    const sts = stsWith(fromOnramp({ account: id, url, token: service.secret }));
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe(CUSTOMER);
    expect(identity.Arn).toBe(
      `arn:aws:sts::${CUSTOMER}:assumed-role/${roleName}/onramp-${service.tokenId}`,
    );
  });

  it('makes one vend for 50 clients sending at once', async () => {
    const { id } = await connectAccount();
    const service = await tenant.token(['credentials:vend']);
    const provider = fromOnramp({ account: id, url, token: service.secret });
    // Fifty clients, not one: a single client would share the call by itself (the SDK memoizes).
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => stsWith(provider).send(new GetCallerIdentityCommand({}))),
    );
    expect(new Set(answers.map((answer) => answer.Account))).toEqual(new Set([CUSTOMER]));
    expect(await vendsOf(id)).toBe(1);
  });

  it('vends again before the session expires once fewer than refreshBeforeSeconds remain', async () => {
    const { id } = await connectAccount();
    const service = await tenant.token(['credentials:vend']);
    let clientNow = Date.now();
    const provider = fromOnramp({
      account: id,
      url,
      token: service.secret,
      now: () => new Date(clientNow),
    });
    const first = await provider();
    expect((await provider()).accessKeyId).toBe(first.accessKeyId);
    expect(await vendsOf(id)).toBe(1);

    // 4 min 59 s before expiry, on the provider's clock and on Onramp's (whose cache lets the session
    // go five minutes before it expires, as AWS's clients do).
    const shift = first.expiration.getTime() - 299_000 - Date.now();
    clientNow += shift;
    serverAhead = shift;
    try {
      const second = await provider();
      expect(second.accessKeyId).not.toBe(first.accessKeyId);
      expect(clientNow).toBeLessThan(first.expiration.getTime());
      expect(await vendsOf(id)).toBe(2);
      // The new session works (a new client: the SDK keeps what its provider gave it).
      const identity = await stsWith(provider).send(new GetCallerIdentityCommand({}));
      expect(identity.Account).toBe(CUSTOMER);
      expect(await vendsOf(id)).toBe(2);
    } finally {
      serverAhead = 0;
    }
  });

  it('surfaces a refused vend clearly, keeps nothing of it, and the next call asks again', async () => {
    const { id } = await connectAccount();
    const revoked = await tenant.token(['credentials:vend']);
    expectStatus(await tenant.admin.request('DELETE', `/v1/tokens/${revoked.tokenId}`), 200);
    const saved = { url: process.env.ONRAMP_URL, token: process.env.ONRAMP_TOKEN };
    process.env.ONRAMP_URL = url;
    process.env.ONRAMP_TOKEN = revoked.secret;
    try {
      // The token comes from the environment at each vend, so a token rotated there is picked up.
      const provider = fromOnramp({ account: id });
      const sts = stsWith(provider);
      const failure = await sts.send(new GetCallerIdentityCommand({})).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(OnrampCredentialsError);
      expect((failure as OnrampCredentialsError).status).toBe(401);
      expect((failure as Error).message).toMatch(/refused the API token .*ONRAMP_TOKEN/);
      expect((failure as Error).message).not.toContain(revoked.secret);

      const unscoped = await tenant.token(['accounts:read']);
      process.env.ONRAMP_TOKEN = unscoped.secret;
      await expect(provider()).rejects.toThrow(/needs the scope credentials:vend/);

      const unknown = fromOnramp({ account: 'acct_00000000000000000000000000' });
      process.env.ONRAMP_TOKEN = (await tenant.token(['credentials:vend'])).secret;
      await expect(unknown()).rejects.toThrow(/no account acct_0+ .*check the account id/);

      const identity = await sts.send(new GetCallerIdentityCommand({}));
      expect(identity.Account).toBe(CUSTOMER);
      expect(await vendsOf(id)).toBe(1);
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
});
