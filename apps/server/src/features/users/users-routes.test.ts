import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

describe.each(TEST_DIALECTS)('users on %s', (dialect) => {
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

  it('a tenant admin adds, changes, disables and removes users of their tenant', async () => {
    const created = await a.admin.request('POST', '/v1/users', {
      email: 'Viewer@A.example',
      name: 'Vi',
      password: 'a long password 1',
      role: 'tenant_viewer',
    });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({
      email: 'viewer@a.example',
      role: 'tenant_viewer',
      tenantId: a.id,
      disabled: false,
    });
    expect(created.text).not.toContain('a long password 1');
    expect(created.text).not.toContain('scrypt');
    const id = created.body.id as string;
    const promoted = await a.admin.request('PATCH', `/v1/users/${id}`, {
      role: 'tenant_admin',
      disabled: true,
    });
    expectStatus(promoted, 200);
    expect(promoted.body).toMatchObject({ role: 'tenant_admin', disabled: true });
    const list = await a.admin.request('GET', '/v1/users');
    expect(list.body.users.map((u: { id: string }) => u.id)).toContain(id);
    expectStatus(await a.admin.request('DELETE', `/v1/users/${id}`), 204);
    expectProblem(await a.admin.request('DELETE', `/v1/users/${id}`), 404);
  });

  it('refuses a duplicate email, a bad role and a short password, naming the field', async () => {
    await a.admin.request('POST', '/v1/users', {
      email: 'dup@a.example',
      name: 'D',
      password: 'a long password 2',
      role: 'tenant_viewer',
    });
    expectProblem(
      await a.admin.request('POST', '/v1/users', {
        email: 'dup@a.example',
        name: 'D',
        password: 'a long password 2',
        role: 'tenant_viewer',
      }),
      409,
      'email',
    );
    expectProblem(
      await a.admin.request('POST', '/v1/users', {
        email: 'r@a.example',
        name: 'R',
        password: 'a long password 2',
        role: 'operator_admin',
      }),
      400,
      'role',
    );
    expectProblem(
      await a.admin.request('POST', '/v1/users', {
        email: 'p@a.example',
        name: 'P',
        password: 'short',
        role: 'tenant_viewer',
      }),
      400,
      'password',
    );
  });

  it('an admin cannot demote or remove themselves', async () => {
    const me = (await a.admin.request('GET', '/v1/session')).body.user.id as string;
    expectProblem(
      await a.admin.request('PATCH', `/v1/users/${me}`, { role: 'tenant_viewer' }),
      409,
      'role',
    );
    expectProblem(await a.admin.request('DELETE', `/v1/users/${me}`), 409);
  });

  it('is closed to viewers, account tokens, and other tenants', async () => {
    const target = (
      await a.admin.request('POST', '/v1/users', {
        email: 'sec@a.example',
        name: 'S',
        password: 'a long password 3',
        role: 'tenant_viewer',
      })
    ).body.id as string;
    const readToken = await a.token(['accounts:read', 'accounts:write']);
    await expectSecured(
      h,
      { method: 'GET', url: '/v1/users' },
      { forbidden: [a.viewer, readToken] },
    );
    await expectSecured(
      h,
      {
        method: 'POST',
        url: '/v1/users',
        body: {
          email: 'x@a.example',
          name: 'X',
          password: 'a long password 4',
          role: 'tenant_viewer',
        },
      },
      { forbidden: [a.viewer, readToken] },
    );
    await expectSecured(
      h,
      { method: 'PATCH', url: `/v1/users/${target}`, body: { name: 'Y' } },
      { forbidden: [a.viewer], otherTenant: [b.admin] },
    );
    await expectSecured(
      h,
      { method: 'DELETE', url: `/v1/users/${target}` },
      { forbidden: [a.viewer], otherTenant: [b.admin] },
    );
    const bList = await b.admin.request('GET', '/v1/users');
    expect(bList.body.users.map((u: { id: string }) => u.id)).not.toContain(target);
  });
});
