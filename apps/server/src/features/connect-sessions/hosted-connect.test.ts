import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookDeliverer, type WebhookDeliverer } from '../../jobs/webhook-deliverer.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { hostedBrowser } from '../../testing/hosted-browser.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';
import { verifySignature } from '../webhooks/webhook-signature.ts';
import { MAX_LIVE_SESSIONS } from './connect-sessions-service.ts';

const PUBLIC_URL = 'https://onramp.example.com';
const RETURN = 'https://app.acme.example/settings/aws';
const MINUTE = 60_000;

let sequence = 0;
const awsAccount = () => String(500000000000 + ++sequence * 13);
const newAddress = () => `203.0.113.${(++sequence % 250) + 1}`;

/** A browser of the hosted wizard, at an address of its own (testing/hosted-browser.ts). */
const browserOf = (h: Harness, address = newAddress()) => hostedBrowser(h, address);

describe.each(TEST_DIALECTS)('hosted connect sessions on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let offsetMs = 0;
  let receiver: WebhookReceiver;
  let deliverer: WebhookDeliverer;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    h = await createHarness(dialect, {
      publicUrl: PUBLIC_URL,
      clock: () => new Date(Date.now() + offsetMs),
      brandConfig: { returnUrls: ['https://app.acme.example/settings'], name: 'Acme Cloud' },
      webhookSettings: { allowPrivate: true },
    });
    a = await h.tenant();
    b = await h.tenant();
    deliverer = createWebhookDeliverer(h.services, { owner: `sessions-${dialect}` });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });
  beforeEach(() => {
    offsetMs = 0;
  });

  const makeSession = async (tenant: TestTenant = a, extra: Record<string, unknown> = {}) => {
    const token = await tenant.token(['accounts:read', 'accounts:write']);
    const response = await token.request('POST', '/v1/connect-sessions', {
      reference: `customer-${++sequence}`,
      returnUrl: RETURN,
      ...extra,
    });
    expectStatus(response, 201);
    return response.body as { id: string; url: string; state: string; reference: string };
  };

  const keysFor = (accountId = awsAccount()) => h.aws.addUser('aws', accountId);
  const keysBody = (keys: { accessKeyId: string; secretAccessKey: string }) => ({
    method: 'access_keys',
    name: `Keys ${++sequence}`,
    partition: 'aws',
    accessKeyId: keys.accessKeyId,
    secretAccessKey: keys.secretAccessKey,
  });

  it('makes a single-use link on an allowed return URL, and says so once', async () => {
    const session = await makeSession(a, { accountName: 'Production' });
    expect(session.url).toMatch(
      new RegExp(`^${PUBLIC_URL}/connect/${session.id}#[A-Za-z0-9_-]{43}$`),
    );
    expect(session.state).toBe('open');
    const read = await a.viewer.request('GET', `/v1/connect-sessions/${session.id}`);
    expectStatus(read, 200);
    expect(read.body.url).toBeUndefined();
    expect(read.body).toMatchObject({ state: 'open', kind: 'connect', accountName: 'Production' });
    const listed = await a.viewer.request(
      'GET',
      `/v1/connect-sessions?reference=${session.reference}`,
    );
    expect(listed.body.sessions.map((s: { id: string }) => s.id)).toEqual([session.id]);
    const open = await a.viewer.request('GET', '/v1/connect-sessions?state=open&limit=200');
    expect(open.body.sessions.map((s: { id: string }) => s.id)).toContain(session.id);
    const done = await a.viewer.request('GET', '/v1/connect-sessions?state=completed&limit=200');
    expect(done.body.sessions.map((s: { id: string }) => s.id)).not.toContain(session.id);
    // Newest first, in keyset pages.
    const second = await makeSession(a);
    const page = await a.viewer.request('GET', '/v1/connect-sessions?limit=1');
    expect(page.body.sessions[0].id).toBe(second.id);
    const next = await a.viewer.request(
      'GET',
      `/v1/connect-sessions?limit=1&cursor=${page.body.next}`,
    );
    expect(next.body.sessions[0].id).toBe(session.id);
  });

  it('connects exactly one account with access keys, returns with the outcome, and tells the webhook', async () => {
    const webhook = await a.admin.request('POST', '/v1/webhooks', {
      url: receiver.url(`/sessions/${dialect}`),
      events: ['connect_session.completed'],
    });
    expectStatus(webhook, 201);
    const session = await makeSession();
    const browser = browserOf(h);
    const opened = await browser.open(session.url);
    expectStatus(opened, 200);
    expect(opened.body).toMatchObject({
      state: 'active',
      kind: 'connect',
      branding: { name: 'Acme Cloud', colors: { primary: '#2f4a6d', accent: '#3c7a5a' } },
      connection: null,
      account: null,
      redirectTo: null,
    });
    expect(opened.headers['set-cookie']).toMatch(/HttpOnly/);
    expect(opened.headers['set-cookie']).toMatch(/SameSite=Strict/);
    // Back or reload in the same browser: the same session.
    expectStatus(await browser.open(session.url), 200);

    const completed = await browser.request(
      'POST',
      `/v1/connect/sessions/${session.id}/complete`,
      keysBody(keysFor()),
    );
    expectStatus(completed, 200);
    expect(completed.body.state).toBe('completed');
    expect(completed.body.account).toMatchObject({ status: 'valid' });
    const back = new URL(completed.body.redirectTo);
    expect(`${back.origin}${back.pathname}`).toBe(RETURN);
    expect(back.searchParams.get('connect_session')).toBe(session.id);
    expect(back.searchParams.get('outcome')).toBe('connected');

    const read = await a.viewer.request('GET', `/v1/connect-sessions/${session.id}`);
    expect(read.body).toMatchObject({
      state: 'completed',
      outcome: 'connected',
      accountId: completed.body.account.id,
    });
    // A second complete creates nothing.
    const again = await browser.request(
      'POST',
      `/v1/connect/sessions/${session.id}/complete`,
      keysBody(keysFor()),
    );
    expectProblem(again, 409, 'session');
    const accounts = await a.viewer.request('GET', '/v1/accounts?limit=100');
    expect(
      accounts.body.accounts.filter((x: { id: string }) => x.id === completed.body.account.id),
    ).toHaveLength(1);

    // Audited as the session, with the platform's reference.
    const audit = await a.admin.request('GET', '/v1/audit?limit=100');
    const mine = audit.body.entries.filter(
      (e: { actorId: string | null }) => e.actorId === session.id,
    );
    expect(mine.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining([
        'connect_session.opened',
        'account.created',
        'connect_session.completed',
      ]),
    );
    expect(
      mine.find((e: { action: string }) => e.action === 'connect_session.completed'),
    ).toMatchObject({ actorType: 'connect_session', details: { reference: session.reference } });

    await deliverer.runOnce();
    const events = receiver.received.filter((r) => r.path === `/sessions/${dialect}`);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.json).toMatchObject({
      type: 'connect_session.completed',
      tenantId: a.id,
      data: {
        session: { id: session.id, state: 'completed', outcome: 'connected' },
        account: { id: completed.body.account.id },
      },
    });
    expect(event?.json.data.session.url).toBeUndefined();
    expect(
      verifySignature(
        webhook.body.secret,
        {
          timestamp: String(event?.headers['onramp-webhook-timestamp']),
          signature: String(event?.headers['onramp-webhook-signature']),
        },
        event?.body ?? '',
        Math.floor(h.deps.clock().getTime() / 1000),
      ),
    ).toBe(true);
  });

  it('connects a role from the session’s own template when the stack calls back', async () => {
    const session = await makeSession();
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    const made = await browser.request('POST', `/v1/connect/sessions/${session.id}/connection`, {
      partition: 'aws',
    });
    expectStatus(made, 200);
    expect(made.body.links.cloudformationJson).toBe(
      `${PUBLIC_URL}/v1/connect/sessions/${session.id}/connection/cloudformation?format=json`,
    );
    // Asked again: the same set-up.
    const same = await browser.request('POST', `/v1/connect/sessions/${session.id}/connection`, {
      partition: 'aws',
    });
    expect(same.body.id).toBe(made.body.id);
    // Hidden from the tenant's set-ups, and not the tenant API's to change.
    const pending = await a.viewer.request('GET', '/v1/connections?status=pending&limit=100');
    expect(pending.body.connections.map((c: { id: string }) => c.id)).not.toContain(made.body.id);
    expectProblem(
      await a.admin.request('PATCH', `/v1/connections/${made.body.id}`, { name: 'Mine' }),
      409,
      'connectionId',
    );
    const template = await browser.request(
      'GET',
      `/v1/connect/sessions/${session.id}/connection/cloudformation?format=json`,
    );
    expectStatus(template, 200);
    const token = JSON.parse(template.text).Parameters.CallbackToken.Default as string;
    const roleArn = `arn:aws:iam::${awsAccount()}:role/${made.body.roleName}`;
    h.aws.addRole(roleArn, made.body.externalId);
    const callback = await h.app.inject({
      method: 'POST',
      url: '/v1/callbacks/cloudformation',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ requestType: 'Create', token, roleArn, stackId: 'stack-1' }),
    });
    expect(callback.statusCode, callback.body).toBe(200);
    const view = await browser.request('GET', `/v1/connect/sessions/${session.id}`);
    expect(view.body).toMatchObject({
      state: 'completed',
      outcome: 'connected',
      account: { roleArn },
    });
    expect(view.body.redirectTo).toContain('outcome=connected');
    // Connected, the set-up is listed with the tenant's others.
    const all = await a.viewer.request('GET', '/v1/connections?limit=100');
    expect(all.body.connections.map((c: { id: string }) => c.id)).toContain(made.body.id);
  });

  it('serves the wizard its set-up: change it, its steps, templates and previews within the session', async () => {
    const session = await makeSession(a, {
      bundles: { choose: ['nodes-ec2', 'kubernetes-clusters'], preselected: ['nodes-ec2'] },
      regions: { choose: ['us-east-1', 'eu-west-1'] },
    });
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    const base = `/v1/connect/sessions/${session.id}`;
    const made = await browser.request('POST', `${base}/connection`, { partition: 'aws' });
    expectStatus(made, 200);
    expect(made.body).toMatchObject({
      bundles: ['nodes-ec2'],
      regions: ['eu-west-1', 'us-east-1'],
      reportsBack: true,
    });
    const changed = await browser.request('PATCH', `${base}/connection`, {
      bundles: ['kubernetes-clusters'],
      regions: ['eu-west-1'],
    });
    expectStatus(changed, 200);
    expect(changed.body).toMatchObject({
      id: made.body.id,
      bundles: ['kubernetes-clusters'],
      regions: ['eu-west-1'],
      externalId: made.body.externalId,
    });
    expectProblem(
      await browser.request('PATCH', `${base}/connection`, { regions: ['ap-south-1'] }),
      422,
      'regions',
    );
    const steps = await browser.request('GET', `${base}/connection/steps`);
    expectStatus(steps, 200);
    expect(steps.body.steps.length).toBeGreaterThan(0);
    const terraform = await browser.request('GET', `${base}/connection/terraform`);
    expectStatus(terraform, 200);
    expect(terraform.text).toContain(made.body.externalId);
    const preview = await browser.request('POST', `${base}/policy-preview`, {
      partition: 'aws',
      bundles: ['nodes-ec2'],
      principal: 'role',
    });
    expectStatus(preview, 200);
    expect(preview.body.bundles).toEqual(['nodes-ec2']);
    expectProblem(
      await browser.request('POST', `${base}/policy-preview`, {
        partition: 'aws',
        bundles: ['nodes-autoscaling'],
        principal: 'role',
      }),
      422,
      'bundles',
    );
    const user = await browser.request('POST', `${base}/user-template`, {
      partition: 'aws',
      bundles: ['kubernetes-clusters'],
      regions: ['us-east-1'],
    });
    expectStatus(user, 200);
    expect(user.body).toMatchObject({ bundles: ['kubernetes-clusters'], regions: ['us-east-1'] });
  });

  it('rolls back the account when a stack calls back after its session expired', async () => {
    const session = await makeSession(a, { expiresInMinutes: 5 });
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    const made = await browser.request('POST', `/v1/connect/sessions/${session.id}/connection`, {
      partition: 'aws',
    });
    const template = await browser.request(
      'GET',
      `/v1/connect/sessions/${session.id}/connection/cloudformation?format=json`,
    );
    const token = JSON.parse(template.text).Parameters.CallbackToken.Default as string;
    const roleArn = `arn:aws:iam::${awsAccount()}:role/${made.body.roleName}`;
    h.aws.addRole(roleArn, made.body.externalId);
    offsetMs = 6 * MINUTE;
    const callback = await h.app.inject({
      method: 'POST',
      url: '/v1/callbacks/cloudformation',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ requestType: 'Create', token, roleArn, stackId: 'late' }),
    });
    expect(callback.statusCode, callback.body).toBe(409);
    const read = await a.viewer.request('GET', `/v1/connect-sessions/${session.id}`);
    expect(read.body).toMatchObject({ state: 'expired', accountId: null });
    const accounts = await a.viewer.request('GET', '/v1/accounts?limit=100');
    expect(
      accounts.body.accounts.filter((x: { roleArn: string | null }) => x.roleArn === roleArn),
    ).toEqual([]);
  });

  it('refuses the link in another browser, after it ended, and with a wrong secret or id', async () => {
    const session = await makeSession();
    const first = browserOf(h);
    expectStatus(await first.open(session.url), 200);
    const other = browserOf(h);
    const used = await other.open(session.url);
    expectProblem(used, 409, 'session');
    expect(used.body.errors[0].code).toBe('link_used');
    // Without the cookie, nothing of the session answers: the same 404 as an unknown session.
    const peek = await other.request('GET', `/v1/connect/sessions/${session.id}`);
    expectStatus(peek, 404);
    const unknown = await other.request(
      'GET',
      '/v1/connect/sessions/cs_00000000000000000000000000',
    );
    expect(withoutRequestId(peek.body)).toEqual(withoutRequestId(unknown.body));

    const fresh = await makeSession();
    const tampered = `${fresh.url.slice(0, -4)}AAAA`;
    expectStatus(await browserOf(h).open(tampered), 404);
    expectStatus(
      await browserOf(h).request('POST', '/v1/connect/sessions/not-an-id/open', { token: 'x' }),
      404,
    );
    // Another tenant's session id with this browser's cookie: 404.
    const foreign = await makeSession(b);
    expectStatus(await first.request('GET', `/v1/connect/sessions/${foreign.id}`), 404);

    // Cancelled by the customer: the browser goes back with the outcome; the link is dead.
    const cancelled = await first.request('POST', `/v1/connect/sessions/${session.id}/cancel`);
    expectStatus(cancelled, 200);
    expect(cancelled.body.redirectTo).toContain('outcome=cancelled');
    const reopened = await first.open(session.url);
    expectProblem(reopened, 409, 'session');
    expect(reopened.body.errors[0].code).toBe('session_cancelled');
  });

  it('limits how often one address may try to open links', async () => {
    const address = newAddress();
    const attempts = await Promise.all(
      Array.from({ length: 70 }, () =>
        browserOf(h, address).request(
          'POST',
          '/v1/connect/sessions/cs_00000000000000000000000000/open',
          {
            token: 'guess',
          },
        ),
      ),
    );
    expect(attempts.filter((r) => r.status === 404).length).toBeLessThanOrEqual(60);
    const limited = attempts.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(10);
    expect(limited[0]?.headers['retry-after']).toBeDefined();
  });

  it('needs the session’s CSRF token to change anything', async () => {
    const session = await makeSession();
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    browser.setCsrf('wrong');
    const refused = await browser.request('POST', `/v1/connect/sessions/${session.id}/connection`, {
      partition: 'aws',
    });
    expectStatus(refused, 403);
  });

  it('expires: the link and the session refuse everything, and nothing changes', async () => {
    const session = await makeSession(a, { expiresInMinutes: 5 });
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    offsetMs = 6 * MINUTE;
    const late = await browser.request(
      'POST',
      `/v1/connect/sessions/${session.id}/complete`,
      keysBody(keysFor()),
    );
    expectProblem(late, 409, 'session');
    expect(late.body.errors[0].code).toBe('session_expired');
    const reopened = await browser.open(session.url);
    expect(reopened.body.errors[0].code).toBe('session_expired');
    const read = await a.viewer.request('GET', `/v1/connect-sessions/${session.id}`);
    expect(read.body).toMatchObject({ state: 'expired', outcome: 'expired', accountId: null });
    expectProblem(
      await a.admin.request('POST', `/v1/connect-sessions/${session.id}/cancel`),
      409,
      'session',
    );
  });

  it('lets exactly one of 50 browsers open a link, and one of 20 completes create an account', async () => {
    const session = await makeSession();
    const browsers = Array.from({ length: 50 }, () => browserOf(h));
    const opens = await Promise.all(browsers.map((br) => br.open(session.url)));
    expect(opens.filter((r) => r.status === 200)).toHaveLength(1);
    const winner = browsers[opens.findIndex((r) => r.status === 200)];
    if (!winner) throw new Error('no browser opened the link');
    const keys = keysFor();
    const completes = await Promise.all(
      Array.from({ length: 20 }, () =>
        winner.request('POST', `/v1/connect/sessions/${session.id}/complete`, keysBody(keys)),
      ),
    );
    expect(completes.filter((r) => r.status === 200)).toHaveLength(1);
    expect(completes.filter((r) => r.status !== 200).every((r) => r.status === 409)).toBe(true);
    const accounts = await a.viewer.request(
      'GET',
      `/v1/accounts?awsAccountId=${completes.find((r) => r.status === 200)?.body.account.awsAccountId}`,
    );
    expect(accounts.body.accounts).toHaveLength(1);
  });

  it('keeps a session to its own records and choices', async () => {
    // The tenant's own set-up and account exist; the session must not reach them.
    const own = await a.admin.request('POST', '/v1/connections', { name: 'Own', partition: 'aws' });
    expectStatus(own, 201);
    const session = await makeSession(a, {
      partitions: ['aws'],
      methods: ['access_keys', 'role'],
      bundles: { fixed: ['nodes-ec2'] },
    });
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    const roleArn = `arn:aws:iam::${awsAccount()}:role/Own`;
    h.aws.addRole(roleArn, own.body.externalId);
    for (const path of ['validate', 'complete']) {
      const response = await browser.request('POST', `/v1/connect/sessions/${session.id}/${path}`, {
        method: 'role',
        connectionId: own.body.id,
        roleArn,
      });
      expectProblem(response, 404, 'connectionId');
    }
    expectProblem(
      await browser.request('POST', `/v1/connect/sessions/${session.id}/connection`, {
        partition: 'aws-us-gov',
      }),
      422,
      'partition',
    );
    expectProblem(
      await browser.request('POST', `/v1/connect/sessions/${session.id}/connection`, {
        partition: 'aws',
        method: 'oidc_role',
      }),
      422,
      'method',
    );
    expectProblem(
      await browser.request('POST', `/v1/connect/sessions/${session.id}/connection`, {
        partition: 'aws',
        bundles: ['nodes-ec2', 'kubernetes-clusters'],
      }),
      422,
      'bundles',
    );
    expectProblem(
      await browser.request('POST', `/v1/connect/sessions/${session.id}/complete`, {
        ...keysBody(keysFor()),
        partition: 'aws-cn',
      }),
      422,
      'partition',
    );
    // Nothing of the tenant's other set-ups appears to the session.
    const view = await browser.request('GET', `/v1/connect/sessions/${session.id}`);
    expect(view.text).not.toContain(own.body.id);
    expect(view.body.partitions.map((p: { partition: string }) => p.partition)).toEqual(['aws']);
    // Its steps and templates are its own set-up's only: none before it has one.
    expectStatus(
      await browser.request('GET', `/v1/connect/sessions/${session.id}/connection/steps`),
      404,
    );
    expectProblem(
      await browser.request('GET', `/v1/connect/sessions/${session.id}/permissions-update`),
      409,
      'session',
    );
  });

  it('fixes an invalid access-key account with new keys', async () => {
    const accountId = awsAccount();
    const oldKeys = keysFor(accountId);
    const created = await a.admin.request('POST', '/v1/accounts', keysBody(oldKeys));
    expectStatus(created, 201);
    h.aws.revokeKey(oldKeys.accessKeyId);
    const check = await a.admin.request('POST', `/v1/accounts/${created.body.id}/check`);
    expect(check.body.status).toBe('invalid');

    const session = await makeSession(a, { account: created.body.id });
    const read = await a.viewer.request('GET', `/v1/connect-sessions/${session.id}`);
    expect(read.body).toMatchObject({
      kind: 'fix',
      accountId: created.body.id,
      methods: ['access_keys'],
    });
    const browser = browserOf(h);
    const opened = await browser.open(session.url);
    expect(opened.body).toMatchObject({
      kind: 'fix',
      account: { id: created.body.id, status: 'invalid' },
    });
    const newKeys = h.aws.addUser('aws', accountId, 'onramp-2');
    const fixed = await browser.request('POST', `/v1/connect/sessions/${session.id}/complete`, {
      method: 'access_keys',
      accessKeyId: newKeys.accessKeyId,
      secretAccessKey: newKeys.secretAccessKey,
    });
    expectStatus(fixed, 200);
    expect(fixed.body).toMatchObject({
      state: 'completed',
      outcome: 'fixed',
      account: { id: created.body.id, status: 'valid', accessKeyId: newKeys.accessKeyId },
    });
    expect(fixed.body.redirectTo).toContain('outcome=fixed');
  });

  describe('the platform’s API', () => {
    it('refuses return URLs off the allow-list or unsafe, on returnUrl', async () => {
      const token = await a.token(['accounts:write']);
      for (const returnUrl of [
        'https://evil.example/settings',
        'https://app.acme.example.evil.test/settings',
        'javascript:alert(1)',
        'http://app.acme.example/settings',
        'https://user:pw@app.acme.example/settings',
      ]) {
        const response = await token.request('POST', '/v1/connect-sessions', { returnUrl });
        expectProblem(response, 422, 'returnUrl');
      }
      const long = await token.request('POST', '/v1/connect-sessions', {
        returnUrl: `${RETURN}?${'x'.repeat(10_000)}`,
      });
      expectProblem(long, 400, 'returnUrl');
      const control = await token.request('POST', '/v1/connect-sessions', {
        returnUrl: RETURN,
        reference: 'abc\u0007def',
      });
      expectProblem(control, 400, 'reference');
    });

    it('checks partitions, methods, bundles, regions and the account', async () => {
      const token = await a.token(['accounts:write']);
      const cases: [Record<string, unknown>, number, string][] = [
        [{ bundles: { fixed: ['no-such-bundle'] } }, 422, 'bundles'],
        [
          { bundles: { choose: ['nodes-ec2'], preselected: ['kubernetes-clusters'] } },
          422,
          'bundles.preselected',
        ],
        [{ partitions: ['aws'], regions: { fixed: ['us-gov-west-1'] } }, 422, 'regions'],
        [{ partitions: ['aws-cn'], methods: ['role'] }, 422, 'methods'],
        [{ account: 'acct_00000000000000000000000000' }, 404, 'account'],
        [{ account: 'nonsense' }, 404, 'account'],
      ];
      for (const [extra, status, field] of cases) {
        const response = await token.request('POST', '/v1/connect-sessions', {
          returnUrl: RETURN,
          ...extra,
        });
        expectProblem(response, status, field);
      }
      const limited = await h.tenant(undefined, { partitions: ['aws'] });
      const limitedToken = await limited.token(['accounts:write']);
      expectProblem(
        await limitedToken.request('POST', '/v1/connect-sessions', {
          returnUrl: RETURN,
          partitions: ['aws-us-gov'],
        }),
        422,
        'partitions',
      );
    });

    it('caps the sessions whose links still work, per tenant', async () => {
      const t = await h.tenant();
      const at = new Date().toISOString();
      const later = new Date(Date.now() + 60 * MINUTE).toISOString();
      await h.database.db
        .insertInto('connect_sessions')
        .values(
          Array.from({ length: MAX_LIVE_SESSIONS }, (_, i) => ({
            id: `cs_seed${t.id.slice(-10)}${String(i).padStart(9, '0')}`,
            tenant_id: t.id,
            reference: null,
            kind: 'connect' as const,
            state: 'open' as const,
            outcome: null,
            allowed: '{}',
            return_url: RETURN,
            account_id: null,
            connection_id: null,
            link_hash: `seed-${t.id}-${i}`,
            browser_hash: null,
            csrf_token: null,
            created_by: 'token:seed',
            expires_at: later,
            opened_at: null,
            completed_at: null,
            created_at: at,
            updated_at: at,
          })),
        )
        .execute();
      const token = await t.token(['accounts:write']);
      const refused = await token.request('POST', '/v1/connect-sessions', { returnUrl: RETURN });
      expectProblem(refused, 422, 'connectSessions');
      // Expired ones do not count.
      offsetMs = 61 * MINUTE;
      expectStatus(await token.request('POST', '/v1/connect-sessions', { returnUrl: RETURN }), 201);
    });

    it('is secured: viewers cannot make sessions, other tenants cannot see or cancel them', async () => {
      expectStatus(
        await a.viewer.request('POST', '/v1/connect-sessions', { returnUrl: RETURN }),
        403,
      );
      const readOnly = await a.token(['accounts:read']);
      expectStatus(
        await readOnly.request('POST', '/v1/connect-sessions', { returnUrl: RETURN }),
        403,
      );
      expectStatus(await h.anonymous.request('GET', '/v1/connect-sessions'), 401);
      const session = await makeSession(a);
      expectStatus(await b.admin.request('GET', `/v1/connect-sessions/${session.id}`), 404);
      expectStatus(await b.admin.request('POST', `/v1/connect-sessions/${session.id}/cancel`), 404);
      const operator = await h.operator();
      const asOperator = await operator.request(
        'POST',
        '/v1/connect-sessions',
        { returnUrl: RETURN },
        { 'onramp-tenant': a.id },
      );
      expectStatus(asOperator, 201);
      expect(asOperator.body.tenantId).toBe(a.id);
      // The platform cancels: the link stops working at once.
      const cancelled = await a.admin.request('POST', `/v1/connect-sessions/${session.id}/cancel`);
      expectStatus(cancelled, 200);
      expect(cancelled.body).toMatchObject({ state: 'cancelled', outcome: 'cancelled' });
      expectProblem(
        await a.admin.request('POST', `/v1/connect-sessions/${session.id}/cancel`),
        409,
        'session',
      );
      const opened = await browserOf(h).open(session.url);
      expect(opened.body.errors[0].code).toBe('session_cancelled');
    });
  });
});

function withoutRequestId(body: Record<string, unknown>) {
  const { requestId: _requestId, instance: _instance, ...rest } = body;
  return rest;
}
