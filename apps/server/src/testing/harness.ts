import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { expect } from 'vitest';
import { createEnvelope } from '../adapters/crypto/envelope.ts';
import { memoryKeyring } from '../adapters/crypto/keyring.ts';
import type { Dialect } from '../adapters/db/database.ts';
import { buildApp } from '../app.ts';
import type { AppDeps } from '../deps.ts';
import type { Role, Scope } from '../domain/principal.ts';
import { CSRF_HEADER, SESSION_COOKIE } from '../features/auth/auth-hook.ts';
import { createSessionsRepository } from '../features/auth/sessions-repository.ts';
import {
  createTenantsRepository,
  type TenantLimits,
} from '../features/tenants/tenants-repository.ts';
import { createTokensRepository } from '../features/tokens/tokens-repository.ts';
import { createUsersRepository } from '../features/users/users-repository.ts';
import { createServices } from '../wiring.ts';
import { createTestDatabase, type TestDatabase } from './databases.ts';
import { createFakeAws } from './fake-aws.ts';

let shippedCatalog: Promise<Catalog> | undefined;
export function testCatalog(): Promise<Catalog> {
  shippedCatalog ??= loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
    actions: createIamDataActionIndex(),
  });
  return shippedCatalog;
}

export const HUB_ACCOUNT = '111122223333';
export const HUBS: AppDeps['hubs'] = {
  aws: { principalArn: `arn:aws:iam::${HUB_ACCOUNT}:role/onramp-hub` },
  'aws-us-gov': { principalArn: `arn:aws-us-gov:iam::${HUB_ACCOUNT}:role/onramp-hub` },
  // aws-cn deliberately has no hub: it offers access keys only.
};

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies loosely and assert on them.
  body: any;
  text: string;
}

