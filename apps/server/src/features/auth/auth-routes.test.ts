import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../adapters/crypto/secrets.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createHarness, expectProblem, expectStatus, type Harness } from '../../testing/harness.ts';
import { createUsersRepository } from '../users/users-repository.ts';
import { SIGN_IN_WINDOW_SECONDS } from './auth-routes.ts';
import { issueSetupToken } from './setup.ts';

const cookieOf = (headers: Record<string, unknown>) =>
  String([headers['set-cookie']].flat()[0] ?? '').split(';')[0] ?? '';

describe.each(TEST_DIALECTS)('sign-in and set-up on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    // Just past the start of a sign-in window, so the limit's attempts all count in one.
    const windowMs = SIGN_IN_WINDOW_SECONDS * 1000;
    const offsetMs = windowMs - (Date.now() % windowMs) + 1_000;
    h = await createHarness(dialect, { clock: () => new Date(Date.now() + offsetMs) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('creates the first operator once, with the set-up token, and signs them in', async () => {
    const token = await issueSetupToken(h.database.db, () => new Date());
    expect(token).toMatch(/^setup_/);
    const body = {
      setupToken: token,
      email: 'Ops@Example.com',
      name: 'Ops',
      password: 'correct horse battery',
    };
    const wrong = await h.anonymous.request('POST', '/v1/setup', {
      ...body,
      setupToken: 'setup_wrong-token',
    });
    expectProblem(wrong, 403, 'setupToken');
    const created = await h.anonymous.request('POST', '/v1/setup', body);
    expectStatus(created, 201);
    expect(created.body.user).toMatchObject({
      email: 'ops@example.com',
      role: 'operator_admin',
      tenantId: null,
    });
    const cookie = String([created.headers['set-cookie']].flat()[0]);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expectProblem(await h.anonymous.request('POST', '/v1/setup', body), 403, 'setupToken');
    expect(await issueSetupToken(h.database.db, () => new Date())).toBeNull();
  });

  it('signs in with the right password, needs the CSRF token for changes, and signs out', async () => {
    const tenant = await h.tenant();
    await createUsersRepository(h.database.db, () => new Date()).create({
      tenantId: tenant.id,
      email: 'ada@example.com',
      name: 'Ada',
      role: 'tenant_admin',
      passwordHash: await hashPassword('a long enough password'),
    });
    expectProblem(
      await h.anonymous.request('POST', '/v1/session', {
        email: 'ada@example.com',
        password: 'wrong password!',
      }),
      401,
      'password',
    );
    expectProblem(
      await h.anonymous.request('POST', '/v1/session', {
        email: 'nobody@example.com',
        password: 'wrong password!',
      }),
      401,
      'password',
    );
    expectProblem(
      await h.anonymous.request('POST', '/v1/session', { email: 'not-an-email', password: 'x' }),
      400,
      'email',
    );
    const login = await h.anonymous.request('POST', '/v1/session', {
      email: 'ADA@example.com',
      password: 'a long enough password',
    });
    expectStatus(login, 200);
    const cookie = cookieOf(login.headers);
    const csrf = login.body.csrfToken as string;
    const session = await h.send('GET', '/v1/session', { cookie });
    expectStatus(session, 200);
    expect(session.body.user.email).toBe('ada@example.com');
    // A change with the cookie but without the CSRF token is refused (a cross-site form cannot set it).
    expectProblem(
      await h.send(
        'POST',
        '/v1/users',
        { cookie },
        {
          email: 'b@example.com',
          name: 'B',
          password: 'another long password',
          role: 'tenant_viewer',
        },
      ),
      403,
    );
    const withCsrf = await h.send(
      'POST',
      '/v1/users',
      { cookie, 'x-csrf-token': csrf },
      {
        email: 'b@example.com',
        name: 'B',
        password: 'another long password',
        role: 'tenant_viewer',
      },
    );
    expectStatus(withCsrf, 201);
    expectStatus(await h.send('DELETE', '/v1/session', { cookie, 'x-csrf-token': csrf }), 204);
    expectProblem(await h.send('GET', '/v1/session', { cookie }), 401);
  });

  it('limits sign-in attempts per email and address', async () => {
    let last = await h.anonymous.request('POST', '/v1/session', {
      email: 'target@example.com',
      password: 'guess 0',
    });
    for (let i = 1; i <= 10; i++)
      last = await h.anonymous.request('POST', '/v1/session', {
        email: 'target@example.com',
        password: `guess ${i}`,
      });
    expectProblem(last, 429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('refuses unknown and malformed bearer tokens', async () => {
    expectProblem(await h.send('GET', '/v1/accounts', { authorization: 'Bearer onr_nope' }), 401);
    expectProblem(await h.send('GET', '/v1/accounts', { authorization: 'Basic abc' }), 401);
  });
});
