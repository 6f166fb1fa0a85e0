import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../adapters/crypto/secrets.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { createUsersRepository } from './users-repository.ts';

const PASSWORD = 'an unguessable passphrase 7';
const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.com`;

describe.each(TEST_DIALECTS)('emails across tenants on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const users = () => createUsersRepository(h.database.db, () => new Date());
  const add = (email: string, password = PASSWORD) =>
    a.admin.request('POST', '/v1/users', { email, name: 'New', password, role: 'tenant_viewer' });
  /** What a response tells apart from another: everything but the ids, emails and times. */
  const shape = (response: { status: number; body: Record<string, unknown> }) => {
    const { id, email, createdAt, ...rest } = response.body;
    return { status: response.status, rest, id: typeof id, email: typeof email };
  };

  it('a tenant admin hears the same whether an email is free, another tenant’s, or the operator’s', async () => {
    const elsewhere = unique('in-b');
    await users().create({
      tenantId: b.id,
      email: elsewhere,
      name: 'B user',
      role: 'tenant_admin',
      passwordHash: 'x',
    });
    const operatorEmail = unique('ops');
    await users().create({
      tenantId: null,
      email: operatorEmail,
      name: 'Ops',
      role: 'operator_admin',
      passwordHash: 'x',
    });
    const free = await add(unique('free'));
    const otherTenants = await add(elsewhere);
    const operators = await add(operatorEmail);
    expectStatus(free, 201);
    expect(shape(otherTenants), otherTenants.text).toEqual(shape(free));
    expect(shape(operators), operators.text).toEqual(shape(free));
    // The new users are tenant a's own; b's user and the operator are untouched.
    const listed = (await a.admin.request('GET', '/v1/users')).body.users;
    expect(listed.map((u: { email: string }) => u.email)).toEqual(
      expect.arrayContaining([elsewhere, operatorEmail]),
    );
    const bListed = (await b.admin.request('GET', '/v1/users')).body.users;
    expect(bListed.filter((u: { email: string }) => u.email === elsewhere)).toHaveLength(1);
  });

  it('a look-alike user tells its tenant nothing of the other tenant’s user signing in', async () => {
    // Tenant a's admin adds a user with the email of tenant b's admin (any email may be added):
    // b's admin's mistyped passwords, and where they came from, must not show in a's audit log.
    const email = unique('b-admin');
    await users().create({
      tenantId: b.id,
      email,
      name: 'B admin',
      role: 'tenant_admin',
      passwordHash: await hashPassword(PASSWORD),
    });
    expectStatus(await add(email, 'the look-alike’s own passphrase 3'), 201);
    const typo = await h.app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email, password: 'a mistyped passphrase 7' }),
      remoteAddress: '203.0.113.77',
    });
    expect(typo.statusCode, typo.body).toBe(401);
    const seenByA = await a.admin.request('GET', '/v1/audit?limit=200');
    expectStatus(seenByA, 200);
    expect(seenByA.text).not.toContain('203.0.113.77');
    // Still recorded: for the operator, who sees every tenant.
    const operator = await h.operator();
    const seenByOperator = await operator.request('GET', '/v1/audit?limit=200');
    expect(seenByOperator.text).toContain('203.0.113.77');
  });

  it('an operator creates a tenant whose admin’s email is used in another tenant', async () => {
    const email = unique('shared-admin');
    expectStatus(await add(email), 201);
    const operator = await h.operator();
    const created = await operator.request('POST', '/v1/tenants', {
      name: `t-${randomBytes(3).toString('hex')}`,
      admin: { email, name: 'Admin', password: PASSWORD },
    });
    expectStatus(created, 201);
  });

  it('an email twice in one tenant is a 409 on email, also when added at once', async () => {
    const email = unique('twice');
    expectStatus(await add(email), 201);
    expectProblem(await add(email), 409, 'email');
    const racing = unique('racing');
    const results = await Promise.all(Array.from({ length: 10 }, () => add(racing)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses, results.map((r) => r.text).join('\n')).toEqual([
      201, 409, 409, 409, 409, 409, 409, 409, 409, 409,
    ]);
  });

  describe('sign-in with an email that several tenants use', () => {
    const signIn = (body: Record<string, unknown>) =>
      h.anonymous.request('POST', '/v1/session', body);

    it('opens the account whose password it is', async () => {
      const email = unique('two-tenants');
      const inA = await users().create({
        tenantId: a.id,
        email,
        name: 'In A',
        role: 'tenant_viewer',
        passwordHash: await hashPassword('password of the a account'),
      });
      const inB = await users().create({
        tenantId: b.id,
        email,
        name: 'In B',
        role: 'tenant_viewer',
        passwordHash: await hashPassword('password of the b account'),
      });
      const toA = await signIn({ email, password: 'password of the a account' });
      expectStatus(toA, 200);
      expect(toA.body.user).toMatchObject({ id: inA.id, tenantId: a.id });
      const toB = await signIn({ email, password: 'password of the b account' });
      expectStatus(toB, 200);
      expect(toB.body.user).toMatchObject({ id: inB.id, tenantId: b.id });
      expectProblem(await signIn({ email, password: 'neither password' }), 401, 'password');
    });

    it('asks which tenant when one password opens several, and signs in to the one named', async () => {
      const email = unique('same-password');
      const hash = await hashPassword('one password for both');
      for (const tenantId of [a.id, b.id, null]) {
        await users().create({
          tenantId,
          email,
          name: 'Same',
          role: tenantId ? 'tenant_viewer' : 'operator_admin',
          passwordHash: hash,
        });
      }
      const ambiguous = await signIn({ email, password: 'one password for both' });
      expectProblem(ambiguous, 409, 'tenantId');
      expect(ambiguous.body.signInChoices).toEqual(
        expect.arrayContaining([
          { tenantId: a.id, tenantName: expect.any(String) },
          { tenantId: b.id, tenantName: expect.any(String) },
          { tenantId: null, tenantName: null },
        ]),
      );
      expect(ambiguous.headers['set-cookie']).toBeUndefined();
      const chosen = await signIn({ email, password: 'one password for both', tenantId: b.id });
      expectStatus(chosen, 200);
      expect(chosen.body.user.tenantId).toBe(b.id);
      const operator = await signIn({ email, password: 'one password for both', tenantId: null });
      expectStatus(operator, 200);
      expect(operator.body.user.role).toBe('operator_admin');
      // Naming a tenant where this email has no account is the same refusal as a wrong password.
      const c = await h.tenant();
      expectProblem(
        await signIn({ email, password: 'one password for both', tenantId: c.id }),
        401,
        'password',
      );
    });

    it('a disabled account does not make a sign-in ambiguous', async () => {
      const email = unique('one-disabled');
      const hash = await hashPassword('shared by two accounts');
      const disabled = await users().create({
        tenantId: a.id,
        email,
        name: 'Disabled',
        role: 'tenant_viewer',
        passwordHash: hash,
      });
      await users().updateInTenant(a.id, disabled.id, { disabled: true });
      await users().create({
        tenantId: b.id,
        email,
        name: 'Active',
        role: 'tenant_viewer',
        passwordHash: hash,
      });
      const response = await signIn({ email, password: 'shared by two accounts' });
      expectStatus(response, 200);
      expect(response.body.user.tenantId).toBe(b.id);
    });
  });
});