export interface Actor {
  label: string;
  headers: Record<string, string>;
  request(
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<TestResponse>;
}

/**
 * A real app on a real database (SQLite in memory, or a fresh PostgreSQL database) with a fake AWS,
 * and actors to call it as: the operator, tenant admins and viewers (by session cookie) and API tokens.
 */
export async function createHarness(
  dialect: Dialect,
  overrides: Partial<AppDeps> = {},
  options: { sqlitePath?: string; database?: TestDatabase } = {},
) {
  const database = options.database ?? (await createTestDatabase(dialect, options.sqlitePath));
  const aws = createFakeAws();
  const keyring = memoryKeyring();
  const deps: AppDeps = {
    db: database.db,
    dialect,
    catalog: await testCatalog(),
    hubs: HUBS,
    envelope: createEnvelope(keyring),
    aws: aws.gateway,
    clock: () => new Date(),
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    actions: createIamDataActionIndex(),
    sleep: async () => {},
    ...overrides,
  };
  // The graph main.ts builds: the app and any job a test starts share it.
  const services = createServices(deps);
  const app = await buildApp(services);
  const clock = deps.clock;
  const users = createUsersRepository(database.db, clock);
  const sessions = createSessionsRepository(database.db, clock);
  const tokens = createTokensRepository(database.db, clock);
  const tenants = createTenantsRepository(database.db, clock);

  const send = async (
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<TestResponse> => {
    const response = await app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined
        ? { payload: typeof body === 'string' ? body : JSON.stringify(body) }
        : {}),
    });
    const type = String(response.headers['content-type'] ?? '');
    return {
      status: response.statusCode,
      headers: response.headers,
      text: response.body,
      body: type.includes('json') && response.body ? JSON.parse(response.body) : response.body,
    };
  };

  const actor = (label: string, headers: Record<string, string>): Actor => ({
    label,
    headers,
    request: (method, url, body, extra = {}) => send(method, url, { ...headers, ...extra }, body),
  });

  let counter = 0;
  async function userActor(
    tenantId: string | null,
    role: Role,
  ): Promise<Actor & { userId: string }> {
    counter += 1;
    const user = await users.create({
      tenantId,
      email: `${role}-${counter}-${randomBytes(3).toString('hex')}@example.com`,
      name: `${role} ${counter}`,
      role,
      passwordHash: 'not-used-by-session-tests',
    });
    const session = await sessions.create(user.id);
    return {
      ...actor(`${role} ${user.id}`, {
        cookie: `${SESSION_COOKIE}=${session.token}`,
        [CSRF_HEADER]: session.csrfToken,
      }),
      userId: user.id,
    };
  }

  // Tokens are only as strong as their creator: test tokens are made by an operator, who may grant
  // every scope, created once when the first is minted.
  let tokenCreator: Promise<string> | undefined;
  async function tokenActor(
    tenantId: string | null,
    scopes: Scope[],
  ): Promise<Actor & { tokenId: string; secret: string }> {
    tokenCreator ??= users
      .create({
        tenantId: null,
        email: `token-maker-${randomBytes(3).toString('hex')}@example.com`,
        name: 'Token maker',
        role: 'operator_admin',
        passwordHash: 'not-used-by-session-tests',
      })
      .then((user) => user.id);
    const { token, secret } = await tokens.create({
      tenantId,
      name: `test ${scopes.join(' ')}`,
      scopes,
      createdBy: await tokenCreator,
      expiresAt: null,
    });
    return {
      ...actor(`token ${scopes.join(',')}`, { authorization: `Bearer ${secret}` }),
      tokenId: token.id,
      secret,
    };
  }

  return {
    app,
    deps,
    /** The service graph the app runs on: hand it to a job (createHealthScheduler(h.services)). */
    services,
    aws,
    keyring,
    database,
    anonymous: actor('anonymous', {}),
    send,
    operator: () => userActor(null, 'operator_admin'),
    /** An operator token (made by an operator, bound to no tenant) with these scopes. */
    operatorToken: (scopes: Scope[]) => tokenActor(null, scopes),
    /** A tenant with an admin, a viewer, and a way to mint tokens. */
    async tenant(name = `tenant-${randomBytes(3).toString('hex')}`, limits: TenantLimits = {}) {
      const tenant = await tenants.create({ name, limits });
      return {
        id: tenant.id,
        admin: await userActor(tenant.id, 'tenant_admin'),
        viewer: await userActor(tenant.id, 'tenant_viewer'),
        token: (scopes: Scope[]) => tokenActor(tenant.id, scopes),
      };
    },
    async close() {
      await app.close();
      if (!options.database) await database.drop();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof createHarness>>;
export type TestTenant = Awaited<ReturnType<Harness['tenant']>>;

/** Asserts a status, showing the body when it differs. */
export function expectStatus(response: TestResponse, status: number): void {
  expect(response.status, `expected ${status}, got ${response.status}: ${response.text}`).toBe(
    status,
  );
}

/** Asserts an RFC 9457 problem with the given status and, optionally, a field in its errors. */
export function expectProblem(response: TestResponse, status: number, field?: string): void {
  expectStatus(response, status);
  expect(String(response.headers['content-type'])).toContain('application/problem+json');
  expect(response.body).toMatchObject({
    status,
    type: expect.stringMatching(/^urn:onramp:problem:/),
    title: expect.any(String),
  });
  if (field) {
    const fields = (response.body.errors as { field: string }[]).map((e) => e.field);
    expect(fields, `expected an error on ${field}: ${response.text}`).toContain(field);
  }
}

/**
 * The security cases every route must pass: no credentials (401), a role or scope that may not do it
 * (403), and another tenant's resource (404: it is not theirs to know it exists).
 */
export async function expectSecured(
  h: Harness,
  route: { method: string; url: string; body?: unknown },
  cases: { forbidden?: Actor[]; otherTenant?: Actor[] },
): Promise<void> {
  const anonymous = await h.anonymous.request(route.method, route.url, route.body);
  expectProblem(anonymous, 401);
  for (const actor of cases.forbidden ?? []) {
    const response = await actor.request(route.method, route.url, route.body);
    expect(response.status, `${actor.label} must be refused with 403: ${response.text}`).toBe(403);
  }
  for (const actor of cases.otherTenant ?? []) {
    const response = await actor.request(route.method, route.url, route.body);
    expect(response.status, `${actor.label} of another tenant must get 404: ${response.text}`).toBe(
      404,
    );
  }
}
