import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { CSRF_HEADER } from '../auth/auth-hook.ts';
import { checkNewPassword } from './password-policy.ts';

const GOOD = 'an unguessable passphrase 7';

describe('the password policy', () => {
  const person = { email: 'ada.lovelace@example.com', name: 'Ada Lovelace' };
  it.each([
    ['only spaces', '            ', /only spaces/],
    ['a common password', 'password1234', /commonly used/],
    ['a common password, capitalised', 'Password1234!', /commonly used/],
    ['a keyboard row', 'qwertyuiopasdf', /commonly used|keyboard/],
    ['a repeat', 'aaaaaaaaaaaaaaaa', /repeats/],
    ['a sequence', 'abcdefghijklmnop', /sequence/],
    ['the email', 'ada.lovelace@example.com', /email address/],
    ['the email, in capitals', 'ADA.LOVELACE@EXAMPLE.COM!', /email address/],
    ['the email’s name', 'my ada.lovelace password', /name in your email/],
    ['the name', 'Ada Lovelace 1815 forever', /your name/],
    ['the name without its space', 'xxadalovelacexx', /your name/],
  ])('refuses %s', (_what, password, message) => {
    expect(checkNewPassword(password, person)).toMatchObject({
      field: 'password',
      code: 'weak_password',
      message: expect.stringMatching(message),
    });
  });

  it.each([GOOD, 'correct horse battery staple', 'zK8#pq2!vLm9', 'Ünïcødé pässwörd wïth äccents'])(
    'accepts %s',
    (password) => {
      expect(checkNewPassword(password, person)).toBeUndefined();
    },
  );

  it('names the field it is asked to', () => {
    expect(checkNewPassword('password1234', person, 'admin.password')?.field).toBe(
      'admin.password',
    );
  });

  it('judges a 256-character password quickly', () => {
    const started = performance.now();
    checkNewPassword('Xy9!'.repeat(64), person);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe.each(TEST_DIALECTS)('passwords on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let now = Date.now();
  beforeAll(async () => {
    h = await createHarness(dialect, { clock: () => new Date(now) });
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const newUser = async (password = GOOD, role = 'tenant_viewer') => {
    const email = `p-${randomBytes(4).toString('hex')}@a.example`;
    const created = await a.admin.request('POST', '/v1/users', {
      email,
      name: 'Pat Example',
      password,
      role,
    });
    expectStatus(created, 201);
    return { id: created.body.id as string, email };
  };
  /** Signs in through the API: the cookie and CSRF header a console session sends. */
  const signIn = async (email: string, password: string) => {
    const response = await h.anonymous.request('POST', '/v1/session', { email, password });
    if (response.status !== 200) return { response, headers: {} as Record<string, string> };
    const cookie = String([response.headers['set-cookie']].flat()[0]).split(';')[0] ?? '';
    return { response, headers: { cookie, [CSRF_HEADER]: response.body.csrfToken as string } };
  };

  describe('new passwords everywhere', () => {
    it.each([
      ['12 spaces', '            '],
      ['password1234', 'password1234'],
      ['the user’s own email', 'OWN_EMAIL'],
    ])('adding a user refuses %s, on the password field', async (_what, password) => {
      const email = `own-${randomBytes(3).toString('hex')}@a.example`;
      const response = await a.admin.request('POST', '/v1/users', {
        email,
        name: 'Someone',
        password: password === 'OWN_EMAIL' ? email : password,
        role: 'tenant_viewer',
      });
      expectProblem(response, 400, 'password');
    });

    it('a tenant’s first admin and the operator at set-up are held to it too', async () => {
      const operator = await h.operator();
      expectProblem(
        await operator.request('POST', '/v1/tenants', {
          name: `t-${randomBytes(3).toString('hex')}`,
          admin: { email: 'first@t.example', name: 'First', password: 'password1234' },
        }),
        400,
        'admin.password',
      );
    });
  });

  describe('changing one’s own password', () => {
    it('needs the current one, ends the other sessions, and keeps this one', async () => {
      const { id, email } = await newUser();
      const here = await signIn(email, GOOD);
      const elsewhere = await signIn(email, GOOD);
      expectStatus(here.response, 200);
      const change = (body: unknown) => h.send('PUT', '/v1/me/password', here.headers, body);

      expectProblem(
        await change({
          currentPassword: 'not the password',
          newPassword: 'a brand new passphrase 9',
        }),
        400,
        'currentPassword',
      );
      expectProblem(
        await change({ currentPassword: GOOD, newPassword: 'password1234' }),
        400,
        'newPassword',
      );
      expectProblem(
        await change({ currentPassword: GOOD, newPassword: email }),
        400,
        'newPassword',
      );
      expectProblem(await change({ currentPassword: GOOD, newPassword: GOOD }), 400, 'newPassword');
      // The other session still works until the change.
      expectStatus(await h.send('GET', '/v1/session', elsewhere.headers), 200);

      expectStatus(
        await change({ currentPassword: GOOD, newPassword: 'a brand new passphrase 9' }),
        204,
      );
      expectStatus(await h.send('GET', '/v1/session', here.headers), 200);
      expectProblem(await h.send('GET', '/v1/session', elsewhere.headers), 401);
      expectProblem((await signIn(email, GOOD)).response, 401);
      expectStatus((await signIn(email, 'a brand new passphrase 9')).response, 200);

      const audit = await a.admin.request('GET', '/v1/audit?limit=100');
      const entry = audit.body.entries.find(
        (e: { action: string; targetId: string }) =>
          e.action === 'user.password_changed' && e.targetId === id,
      );
      expect(entry, audit.text).toBeDefined();
      expect(audit.text).not.toContain('brand new passphrase');
    });

    it('limits guesses at the current password, and is not for tokens or strangers', async () => {
      const { email } = await newUser();
      const session = await signIn(email, GOOD);
      let last = 0;
      for (let i = 0; i < 11; i += 1) {
        last = (
          await h.send('PUT', '/v1/me/password', session.headers, {
            currentPassword: `guess number ${i}`,
            newPassword: 'a brand new passphrase 9',
          })
        ).status;
      }
      expect(last).toBe(429);
      const token = await a.token(['accounts:read', 'accounts:write', 'admin']);
      const body = { currentPassword: GOOD, newPassword: 'a brand new passphrase 9' };
      expectProblem(await token.request('PUT', '/v1/me/password', body), 403);
      expectProblem(await h.anonymous.request('PUT', '/v1/me/password', body), 401);
    });
  });

  describe('reset links', () => {
    const makeLink = (actor: { request: TestTenant['admin']['request'] }, id: string) =>
      actor.request('POST', `/v1/users/${id}/password-reset`);
    const tokenOf = (url: string) =>
      new URL(url, 'https://console.example').hash.slice('#token='.length);
    const redeem = (token: string, newPassword = 'a brand new passphrase 9') =>
      h.anonymous.request('POST', '/v1/password-reset', { token, newPassword });

    it('a tenant admin makes one, shown once and stored hashed; it sets the password once and ends sessions', async () => {
      const { id, email } = await newUser();
      const session = await signIn(email, GOOD);
      const made = await makeLink(a.admin, id);
      expectStatus(made, 201);
      expect(made.body.url).toMatch(/^\/reset-password#token=rst_[A-Za-z0-9_-]{43}$/);
      const token = tokenOf(made.body.url);
      const rows = await h.database.db.selectFrom('password_resets').selectAll().execute();
      expect(JSON.stringify(rows)).not.toContain(token);

      // A weak password is refused and leaves the link usable.
      expectProblem(await redeem(token, 'password1234'), 400, 'newPassword');
      expectProblem(await redeem(token, email), 400, 'newPassword');
      expectStatus(await redeem(token), 204);
      expectProblem(await h.send('GET', '/v1/session', session.headers), 401);
      expectProblem((await signIn(email, GOOD)).response, 401);
      expectStatus((await signIn(email, 'a brand new passphrase 9')).response, 200);
      // Once only.
      expectProblem(await redeem(token, 'yet another passphrase 11'), 400, 'token');

      const audit = await a.admin.request('GET', '/v1/audit?limit=100');
      const actions = audit.body.entries
        .filter((e: { targetId: string }) => e.targetId === id)
        .map((e: { action: string }) => e.action);
      expect(actions).toEqual(
        expect.arrayContaining(['user.password_reset_created', 'user.password_reset']),
      );
      expect(audit.text).not.toContain(token);
    });

    it('expires, and a newer link replaces the older', async () => {
      const { id } = await newUser();
      const first = tokenOf((await makeLink(a.admin, id)).body.url);
      const second = tokenOf((await makeLink(a.admin, id)).body.url);
      expectProblem(await redeem(first), 400, 'token');
      const later = 24 * 3600_000 + 1000;
      now += later;
      try {
        expectProblem(await redeem(second), 400, 'token');
      } finally {
        // Back again: the harness's sessions last 12 hours.
        now -= later;
      }
      expectProblem(await redeem('rst_made-up-token'), 400, 'token');
    });

    it('leaves one live link when ten are made at once', async () => {
      const { id } = await newUser();
      const made = await Promise.all(Array.from({ length: 10 }, () => makeLink(a.admin, id)));
      for (const response of made) expectStatus(response, 201);
      const live = await h.database.db
        .selectFrom('password_resets')
        .select('id')
        .where('user_id', '=', id)
        .where('used_at', 'is', null)
        .execute();
      expect(live).toHaveLength(1);
    });

    it('works exactly once when redeemed ten times at once', async () => {
      // A fresh budget: the tests above spent some of this address's attempts, one of them in a
      // window a day ahead (the limiter never lets a later window be restarted by an earlier clock).
      await h.database.db.deleteFrom('rate_limits').execute();
      const { id } = await newUser();
      const token = tokenOf((await makeLink(a.admin, id)).body.url);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => redeem(token, `a brand new passphrase ${i + 10}`)),
      );
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, results.map((r) => r.text).join('\n')).toEqual([
        204, 400, 400, 400, 400, 400, 400, 400, 400, 400,
      ]);
    });

    it.each([
      ['demoted', { role: 'tenant_viewer' }],
      ['disabled', { disabled: true }],
      ['deleted', undefined],
    ])('no longer works once the admin who made it is %s', async (_what, change) => {
      await h.database.db.deleteFrom('rate_limits').execute();
      // An admin makes a link for a fellow admin and keeps it: were it to outlive the maker's
      // rights, taking those rights away would leave them a way back into an admin account.
      const maker = await newUser(GOOD, 'tenant_admin');
      const target = await newUser(GOOD, 'tenant_admin');
      const makerSession = await signIn(maker.email, GOOD);
      const made = await h.send(
        'POST',
        `/v1/users/${target.id}/password-reset`,
        makerSession.headers,
      );
      expectStatus(made, 201);
      expectStatus(
        change
          ? await a.admin.request('PATCH', `/v1/users/${maker.id}`, change)
          : await a.admin.request('DELETE', `/v1/users/${maker.id}`),
        change ? 200 : 204,
      );
      expectProblem(await redeem(tokenOf(made.body.url)), 400, 'token');
      expectStatus((await signIn(target.email, GOOD)).response, 200);
    });

    it('is for admins: the tenant’s own users, the operator for anyone, never oneself or a token', async () => {
      const { id } = await newUser();
      expectProblem(await makeLink(a.viewer, id), 403);
      expectProblem(await makeLink(b.admin, id), 404);
      const token = await a.token(['accounts:read', 'accounts:write', 'admin']);
      expectProblem(await makeLink(token, id), 403);
      expectProblem(await makeLink(h.anonymous, id), 401);
      const me = (await a.admin.request('GET', '/v1/session')).body.user.id as string;
      expectProblem(await makeLink(a.admin, me), 409, 'id');

      const operator = await h.operator();
      const otherOperator = await h.operator();
      const otherOperatorId = (await otherOperator.request('GET', '/v1/session')).body.user.id;
      // A tenant admin cannot reach an operator.
      expectProblem(await makeLink(a.admin, otherOperatorId), 404);
      expectStatus(await makeLink(operator, id), 201);
      expectStatus(
        await operator.request('POST', `/v1/users/${id}/password-reset`, undefined, {
          'onramp-tenant': a.id,
        }),
        201,
      );
      expectProblem(
        await operator.request('POST', `/v1/users/${id}/password-reset`, undefined, {
          'onramp-tenant': b.id,
        }),
        404,
      );
      expectStatus(await makeLink(operator, otherOperatorId), 201);
    });

    it('limits attempts per address', async () => {
      now += 15 * 60_000;
      let last = 0;
      for (let i = 0; i < 11; i += 1) last = (await redeem(`rst_guess-${i}`)).status;
      expect(last).toBe(429);
    });
  });
});
