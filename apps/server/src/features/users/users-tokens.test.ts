import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';
import { CSRF_HEADER, SESSION_COOKIE } from '../auth/auth-hook.ts';
import { createSessionsRepository } from '../auth/sessions-repository.ts';
import { createTokensRepository } from '../tokens/tokens-repository.ts';
import { createUsersRepository } from './users-repository.ts';

const ADMIN_SCOPES = ['accounts:read', 'accounts:write', 'admin'];

describe.each(TEST_DIALECTS)('tokens follow their creator’s rights on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let now = Date.now();
  beforeAll(async () => {
    // A clock the tests can move, to step past the one-second token cache.
    h = await createHarness(dialect, { clock: () => new Date(now) });
    a = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A second admin of tenant a, signed in to the console. */
  async function secondAdmin(): Promise<Actor & { userId: string }> {
    const clock = () => new Date(now);
    const user = await createUsersRepository(h.database.db, clock).create({
      tenantId: a.id,
      email: `second-${randomBytes(4).toString('hex')}@a.example`,
      name: 'Second admin',
      role: 'tenant_admin',
      passwordHash: 'not-used',
    });
    const session = await createSessionsRepository(h.database.db, clock).create(user.id);
    const headers = {
      cookie: `${SESSION_COOKIE}=${session.token}`,
      [CSRF_HEADER]: session.csrfToken,
    };
    return {
      label: `admin ${user.id}`,
      headers,
      userId: user.id,
      request: (method, url, body, extra = {}) =>
        h.send(method, url, { ...headers, ...extra }, body),
    };
  }

  async function tokenOf(maker: Actor): Promise<{ id: string; bearer: Record<string, string> }> {
    const created = await maker.request('POST', '/v1/tokens', {
      name: `made by ${maker.label}`,
      scopes: ADMIN_SCOPES,
    });
    expectStatus(created, 201);
    return {
      id: created.body.token.id,
      bearer: { authorization: `Bearer ${created.body.secret}` },
    };
  }

  const newAdminBody = () => ({
    email: `promoted-${randomBytes(4).toString('hex')}@a.example`,
    name: 'Made by a token',
    password: 'an unguessable passphrase 7',
    role: 'tenant_admin',
  });

  /** Everything the admin scope (and accounts:write) allows, tried with the token. */
  async function whatTheTokenCanStillDo(bearer: Record<string, string>) {
    const tries: [string, TestResponse][] = [
      ['create a tenant admin', await h.send('POST', '/v1/users', bearer, newAdminBody())],
      ['list users', await h.send('GET', '/v1/users', bearer)],
      ['list tokens', await h.send('GET', '/v1/tokens', bearer)],
      [
        'add a webhook',
        await h.send('POST', '/v1/webhooks', bearer, {
          url: 'https://hooks.example.com/x',
          events: ['account.created'],
        }),
      ],
      ['read the audit log', await h.send('GET', '/v1/audit', bearer)],
      [
        'start a connection',
        await h.send('POST', '/v1/connections', bearer, { name: 'c', partition: 'aws' }),
      ],
      ['list accounts', await h.send('GET', '/v1/accounts', bearer)],
    ];
    return tries.filter(([, response]) => response.status < 400).map(([what]) => what);
  }

  it.each([
    ['demoted to viewer', { role: 'tenant_viewer' }, 'creator_demoted'],
    ['disabled', { disabled: true }, 'creator_disabled'],
    ['deleted', undefined, 'creator_deleted'],
  ] as const)(
    'a token is dead once its creator is %s, at once on this replica',
    async (_what, change, reason) => {
      const maker = await secondAdmin();
      const token = await tokenOf(maker);
      // It works, and this replica now holds it in its one-second cache.
      const before = await h.send('POST', '/v1/users', token.bearer, newAdminBody());
      expectStatus(before, 201);

      const response = change
        ? await a.admin.request('PATCH', `/v1/users/${maker.userId}`, change)
        : await a.admin.request('DELETE', `/v1/users/${maker.userId}`);
      expectStatus(response, change ? 200 : 204);

      // No clock step: the change is seen at once, not a second later.
      expect(await whatTheTokenCanStillDo(token.bearer)).toEqual([]);
      expect((await h.send('GET', '/v1/users', token.bearer)).status).toBe(401);

      const listed = await a.admin.request('GET', '/v1/tokens');
      const row = listed.body.tokens.find((t: { id: string }) => t.id === token.id);
      expect(row?.revokedAt, listed.text).toEqual(expect.any(String));
      const audit = await a.admin.request('GET', '/v1/audit?limit=50');
      expect(audit.body.entries).toContainEqual(
        expect.objectContaining({
          action: 'token.revoked',
          targetId: token.id,
          details: expect.objectContaining({ reason, createdBy: maker.userId }),
        }),
      );
    },
  );

  it('promoting a viewer or renaming an admin leaves their tokens alone', async () => {
    const maker = await secondAdmin();
    const token = await tokenOf(maker);
    const renamed = await a.admin.request('PATCH', `/v1/users/${maker.userId}`, {
      name: 'Renamed',
      role: 'tenant_admin',
    });
    expectStatus(renamed, 200);
    expectStatus(await h.send('GET', '/v1/users', token.bearer), 200);
    // An operator's token for the tenant does not depend on the tenant's admins.
    const operatorToken = await a.token(['admin']);
    const demoted = await a.admin.request('PATCH', `/v1/users/${maker.userId}`, {
      role: 'tenant_viewer',
    });
    expectStatus(demoted, 200);
    expectStatus(await h.send('GET', '/v1/users', operatorToken.headers), 200);
  });

  it.each([
    ['demoted', { role: 'tenant_viewer' as const }],
    ['disabled', { disabled_at: '2026-01-01T00:00:00.000Z' }],
  ])(
    'a creator %s behind the routes’ back (another replica, a missed path) stops the token within a second',
    async (_what, change) => {
      const maker = await secondAdmin();
      const token = await tokenOf(maker);
      expectStatus(await h.send('GET', '/v1/users', token.bearer), 200);
      await h.database.db.updateTable('users').set(change).where('id', '=', maker.userId).execute();
      now += 1001;
      expect(await whatTheTokenCanStillDo(token.bearer)).toEqual([]);
      // A token not yet in the cache is refused at its first use, without waiting.
      const other = await secondAdmin();
      const unused = await tokenOf(other);
      await h.database.db.updateTable('users').set(change).where('id', '=', other.userId).execute();
      expect((await h.send('GET', '/v1/users', unused.bearer)).status).toBe(401);
    },
  );

  it('a creator deleted behind the routes’ back leaves the token dead', async () => {
    const maker = await secondAdmin();
    const token = await tokenOf(maker);
    await h.database.db.deleteFrom('sessions').where('user_id', '=', maker.userId).execute();
    await h.database.db.deleteFrom('users').where('id', '=', maker.userId).execute();
    now += 1001;
    expect(await whatTheTokenCanStillDo(token.bearer)).toEqual([]);
  });

  it('a token whose insert lands after its creator’s demotion cannot act as admin', async () => {
    // The interleaving of a race: the creating request passed its checks while its maker was an
    // admin, and its insert commits after the demotion has revoked the maker's tokens.
    const maker = await secondAdmin();
    expectStatus(
      await a.admin.request('PATCH', `/v1/users/${maker.userId}`, { role: 'tenant_viewer' }),
      200,
    );
    const late = await createTokensRepository(h.database.db, () => new Date(now)).create({
      tenantId: a.id,
      name: 'late',
      scopes: ['accounts:read', 'accounts:write', 'admin'],
      createdBy: maker.userId,
      expiresAt: null,
    });
    expect(await whatTheTokenCanStillDo({ authorization: `Bearer ${late.secret}` })).toEqual([]);
  });
});
