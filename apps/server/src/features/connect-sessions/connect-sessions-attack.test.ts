import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';
import { hostedBrowser } from '../../testing/hosted-browser.ts';
import { connectCookieName } from './hosted-routes.ts';

/**
 * A red team's attempts on hosted connect sessions, beyond hosted-connect.test.ts: what a session's
 * browser, an Onramp sign-in and the platform's API can and cannot reach, and the races.
 */
const RETURN = 'https://app.acme.example/settings/aws';
const MINUTE = 60_000;

let sequence = 0;
const awsAccount = () => String(600000000000 + ++sequence * 17);
const newAddress = () => `198.51.100.${(++sequence % 250) + 1}`;

/** A browser of the hosted wizard, at an address of its own (testing/hosted-browser.ts). */
const browserOf = (h: Harness, address = newAddress()) => hostedBrowser(h, address);

describe.each(TEST_DIALECTS)('attacks on hosted connect sessions, on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let offsetMs = 0;

  beforeAll(async () => {
    h = await createHarness(dialect, {
      publicUrl: 'https://onramp.example.com',
      clock: () => new Date(Date.now() + offsetMs),
      brandConfig: { returnUrls: ['https://app.acme.example/settings'] },
      webhookSettings: { allowPrivate: true },
    });
    a = await h.tenant();
    b = await h.tenant();
    // Deliveries are queued for an endpoint: what a webhook would carry is in the database.
    expectStatus(
      await a.admin.request('POST', '/v1/webhooks', {
        url: 'http://127.0.0.1:9/attack',
        events: ['connect_session.completed'],
      }),
      201,
    );
  });
  afterAll(async () => {
    await h?.close();
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
    return response.body as { id: string; url: string };
  };
  const keysFor = (accountId = awsAccount(), user?: string) =>
    h.aws.addUser('aws', accountId, user);
  const keysBody = (keys: { accessKeyId: string; secretAccessKey: string }) => ({
    method: 'access_keys',
    name: `Keys ${++sequence}`,
    partition: 'aws',
    accessKeyId: keys.accessKeyId,
    secretAccessKey: keys.secretAccessKey,
  });
  const accountCount = async (tenant: TestTenant) => {
    const row = await h.database.db
      .selectFrom('accounts')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', tenant.id)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  };

  it('grants nothing to an Onramp sign-in, an operator, a named tenant or another session’s cookie', async () => {
    const own = await a.admin.request('POST', '/v1/accounts', keysBody(keysFor()));
    expectStatus(own, 201);
    const foreign = await b.admin.request('POST', '/v1/accounts', keysBody(keysFor()));
    expectStatus(foreign, 201);
    const first = await makeSession(a);
    const second = await makeSession(a);
    const browser = browserOf(h);
    expectStatus(await browser.open(first.url), 200);
    const other = browserOf(h);
    expectStatus(await other.open(second.url), 200);

    // An admin's cookie, a token, an operator acting on the tenant: none is a session's credential.
    const operator = await h.operator();
    const operatorToken = await h.operatorToken(['accounts:read', 'accounts:write']);
    const token = await a.token(['accounts:read', 'accounts:write']);
    for (const actor of [a.admin, token, operator, operatorToken]) {
      for (const [method, path] of [
        ['GET', ''],
        ['POST', '/complete'],
        ['POST', '/cancel'],
      ] as const) {
        const response = await actor.request(
          method,
          `/v1/connect/sessions/${first.id}${path}`,
          method === 'POST' ? keysBody(keysFor()) : undefined,
          { 'onramp-tenant': a.id },
        );
        expectStatus(response, 404);
      }
    }
    // Session A's cookie, sent under session B's cookie name, or with B's id: 404.
    const aCookie = browser.cookies.get(connectCookieName(first.id)) ?? '';
    expect(aCookie).not.toBe('');
    const swapped = await browser.request('GET', `/v1/connect/sessions/${second.id}`, undefined, {
      cookie: `${connectCookieName(second.id)}=${aCookie}`,
    });
    expectStatus(swapped, 404);
    expectStatus(await browser.request('GET', `/v1/connect/sessions/${second.id}`), 404);
    // B's CSRF token with A's cookie on A changes nothing.
    expectStatus(
      await browser.request('POST', `/v1/connect/sessions/${first.id}/cancel`, undefined, {
        'x-csrf-token': other.csrf,
      }),
      403,
    );
    // No CSRF token on the unsafe routes, with the right cookie: 403, and nothing happens.
    for (const [path, body] of [
      ['connection', { partition: 'aws' }],
      ['validate', keysBody(keysFor())],
      ['complete', keysBody(keysFor())],
      ['cancel', undefined],
    ] as const) {
      const response = await h.app.inject({
        method: 'POST',
        url: `/v1/connect/sessions/${first.id}/${path}`,
        remoteAddress: newAddress(),
        headers: {
          ...(body ? { 'content-type': 'application/json' } : {}),
          cookie: `${connectCookieName(first.id)}=${aCookie}`,
        },
        ...(body ? { payload: JSON.stringify(body) } : {}),
      });
      expect(response.statusCode, path).toBe(403);
    }
    // With the right cookie, admin credentials, another tenant named and a query: the session's own view only.
    const view = await browser.request(
      'GET',
      `/v1/connect/sessions/${first.id}?tenant=${b.id}&account=${own.body.id}`,
      undefined,
      { 'onramp-tenant': b.id, authorization: 'Bearer nonsense' },
    );
    expectStatus(view, 200);
    expect(view.text).not.toContain(own.body.id);
    expect(view.text).not.toContain(foreign.body.id);
    expect(view.text).not.toContain(b.id);
    // Completing with another tenant's account in mind creates one account of this tenant, no more.
    const before = await accountCount(b);
    const done = await browser.request(
      'POST',
      `/v1/connect/sessions/${first.id}/complete?tenant=${b.id}`,
      keysBody(keysFor()),
      { 'onramp-tenant': b.id },
    );
    expectStatus(done, 200);
    expect(done.body.account.tenantId ?? a.id).toBe(a.id);
    expect(await accountCount(b)).toBe(before);
    const read = await a.viewer.request('GET', `/v1/accounts/${done.body.account.id}`);
    expectStatus(read, 200);
  });

  it('holds a fix session to its account: its method, its AWS account, no new account, its deletion', async () => {
    const accountId = awsAccount();
    const keys = keysFor(accountId);
    const created = await a.admin.request('POST', '/v1/accounts', keysBody(keys));
    expectStatus(created, 201);
    const session = await makeSession(a, { account: created.body.id });
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    const complete = (body: unknown) =>
      browser.request('POST', `/v1/connect/sessions/${session.id}/complete`, body);
    const unchanged = async () => {
      const now = await a.viewer.request('GET', `/v1/accounts/${created.body.id}`);
      expect(now.body.accessKeyId).toBe(keys.accessKeyId);
      expect(now.body.method).toBe('access_keys');
    };

    // keys → role
    const roleArn = `arn:aws:iam::${accountId}:role/Switch`;
    h.aws.addRole(roleArn, 'whatever');
    expectProblem(await complete({ method: 'role', roleArn }), 422, 'method');
    await unchanged();
    // Keys of another AWS account.
    const elsewhere = keysFor(awsAccount());
    const moved = await complete({
      method: 'access_keys',
      accessKeyId: elsewhere.accessKeyId,
      secretAccessKey: elsewhere.secretAccessKey,
    });
    expect(moved.status).toBeGreaterThanOrEqual(400);
    expect(moved.status).toBeLessThan(500);
    await unchanged();
    // A create-account body: no new account.
    const count = await accountCount(a);
    const asCreate = await complete(keysBody(keysFor()));
    expect([400, 422]).toContain(asCreate.status);
    expect(await accountCount(a)).toBe(count);
    // No set-up of its own to make.
    expectProblem(
      await browser.request('POST', `/v1/connect/sessions/${session.id}/connection`, {
        partition: 'aws',
      }),
      409,
      'session',
    );
    // Verify on an access-key account whose keys AWS no longer takes: a clear answer, still active.
    h.aws.revokeKey(keys.accessKeyId);
    const verify = await complete({ verify: true });
    expect(verify.status).toBeLessThan(500);
    const still = await browser.request('GET', `/v1/connect/sessions/${session.id}`);
    expect(still.body.state).toBe('active');

    // The tenant deletes the account meanwhile: completing finds nothing and creates nothing.
    expectStatus(await a.admin.request('DELETE', `/v1/accounts/${created.body.id}`), 204);
    const fresh = keysFor(accountId, 'after-delete');
    const late = await complete({
      method: 'access_keys',
      accessKeyId: fresh.accessKeyId,
      secretAccessKey: fresh.secretAccessKey,
    });
    expectStatus(late, 404);
    expect(await accountCount(a)).toBe(count - 1);
    const view = await browser.request('GET', `/v1/connect/sessions/${session.id}`);
    expectStatus(view, 200);
    expect(view.body).toMatchObject({ state: 'active', account: null });
  });

  it('lets exactly one of a cancel and a complete win, consistently', async () => {
    for (let round = 0; round < 6; round++) {
      const session = await makeSession();
      const browser = browserOf(h);
      expectStatus(await browser.open(session.url), 200);
      const count = await accountCount(a);
      const [cancel, complete] = await Promise.all([
        a.admin.request('POST', `/v1/connect-sessions/${session.id}/cancel`),
        browser.request('POST', `/v1/connect/sessions/${session.id}/complete`, keysBody(keysFor())),
      ]);
      expect([cancel.status, complete.status].filter((s) => s === 200)).toHaveLength(1);
      const read = await a.viewer.request('GET', `/v1/connect-sessions/${session.id}`);
      if (complete.status === 200) {
        expect(cancel.status).toBe(409);
        expect(read.body).toMatchObject({ state: 'completed', outcome: 'connected' });
        expect(await accountCount(a)).toBe(count + 1);
      } else {
        expect(complete.status).toBe(409);
        expect(read.body).toMatchObject({ state: 'cancelled', accountId: null });
        expect(await accountCount(a)).toBe(count);
      }
      const events = await h.database.db
        .selectFrom('webhook_deliveries')
        .select('payload')
        .where('tenant_id', '=', a.id)
        .where('event_type', '=', 'connect_session.completed')
        .execute();
      expect(events.filter((e) => e.payload.includes(session.id)).length).toBe(
        complete.status === 200 ? 1 : 0,
      );
    }
  });

  it('leaves a fix session’s account as it was when the session is cancelled while AWS validates', async () => {
    const accountId = awsAccount();
    const keys = keysFor(accountId);
    const created = await a.admin.request('POST', '/v1/accounts', keysBody(keys));
    expectStatus(created, 201);
    const session = await makeSession(a, { account: created.body.id });
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    const fresh = keysFor(accountId, 'rotated-while-cancelled');
    // AWS takes its time with the new keys; the platform cancels the session meanwhile.
    const gateway = h.aws.gateway;
    const identifyKeys = gateway.identifyKeys;
    let entered: () => void = () => {};
    let release: () => void = () => {};
    const inAws = new Promise<void>((resolve) => (entered = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    gateway.identifyKeys = async (...args) => {
      entered();
      await released;
      return identifyKeys.apply(gateway, args);
    };
    try {
      const completing = browser.request('POST', `/v1/connect/sessions/${session.id}/complete`, {
        method: 'access_keys',
        accessKeyId: fresh.accessKeyId,
        secretAccessKey: fresh.secretAccessKey,
      });
      await inAws;
      expectStatus(await a.admin.request('POST', `/v1/connect-sessions/${session.id}/cancel`), 200);
      release();
      const complete = await completing;
      expectProblem(complete, 409, 'session');
      expect(complete.body.errors[0].code).toBe('session_cancelled');
    } finally {
      gateway.identifyKeys = identifyKeys;
      release();
    }
    const account = await a.viewer.request('GET', `/v1/accounts/${created.body.id}`);
    expect(account.body.accessKeyId, 'a cancelled session changed the account').toBe(
      keys.accessKeyId,
    );
    const read = await a.viewer.request('GET', `/v1/connect-sessions/${session.id}`);
    expect(read.body).toMatchObject({ state: 'cancelled', outcome: 'cancelled' });
  });

  it('connects or fixes nothing when the session expires while AWS validates', async () => {
    const gateway = h.aws.gateway;
    const identifyKeys = gateway.identifyKeys;
    try {
      const accountId = awsAccount();
      const keys = keysFor(accountId);
      const created = await a.admin.request('POST', '/v1/accounts', keysBody(keys));
      expectStatus(created, 201);
      const fix = await makeSession(a, { account: created.body.id, expiresInMinutes: 5 });
      const connect = await makeSession(a, { expiresInMinutes: 5 });
      const fixer = browserOf(h);
      const connecter = browserOf(h);
      expectStatus(await fixer.open(fix.url), 200);
      expectStatus(await connecter.open(connect.url), 200);
      const count = await accountCount(a);
      // The clock passes the sessions' expiry while AWS answers.
      gateway.identifyKeys = async (...args) => {
        offsetMs = 6 * MINUTE;
        return identifyKeys.apply(gateway, args);
      };
      const fresh = keysFor(accountId, 'rotated-while-expiring');
      const fixed = await fixer.request('POST', `/v1/connect/sessions/${fix.id}/complete`, {
        method: 'access_keys',
        accessKeyId: fresh.accessKeyId,
        secretAccessKey: fresh.secretAccessKey,
      });
      expectProblem(fixed, 409, 'session');
      expect(fixed.body.errors[0].code).toBe('session_expired');
      offsetMs = 0;
      const connected = await connecter.request(
        'POST',
        `/v1/connect/sessions/${connect.id}/complete`,
        keysBody(keysFor()),
      );
      expectProblem(connected, 409, 'session');
      expect(connected.body.errors[0].code).toBe('session_expired');
      expect(await accountCount(a)).toBe(count);
      const account = await a.viewer.request('GET', `/v1/accounts/${created.body.id}`);
      expect(account.body.accessKeyId).toBe(keys.accessKeyId);
    } finally {
      gateway.identifyKeys = identifyKeys;
    }
  });

  it('names none of the tenant’s other accounts when the customer sends keys one of them uses', async () => {
    const otherKeys = keysFor();
    const other = await a.admin.request('POST', '/v1/accounts', {
      ...keysBody(otherKeys),
      name: 'Globex private workload',
    });
    expectStatus(other, 201);
    const session = await makeSession();
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    const answers: TestResponse[] = [];
    // The keys of the tenant's other account (the customer's own, connected before): not its name or id.
    for (const path of ['validate', 'complete'])
      answers.push(
        await browser.request('POST', `/v1/connect/sessions/${session.id}/${path}`, {
          ...keysBody(otherKeys),
        }),
      );
    expectProblem(answers[1] as TestResponse, 409, 'accessKeyId');
    expect(answers[1]?.body.errors[0].code).toBe('already_connected');
    expect(answers[1]?.body.existingAccount).toBeUndefined();
    for (const answer of answers) {
      expect(answer.status).toBeLessThan(500);
      expect(answer.text).not.toContain(other.body.id);
      expect(answer.text).not.toContain('Globex');
    }
  });

  it('makes one role set-up for 100 concurrent requests, and one account for 100 completes', async () => {
    const session = await makeSession();
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    const made = await Promise.all(
      Array.from({ length: 100 }, () =>
        browser.request('POST', `/v1/connect/sessions/${session.id}/connection`, {
          partition: 'aws',
        }),
      ),
    );
    expect(made.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    const ids = new Set(made.filter((r) => r.status === 200).map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const rows = await h.database.db
      .selectFrom('connections')
      .select('id')
      .where('connect_session_id', '=', session.id)
      .execute();
    expect(rows).toHaveLength(1);

    const other = await makeSession();
    const winner = browserOf(h);
    expectStatus(await winner.open(other.url), 200);
    const count = await accountCount(a);
    const completes = await Promise.all(
      Array.from({ length: 100 }, () =>
        winner.request('POST', `/v1/connect/sessions/${other.id}/complete`, keysBody(keysFor())),
      ),
    );
    expect(completes.filter((r) => r.status === 200)).toHaveLength(1);
    expect(completes.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect(await accountCount(a)).toBe(count + 1);
  });

  it('audits no wrong secret, answers 429 past the limit, and still opens for the right secret elsewhere', async () => {
    const session = await makeSession();
    const other = await makeSession();
    const otherSecret = other.url.split('#')[1] ?? '';
    const auditCount = async () => {
      const row = await h.database.db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('target_id', '=', session.id)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    };
    const before = await auditCount();
    const attacker = newAddress();
    const attempts = await Promise.all(
      Array.from({ length: 65 }, (_, i) =>
        browserOf(h, attacker).request('POST', `/v1/connect/sessions/${session.id}/open`, {
          // Guesses, and another session's real secret.
          token: i === 0 ? otherSecret : `guess-${i}`,
        }),
      ),
    );
    expect(attempts.filter((r) => r.status === 200)).toHaveLength(0);
    expect(attempts.some((r) => r.status === 429)).toBe(true);
    expect(attempts.every((r) => r.status === 404 || r.status === 429)).toBe(true);
    expect(await auditCount()).toBe(before);
    // The customer, from their own address, is not locked out by the attacker's guesses.
    expectStatus(await browserOf(h).open(session.url), 200);
    expect(await auditCount()).toBe(before + 1);
  });

  it('refuses a link at exactly its expiry, and completes nothing racing it', async () => {
    const session = await makeSession(a, { expiresInMinutes: 5 });
    offsetMs = 5 * MINUTE;
    const opened = await browserOf(h).open(session.url);
    expectProblem(opened, 409, 'session');
    expect(opened.body.errors[0].code).toBe('session_expired');
  });

  it('takes no hostile session request on the platform’s API', async () => {
    const token = await a.token(['accounts:read', 'accounts:write']);
    const create = (extra: Record<string, unknown>) =>
      token.request('POST', '/v1/connect-sessions', { returnUrl: RETURN, ...extra });
    for (const expiresInMinutes of [0, 4, 1441, 1e9, '60', 1.5, -5])
      expectProblem(await create({ expiresInMinutes }), 400, 'expiresInMinutes');
    for (const reference of ['x'.repeat(201), 'a\u202Eb', 'a\nb', 'a\u0000b'])
      expect((await create({ reference })).status).toBe(400);
    expectStatus(await create({ bundles: { fixed: ['nodes-ec2'], choose: ['nodes-ec2'] } }), 400);
    expectStatus(await create({ bundles: { choose: [] } }), 400);
    expectStatus(await create({ tenantId: b.id }), 400);
    expectStatus(
      await create({ returnUrl: `https://app.acme.example/settings/${'a'.repeat(2048)}` }),
      400,
    );
    // Return URLs that a parser would repair (stored as sent, read back by the platform): 422.
    for (const returnUrl of [
      'https://app.acme.example/settings\\evil.test',
      'https://app.acme.example/settings//evil.test',
      'https://app.acme.example/settings/..%2f..%2fevil',
      'https:app.acme.example/settings',
    ])
      expectProblem(await create({ returnUrl }), 422, 'returnUrl');
    // Another tenant's account cannot be fixed from here.
    const foreign = await b.admin.request('POST', '/v1/accounts', keysBody(keysFor()));
    expectProblem(await create({ account: foreign.body.id }), 404, 'account');
    // A token that only vends, or only reads, makes no session.
    for (const scopes of [['credentials:vend'], ['accounts:read']] as const) {
      const limited = await a.token([...scopes]);
      expectStatus(
        await limited.request('POST', '/v1/connect-sessions', { returnUrl: RETURN }),
        403,
      );
    }
    // The session made for the tenant named by an operator is that tenant's, not another's.
    const operator = await h.operatorToken(['accounts:read', 'accounts:write']);
    const made = await operator.request(
      'POST',
      '/v1/connect-sessions',
      { returnUrl: RETURN },
      { 'onramp-tenant': a.id },
    );
    expectStatus(made, 201);
    expectStatus(await b.admin.request('GET', `/v1/connect-sessions/${made.body.id}`), 404);
  });

  it('shows no link secret, browser secret or secret key in any answer or audit entry', async () => {
    const session = await makeSession();
    const linkSecret = session.url.split('#')[1] ?? '';
    const browser = browserOf(h);
    expectStatus(await browser.open(session.url), 200);
    const cookie = browser.cookies.get(connectCookieName(session.id)) ?? '';
    const keys = keysFor();
    await browser.request('POST', `/v1/connect/sessions/${session.id}/validate`, keysBody(keys));
    const done = await browser.request(
      'POST',
      `/v1/connect/sessions/${session.id}/complete`,
      keysBody(keys),
    );
    expectStatus(done, 200);
    await browser.request('GET', `/v1/connect/sessions/${session.id}`);
    const platform = await a.viewer.request('GET', `/v1/connect-sessions/${session.id}`);
    const audit = await a.admin.request('GET', '/v1/audit?limit=200');
    const events = await h.database.db
      .selectFrom('webhook_deliveries')
      .select('payload')
      .where('tenant_id', '=', a.id)
      .execute();
    expect(events.some((e) => e.payload.includes(session.id))).toBe(true);
    const everything = [...browser.seen, platform.text, audit.text, JSON.stringify(events)].join(
      '\n',
    );
    expect(linkSecret.length).toBeGreaterThan(20);
    expect(cookie.length).toBeGreaterThan(20);
    for (const secret of [linkSecret, cookie, keys.secretAccessKey])
      expect(everything).not.toContain(secret);
    for (const event of events) expect(JSON.parse(event.payload).data.session.url).toBeUndefined();
  });
});
