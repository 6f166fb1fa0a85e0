/**
 * Hosted connect sessions on the wire: the real SDK adapter against the loopback AWS. A customer
 * opens the platform's link, deploys the session's own CloudFormation (the loopback's deployStack)
 * and the stack's call-back connects the role and completes the session; another connects a
 * dedicated user's keys; a third fixes an account whose key was deleted.
 */
import { deployStack, type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';
import { bundlePolicy, createConnectedRole, createHub } from '../../testing/loopback-world.ts';

const PUBLIC_URL = 'https://onramp.example.test';
const RETURN = 'https://app.acme.example/aws';
let accountSeq = 0;
const newAwsAccount = () =>
  `6${String(Date.now() % 1e9).padStart(9, '0')}${(accountSeq++ % 90) + 10}`;

describe.each(TEST_DIALECTS)('hosted connect sessions on the loopback AWS, on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let tenant: TestTenant;
  let hubArn = '';

  beforeAll(async () => {
    aws = await startLoopbackAws();
    const { user: hub, config } = createHub(aws, 'aws');
    hubArn = hub.arn;
    const gateway = createSdkAwsGateway({
      hubs: { aws: config },
      endpoint: aws.url,
      maxAttempts: 2,
    });
    h = await createHarness(dialect, {
      aws: gateway,
      hubs: { aws: { principalArn: hub.arn } },
      publicUrl: PUBLIC_URL,
      brandConfig: { returnUrls: [RETURN] },
    });
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  /** A browser with its cookie jar and the session's CSRF token; no Onramp sign-in. */
  function browser() {
    let cookie = '';
    let csrf = '';
    return async (method: string, url: string, body?: unknown): Promise<TestResponse> => {
      const response = await h.app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(cookie ? { cookie } : {}),
          ...(csrf ? { 'x-csrf-token': csrf } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      const set = response.headers['set-cookie'];
      if (typeof set === 'string') cookie = set.split(';')[0] ?? '';
      const type = String(response.headers['content-type'] ?? '');
      const parsed =
        type.includes('json') && response.body ? JSON.parse(response.body) : response.body;
      if (parsed?.csrfToken) csrf = parsed.csrfToken;
      return {
        status: response.statusCode,
        headers: response.headers,
        text: response.body,
        body: parsed,
      };
    };
  }

  async function openSession(extra: Record<string, unknown> = {}) {
    const platform = await tenant.token(['accounts:read', 'accounts:write']);
    const made = await platform.request('POST', '/v1/connect-sessions', {
      reference: `workspace-${++accountSeq}`,
      returnUrl: RETURN,
      ...extra,
    });
    expectStatus(made, 201);
    const [path, secret] = String(made.body.url).split('#');
    expect(path).toBe(`${PUBLIC_URL}/connect/${made.body.id}`);
    const send = browser();
    const opened = await send('POST', `/v1/connect/sessions/${made.body.id}/open`, {
      token: secret,
    });
    expectStatus(opened, 200);
    return { id: made.body.id as string, send, platform };
  }

  it('connects the role the session’s CloudFormation creates, when its stack calls back', async () => {
    const { id, send, platform } = await openSession({ methods: ['role'] });
    const connection = await send('POST', `/v1/connect/sessions/${id}/connection`, {
      partition: 'aws',
      setupMethod: 'cloudformation',
    });
    expectStatus(connection, 200);
    const template = await send(
      'GET',
      `/v1/connect/sessions/${id}/connection/cloudformation?format=yaml`,
    );
    expectStatus(template, 200);
    const accountId = newAwsAccount();
    aws.createAccount('aws', accountId);
    const stack = deployStack(aws, { partition: 'aws', accountId, template: template.text });
    const callback = stack.customResources[0]?.properties as {
      CallbackUrl: string;
      Token: string;
      RoleArn: string;
    };
    expect(callback.CallbackUrl).toBe(`${PUBLIC_URL}/v1/callbacks/cloudformation`);
    const reported = await h.anonymous.request('POST', '/v1/callbacks/cloudformation', {
      requestType: 'Create',
      token: callback.Token,
      roleArn: callback.RoleArn,
      stackId: stack.stackId,
    });
    expectStatus(reported, 200);

    const view = await send('GET', `/v1/connect/sessions/${id}`);
    expect(view.body).toMatchObject({
      state: 'completed',
      outcome: 'connected',
      account: { id: reported.body.accountId, roleArn: callback.RoleArn, status: 'valid' },
    });
    expect(view.body.redirectTo).toBe(`${RETURN}?connect_session=${id}&outcome=connected`);
    const read = await platform.request('GET', `/v1/connect-sessions/${id}`);
    expect(read.body).toMatchObject({
      state: 'completed',
      outcome: 'connected',
      accountId: reported.body.accountId,
      connectionId: connection.body.id,
    });
  });

  it('connects a dedicated user’s keys, and fixes them once AWS no longer takes them', async () => {
    const { id, send } = await openSession({ accountName: 'Acme workspace' });
    const accountId = newAwsAccount();
    aws.createAccount('aws', accountId);
    const policy = bundlePolicy(h.deps.catalog, {
      partition: 'aws',
      bundles: 'default',
      principal: 'user',
      accountId,
    });
    const user = aws.createUser('aws', accountId, 'onramp', { policies: [policy] });
    const completed = await send('POST', `/v1/connect/sessions/${id}/complete`, {
      method: 'access_keys',
      name: 'ignored: the session names it',
      partition: 'aws',
      accessKeyId: user.accessKeyId,
      secretAccessKey: user.secretAccessKey,
    });
    expectStatus(completed, 200);
    expect(completed.body.account).toMatchObject({ name: 'Acme workspace', status: 'valid' });
    const account = completed.body.account.id as string;

    // The key is deleted in AWS: the next check finds the account invalid.
    aws.deleteAccessKey('aws', user.accessKeyId);
    const check = await tenant.admin.request('POST', `/v1/accounts/${account}/check`);
    expect(check.body.status).toBe('invalid');

    const fix = await openSession({ account });
    const second = aws.createAccessKey('aws', accountId, 'onramp');
    const fixed = await fix.send('POST', `/v1/connect/sessions/${fix.id}/complete`, {
      method: 'access_keys',
      accessKeyId: second.accessKeyId,
      secretAccessKey: second.secretAccessKey,
    });
    expectStatus(fixed, 200);
    expect(fixed.body).toMatchObject({
      kind: 'fix',
      state: 'completed',
      outcome: 'fixed',
      account: { id: account, status: 'valid', accessKeyId: second.accessKeyId },
    });
  });

  it('walks a degraded role through the permission update, and completes once it verifies', async () => {
    const made = await tenant.admin.request('POST', '/v1/connections', {
      name: `Degraded ${++accountSeq}`,
      partition: 'aws',
    });
    expectStatus(made, 201);
    const accountId = newAwsAccount();
    aws.createAccount('aws', accountId);
    // The role holds none of its bundles' actions: saved degraded, as the tenant accepted.
    const role = createConnectedRole(aws, h.deps.catalog, {
      partition: 'aws',
      accountId,
      roleName: made.body.roleName,
      hubArn,
      externalId: made.body.externalId,
      bundles: [],
    });
    const created = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: made.body.id,
      roleArn: role.arn,
      acceptMissingPermissions: true,
    });
    expectStatus(created, 201);
    expect(created.body.status).toBe('degraded');

    const { id, send } = await openSession({ account: created.body.id });
    const update = await send('GET', `/v1/connect/sessions/${id}/permissions-update`);
    expectStatus(update, 200);
    // Verified before the update is applied: still degraded, so the session stays open.
    const early = await send('POST', `/v1/connect/sessions/${id}/complete`, { verify: true });
    expectStatus(early, 200);
    expect(early.body).toMatchObject({ state: 'active', account: { status: 'degraded' } });

    aws.putInlinePolicy(
      'aws',
      role.arn,
      'bundles',
      bundlePolicy(h.deps.catalog, {
        partition: 'aws',
        bundles: created.body.bundles,
        principal: 'role',
        accountId,
        roleName: made.body.roleName,
      }),
    );
    const verified = await send('POST', `/v1/connect/sessions/${id}/complete`, { verify: true });
    expectStatus(verified, 200);
    expect(verified.body).toMatchObject({
      state: 'completed',
      outcome: 'fixed',
      account: { id: created.body.id, status: 'valid' },
    });
  });
});
