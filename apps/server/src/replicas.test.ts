import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testing/databases.ts';
import { createHarness, expectStatus, type Harness } from './testing/harness.ts';

/**
 * Several replicas on one PostgreSQL database behave as one service: no state that matters lives in a
 * process. Two app instances share only the database and the keyring.
 */
describe('two instances on one PostgreSQL database', () => {
  let database: TestDatabase;
  let first: Harness;
  let second: Harness;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    first = await createHarness('postgres', {}, { database });
    // Same keyring (as replicas share ONRAMP_MASTER_KEY_FILE) and the same AWS; a separate app and pool.
    second = await createHarness(
      'postgres',
      { envelope: first.deps.envelope, aws: first.deps.aws },
      { database },
    );
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await database?.drop();
  });

  it('serve the same accounts, sessions, tokens and audit', async () => {
    const tenant = await first.tenant();
    const keys = first.aws.addUser('aws', '123456789012');
    const created = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'access_keys',
      name: 'shared',
      partition: 'aws',
      ...keys,
    });
    expectStatus(created, 201);
    // The same session cookie and token work on the other instance.
    const onSecond = await second.send(
      'GET',
      `/v1/accounts/${created.body.id}`,
      tenant.admin.headers,
    );
    expectStatus(onSecond, 200);
    expect(onSecond.body).toMatchObject({
      id: created.body.id,
      name: 'shared',
      awsAccountId: '123456789012',
    });
    const token = await tenant.token(['accounts:read', 'accounts:write']);
    const list = await second.send('GET', '/v1/accounts', token.headers);
    expect(list.body.accounts.map((a: { id: string }) => a.id)).toEqual([created.body.id]);
    // A change on the second instance is seen by the first, and the secret sealed by one opens on the other.
    const rotated = first.aws.addUser('aws', '123456789012', 'rotated');
    expectStatus(
      await second.send('PUT', `/v1/accounts/${created.body.id}/credentials`, token.headers, {
        method: 'access_keys',
        ...rotated,
      }),
      200,
    );
    const seen = await tenant.admin.request('GET', `/v1/accounts/${created.body.id}`);
    expect(seen.body.accessKeyId).toBe(rotated.accessKeyId);
    const audit = await second.send('GET', '/v1/audit', tenant.admin.headers);
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['account.created', 'account.credentials_rotated']),
    );
  });

  it('count sign-in attempts together', async () => {
    for (let i = 0; i < 6; i++)
      await first.anonymous.request('POST', '/v1/session', {
        email: 'shared-limit@example.com',
        password: `guess ${i}`,
      });
    let last = await second.anonymous.request('POST', '/v1/session', {
      email: 'shared-limit@example.com',
      password: 'guess x',
    });
    for (let i = 0; i < 4; i++)
      last = await second.anonymous.request('POST', '/v1/session', {
        email: 'shared-limit@example.com',
        password: `guess y${i}`,
      });
    expect(last.status, last.text).toBe(429);
  });
});
