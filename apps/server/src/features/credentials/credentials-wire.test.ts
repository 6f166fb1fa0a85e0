/**
 * Vending and console links on the wire: the real SDK adapter against the loopback AWS, which
 * verifies signatures, evaluates the role's trust policy and the session policy, and serves the
 * federation endpoint. The vended credentials are then used with the SDK as a platform service would.
 */
import { IAMClient, ListPoliciesCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  buildStatements,
  buildTrustPolicy,
  type Catalog,
  fillPlaceholders,
  parseHubPrincipal,
  unwrap,
  validationBundle,
} from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
  testCatalog,
} from '../../testing/harness.ts';
import { createHub } from '../../testing/loopback-world.ts';
import { CACHE_HEADER } from './credentials-routes.ts';

const CUSTOMER = '222233334444';

describe.each(TEST_DIALECTS)('vending on the wire against the loopback AWS on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let tenant: TestTenant;
  let catalog: Catalog;
  let hubArn: string;
  let sequence = 0;

  beforeAll(async () => {
    aws = await startLoopbackAws();
    catalog = await testCatalog();
    aws.createAccount('aws', CUSTOMER);
    const { user: hub, config: hubConfig } = createHub(aws, 'aws');
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({
      hubs: { aws: hubConfig },
      endpoint: aws.url,
      maxAttempts: 2,
    });
    h = await createHarness(dialect, { aws: gateway, hubs: { aws: { principalArn: hub.arn } } });
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  /** A connection, the role its stack would create (trusting the hub with the external ID), and the account. */
  const connectRole = async (bundles: string[], trust: 'onramp' | 'legacy' = 'onramp') => {
    const roleName = `OnrampRole${++sequence}`;
    const connection = await tenant.admin.request('POST', '/v1/connections', {
      name: `Wire ${sequence}`,
      partition: 'aws',
      bundles,
      roleName,
    });
    expectStatus(connection, 201);
    const chosen = bundles.map((id) => catalog.bundles.get(id)).filter((b) => b !== undefined);
    const onrampTrust = buildTrustPolicy({
      partition: 'aws',
      hub: unwrap(parseHubPrincipal(hubArn, 'aws')),
      externalId: connection.body.externalId,
    });
    const [assume] = onrampTrust.Statement;
    // A trust policy written before Onramp gave sts:TagSession a statement of its own: one statement
    // with both actions under the external-ID condition, which refuses tagged sessions.
    const legacy = assume && {
      Version: '2012-10-17',
      Statement: [{ ...assume, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
    };
    const role = aws.createRole('aws', CUSTOMER, {
      roleName,
      trustPolicy: trust === 'legacy' && legacy ? legacy : onrampTrust,
      inlinePolicies: [
        fillPlaceholders(
          {
            Version: '2012-10-17',
            Statement: buildStatements([...chosen, validationBundle('role')], []),
          },
          { partition: 'aws', account_id: CUSTOMER, role_path: '/', role_name: roleName },
        ),
      ],
    });
    const account = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: connection.body.id,
      roleArn: role.arn,
    });
    expectStatus(account, 201);
    return { id: account.body.id as string, role };
  };

  const stsWith = (credentials: Record<string, string>) =>
    new STSClient({
      region: 'us-east-1',
      endpoint: aws.url,
      credentials: {
        accessKeyId: credentials.accessKeyId ?? '',
        secretAccessKey: credentials.secretAccessKey ?? '',
        sessionToken: credentials.sessionToken ?? '',
      },
    });
  const iamWith = (credentials: Record<string, string>) =>
    new IAMClient({
      region: 'us-east-1',
      endpoint: aws.url,
      credentials: {
        accessKeyId: credentials.accessKeyId ?? '',
        secretAccessKey: credentials.secretAccessKey ?? '',
        sessionToken: credentials.sessionToken ?? '',
      },
    });

  it('vends working credentials of the role, named after the token, cached the second time', async () => {
    const { id, role } = await connectRole(['nodes-ec2']);
    const service = await tenant.token(['credentials:vend']);
    aws.clearCalls();
    const response = await service.request('POST', `/v1/accounts/${id}/credentials`);
    expectStatus(response, 200);
    const sts = stsWith(response.body);
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    expect(identity.Arn).toBe(
      `arn:aws:sts::${CUSTOMER}:assumed-role/${role.roleName}/onramp-${service.tokenId}`.slice(
        0,
        `arn:aws:sts::${CUSTOMER}:assumed-role/${role.roleName}/`.length + 64,
      ),
    );
    const session = aws.state.of('aws').sessions.get(response.body.accessKeyId);
    expect(session?.source).toMatchObject({
      kind: 'assumed-role',
      tags: [
        { key: 'onramp:token', value: service.tokenId },
        { key: 'onramp:tenant', value: tenant.id },
      ],
    });

    const again = await service.request('POST', `/v1/accounts/${id}/credentials`);
    expect(again.headers[CACHE_HEADER]).toBe('hit');
    expect(again.body.accessKeyId).toBe(response.body.accessKeyId);
    expect(aws.calls.filter((c) => c.action === 'AssumeRole')).toHaveLength(1);
  });

  it('vends untagged sessions when the role’s trust policy refuses session tags, and says so in the audit', async () => {
    const { id, role } = await connectRole(['nodes-ec2'], 'legacy');
    const one = await tenant.token(['credentials:vend']);
    const two = await tenant.token(['credentials:vend']);
    aws.clearCalls();
    const first = await one.request('POST', `/v1/accounts/${id}/credentials`);
    expectStatus(first, 200);
    const session = aws.state.of('aws').sessions.get(first.body.accessKeyId);
    expect(session?.source).toMatchObject({
      kind: 'assumed-role',
      roleArn: role.arn,
      sessionName: `onramp-${one.tokenId}`.slice(0, 64),
      tags: [],
    });
    expect(aws.calls.filter((c) => c.action === 'AssumeRole').map((c) => c.status)).toEqual([
      403, 200,
    ]);
    // The role is remembered: the next session is asked for without tags at once.
    expectStatus(await two.request('POST', `/v1/accounts/${id}/credentials`), 200);
    expect(aws.calls.filter((c) => c.action === 'AssumeRole')).toHaveLength(3);
    const audit = await tenant.admin.request('GET', `/v1/audit?targetId=${id}`);
    expect(audit.body.entries[0].details).toMatchObject({ sessionTags: false, cache: 'miss' });
  });

  it('makes one AssumeRole for 50 concurrent requests', async () => {
    const { id } = await connectRole(['nodes-ec2']);
    const service = await tenant.token(['credentials:vend']);
    aws.clearCalls();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => service.request('POST', `/v1/accounts/${id}/credentials`)),
    );
    for (const response of responses) expectStatus(response, 200);
    expect(new Set(responses.map((r) => r.body.accessKeyId)).size).toBe(1);
    expect(aws.calls.filter((c) => c.action === 'AssumeRole')).toHaveLength(1);
  });

  it('narrows the session with a session policy: an action outside the bundles is denied', async () => {
    const { id } = await connectRole(['nodes-ec2', 'iam-policy-attachment']);
    const service = await tenant.token(['credentials:vend']);
    const full = await service.request('POST', `/v1/accounts/${id}/credentials`);
    const narrowed = await service.request('POST', `/v1/accounts/${id}/credentials`, {
      bundles: ['nodes-ec2'],
    });
    expectStatus(narrowed, 200);
    const session = aws.state.of('aws').sessions.get(narrowed.body.accessKeyId);
    const policy =
      session?.source.kind === 'assumed-role' ? session.source.sessionPolicy : undefined;
    expect(JSON.stringify(policy)).toContain('ec2:*');
    expect(JSON.stringify(policy)).not.toContain('iam:ListPolicies');

    const asFull = iamWith(full.body);
    await expect(asFull.send(new ListPoliciesCommand({ MaxItems: 1 }))).resolves.toBeDefined();
    asFull.destroy();
    const asNarrowed = iamWith(narrowed.body);
    await expect(asNarrowed.send(new ListPoliciesCommand({ MaxItems: 1 }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    asNarrowed.destroy();
  });

  it('does not serve a deleted account from the cache', async () => {
    const { id } = await connectRole(['nodes-ec2']);
    const service = await tenant.token(['credentials:vend']);
    expectStatus(await service.request('POST', `/v1/accounts/${id}/credentials`), 200);
    expectStatus(await tenant.admin.request('DELETE', `/v1/accounts/${id}`), 204);
    expectProblem(await service.request('POST', `/v1/accounts/${id}/credentials`), 404);
  });

  it('makes a console sign-in link through the federation endpoint for the role’s session', async () => {
    const { id, role } = await connectRole(['nodes-ec2']);
    const response = await tenant.admin.request('POST', `/v1/accounts/${id}/console-link`);
    expectStatus(response, 200);
    const url = new URL(response.body.url);
    expect(url.host).toBe('signin.aws.amazon.com');
    const signedIn = aws.signinSessionOf(url.searchParams.get('SigninToken') ?? '');
    expect(signedIn).toEqual({
      partition: 'aws',
      arn: `arn:aws:sts::${CUSTOMER}:assumed-role/${role.roleName}/onramp-console-${tenant.admin.userId}`.slice(
        0,
        `arn:aws:sts::${CUSTOMER}:assumed-role/${role.roleName}/`.length + 64,
      ),
    });
    expect(aws.calls.at(-1)).toMatchObject({ service: 'signin', action: 'getSigninToken' });
  });
});
