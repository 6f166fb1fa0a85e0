import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOidcRotation } from '../../jobs/oidc-rotation.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/databases.ts';
import { createHarness, expectStatus, type Harness } from '../../testing/harness.ts';

const HOUR = 3_600_000;

/**
 * Replicas share the issuer through PostgreSQL: the first key is made once however many start
 * together, every replica signs with the same key and serves the same JWKS, and the schedule makes one
 * next key however many replicas run it at the same moment.
 */
describe('the issuer on two instances sharing one PostgreSQL database', () => {
  let database: TestDatabase;
  let first: Harness;
  let second: Harness;
  let now = Date.parse('2026-12-01T00:00:00.000Z');
  const settings = {
    publicUrl: 'https://onramp.example.test',
    clock: () => new Date(now),
    oidc: { rotationMs: 10 * HOUR, prePublicationMs: 2 * HOUR },
  };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    first = await createHarness('postgres', settings, { database });
    second = await createHarness(
      'postgres',
      { ...settings, envelope: first.deps.envelope, aws: first.deps.aws },
      { database },
    );
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await database?.drop();
  });

  const keyCount = async () =>
    Number(
      (
        await database.db
          .selectFrom('oidc_signing_keys')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const mintOn = (h: Harness) =>
    h.services.webIdentity.mint({
      subject: h.services.webIdentity.subjectFor('ten_x', 'con_x'),
      audience: 'sts.amazonaws.com',
    });

  it('make the first key once and sign with it on both', async () => {
    // Both start at once, each asking for tokens and the JWKS: one first key between them.
    const tokens = await Promise.all([
      mintOn(first),
      mintOn(second),
      first.anonymous.request('GET', '/oidc/jwks.json'),
      second.anonymous.request('GET', '/oidc/jwks.json'),
      mintOn(second),
    ]);
    expect(await keyCount()).toBe(1);
    const [a, b] = [tokens[0] as string, tokens[1] as string];
    expect(decodeProtectedHeader(a).kid).toBe(decodeProtectedHeader(b).kid);
    // A token from one replica verifies against the JWKS the other serves, with the RS256 default.
    const servedBySecond = await second.anonymous.request('GET', '/oidc/jwks.json');
    expectStatus(servedBySecond, 200);
    expect(servedBySecond.body).toEqual(
      (await first.anonymous.request('GET', '/oidc/jwks.json')).body,
    );
    const { protectedHeader } = await jwtVerify(a, createLocalJWKSet(servedBySecond.body), {
      issuer: 'https://onramp.example.test/oidc',
      audience: 'sts.amazonaws.com',
      currentDate: new Date(now),
    });
    expect(protectedHeader.alg).toBe('RS256');
  });

  it('rotate once on schedule, whichever replica gets there, and switch keys together', async () => {
    const jobs = [createOidcRotation(first.services), createOidcRotation(second.services)];
    now += 8 * HOUR;
    const results = await Promise.all([
      ...jobs.map((job) => job.runOnce()),
      ...jobs.map((job) => job.runOnce()),
    ]);
    const made = results.map((r) => r.created).filter(Boolean);
    expect(made).toHaveLength(1);
    expect(await keyCount()).toBe(2);
    now += 2 * HOUR;
    const [a, b] = await Promise.all([mintOn(first), mintOn(second)]);
    expect(decodeProtectedHeader(a).kid).toBe(made[0]);
    expect(decodeProtectedHeader(b).kid).toBe(made[0]);
    // The schedule's key is audited once, as the system's.
    const audit = await database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'oidc.key_rotated')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_type: 'system', target_id: made[0] });
  });

  it('see an immediate rotation made on the other replica at their next token', async () => {
    const operator = await first.operator();
    const rotated = await operator.request('POST', '/v1/oidc/keys/rotate', { immediate: true });
    expectStatus(rotated, 201);
    expect(decodeProtectedHeader(await mintOn(second)).kid).toBe(rotated.body.kid);
  });
});
