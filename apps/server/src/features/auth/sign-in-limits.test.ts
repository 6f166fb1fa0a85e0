import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../adapters/crypto/secrets.ts';
import type { App } from '../../app.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../../testing/databases.ts';
import { createHarness, type Harness } from '../../testing/harness.ts';
import { createUsersRepository } from '../users/users-repository.ts';
import { SIGN_IN_WINDOW_SECONDS } from './auth-routes.ts';

const PASSWORD = 'the right password, long enough';
/**
 * Smaller than the defaults (10, 30, 50; config.unit.test.ts holds them) but with the same shape: each
 * checked attempt costs a deliberately slow password hash, and the point is the count, not its size.
 */
const LIMITS = { perAccountAndAddress: 10, perAddress: 12, perAccount: 15 };
let sequence = 0;
/** Each test signs in from its own addresses and for its own emails, so limits never spill over. */
const newAddress = () => `198.51.${Math.floor(++sequence / 250) % 250}.${(sequence % 250) + 1}`;
const newEmail = (label: string) => `${label}-${++sequence}@example.com`;

interface Attempt {
  status: number;
  retryAfter: number;
  text: string;
}

async function signIn(app: App, email: string, password: string, address: string) {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/session',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ email, password }),
    remoteAddress: address,
  });
  return {
    status: response.statusCode,
    retryAfter: Number(response.headers['retry-after'] ?? 0),
    text: response.body,
  } satisfies Attempt;
}

/** Checked: the password was compared (401 or 200). Limited: refused before (429 with Retry-After). */
function tally(attempts: Attempt[]) {
  const unexpected = attempts.filter((a) => ![200, 401, 429].includes(a.status));
  expect(unexpected, JSON.stringify(unexpected.slice(0, 3))).toEqual([]);
  const limited = attempts.filter((a) => a.status === 429);
  for (const a of limited) expect(a.retryAfter, a.text).toBeGreaterThan(0);
  return {
    checked: attempts.filter((a) => a.status !== 429).length,
    limited: limited.length,
  };
}

/**
 * How far to move the clock for it to stand just past the start of a limit window: counts restart
 * with each window, and a test straddling two would count in both.
 */
const toWindowStart = (windowMs: number) => windowMs - (Date.now() % windowMs) + 1_000;
const WINDOW_MS = SIGN_IN_WINDOW_SECONDS * 1000;

/** Starts every attempt before any of them is answered. */
const together = <T>(count: number, attempt: (i: number) => Promise<T>) =>
  Promise.all(Array.from({ length: count }, (_, i) => attempt(i)));

describe.each(TEST_DIALECTS)('sign-in limits on %s', (dialect) => {
  let h: Harness;
  let offsetMs = 0;
  let passwordHash: string;
  let tenantId: string;
  const addUser = async (email: string) =>
    createUsersRepository(h.database.db, () => new Date()).create({
      tenantId,
      email,
      name: 'Someone',
      role: 'tenant_viewer',
      passwordHash,
    });
  const auditOf = async (action: string) =>
    (
      await h.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', action)
        .orderBy('seq')
        .execute()
    ).map((row) => ({ ...row, details: JSON.parse(row.details) }));

  beforeAll(async () => {
    h = await createHarness(dialect, {
      clock: () => new Date(Date.now() + offsetMs),
      signInLimits: LIMITS,
    });
    passwordHash = await hashPassword(PASSWORD);
    tenantId = (await h.tenant()).id;
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    offsetMs = toWindowStart(WINDOW_MS);
  });

  it('checks at most 10 of 100 wrong passwords for one account sent at once', async () => {
    const email = newEmail('burst');
    await addUser(email);
    const address = newAddress();
    const attempts = await together(100, (i) => signIn(h.app, email, `guess ${i}`, address));
    expect(tally(attempts)).toEqual({ checked: 10, limited: 90 });
    // The flood leaves one entry saying the limit was reached, not 90.
    const limited = (await auditOf('session.rate_limited')).filter(
      (e) => e.details.email === email,
    );
    expect(limited).toHaveLength(1);
    expect(limited[0]?.details).toMatchObject({ limit: 'account_and_address', attempts: 10 });
  });

  it('limits one address across emails (password spraying): 12 of 30 emails are tried', async () => {
    const address = newAddress();
    const attempts = await together(30, (i) =>
      signIn(h.app, newEmail(`spray${i}`), 'Summer2026!', address),
    );
    expect(tally(attempts)).toEqual({ checked: 12, limited: 18 });
    // Another address is not affected.
    expect((await signIn(h.app, newEmail('other'), 'Summer2026!', newAddress())).status).toBe(401);
  });

  it('limits one account across addresses: 15 of 30 addresses are tried, for one window', async () => {
    const email = newEmail('target');
    await addUser(email);
    const attempts = await together(30, (i) => signIn(h.app, email, `guess ${i}`, newAddress()));
    expect(tally(attempts)).toEqual({ checked: 15, limited: 15 });
    // The price of this limit: the owner is locked out too, from anywhere, until the window ends.
    const owner = await signIn(h.app, email, PASSWORD, newAddress());
    expect(owner.status, owner.text).toBe(429);
    expect(owner.retryAfter).toBeLessThanOrEqual(SIGN_IN_WINDOW_SECONDS);
    offsetMs += WINDOW_MS;
    expect((await signIn(h.app, email, PASSWORD, newAddress())).status).toBe(200);
  });

  it('does not count right passwords: 14 colleagues behind one address all sign in', async () => {
    const address = newAddress();
    const emails = Array.from({ length: 14 }, (_, i) => newEmail(`colleague${i}`));
    for (const email of emails) await addUser(email);
    // One after another, as people arrive: sign-ins racing each other are counted until their
    // passwords are checked (the decision comes first), so 14 in the same instant would not all pass.
    for (const email of emails) {
      const signedIn = await signIn(h.app, email, PASSWORD, address);
      expect(signedIn.status, signedIn.text).toBe(200);
    }
    // Their sign-ins left the address's whole budget for wrong guesses, and no more.
    const guesses = await together(13, (i) => signIn(h.app, newEmail(`g${i}`), 'nope', address));
    expect(tally(guesses)).toEqual({ checked: 12, limited: 1 });
  });

  it('counts a guess at another tenant’s user made through a look-alike account the guesser owns', async () => {
    // A tenant admin may create a user with any email in their own tenant, with a password they
    // choose: signing in then opens that account (200) unless the password also opens the other
    // tenant's account of that email (409 with the choices). Were a password that opens an account
    // never counted, every such guess would be free.
    const email = newEmail('victim');
    await addUser(email);
    const other = await h.tenant();
    const users = createUsersRepository(h.database.db, () => new Date());
    const lookAlike = await users.create({
      tenantId: other.id,
      email,
      name: 'Look-alike',
      role: 'tenant_viewer',
      passwordHash,
    });
    const address = newAddress();
    const attempts: Attempt[] = [];
    for (let i = 0; i < 12; i++) {
      const guess = `guess number ${i}, long enough`;
      await users.setPasswordHash(lookAlike.id, await hashPassword(guess));
      attempts.push(await signIn(h.app, email, guess, address));
    }
    expect(attempts.map((a) => a.status)).toEqual([...Array(10).fill(200), 429, 429]);
    // Signing in to one chosen tenant names one account: its right password still costs nothing.
    const owner = await h.app.inject({
      method: 'POST',
      url: '/v1/session',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email, password: PASSWORD, tenantId }),
      remoteAddress: newAddress(),
    });
    expect(owner.statusCode, owner.body).toBe(200);
  });

  it('keeps a stranger’s email in the audit log only cut short and hashed', async () => {
    const long = `${'a'.repeat(60)}@${'b'.repeat(60)}.example.com`;
    expect((await signIn(h.app, long, 'nope', newAddress())).status).toBe(401);
    const known = newEmail('known');
    await addUser(known);
    expect((await signIn(h.app, known, 'nope', newAddress())).status).toBe(401);
    const failed = await auditOf('session.failed');
    const stranger = failed.find(
      (e) => typeof e.details.email === 'object' && e.details.email.length === long.length,
    );
    expect(stranger?.details.email).toEqual({
      preview: `${long.slice(0, 64)}…`,
      length: long.length,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(JSON.stringify(failed)).not.toContain(long);
    // A user's own email is theirs, not a stranger's text: kept as it is.
    expect(failed.find((e) => e.details.email === known)).toBeDefined();
  });
});

describe.runIf(TEST_DIALECTS.includes('postgres'))(
  'sign-in limits across two instances on one PostgreSQL database',
  () => {
    let database: TestDatabase;
    let first: Harness;
    let second: Harness;
    beforeAll(async () => {
      database = await createTestDatabase('postgres');
      const offsetMs = toWindowStart(WINDOW_MS);
      const clock = () => new Date(Date.now() + offsetMs);
      first = await createHarness('postgres', { clock }, { database });
      second = await createHarness(
        'postgres',
        { clock, envelope: first.deps.envelope },
        { database },
      );
    });
    afterAll(async () => {
      await second?.close();
      await first?.close();
      await database?.drop();
    });

    it('checks at most 10 of 100 wrong passwords sent at once to both', async () => {
      const tenant = await first.tenant();
      const email = newEmail('replicas');
      await createUsersRepository(database.db, () => new Date()).create({
        tenantId: tenant.id,
        email,
        name: 'Someone',
        role: 'tenant_viewer',
        passwordHash: await hashPassword(PASSWORD),
      });
      for (let round = 0; round < 3; round++) {
        const address = newAddress();
        const attempts = await together(100, (i) =>
          signIn(i % 2 ? second.app : first.app, email, `guess ${round}-${i}`, address),
        );
        expect(tally(attempts), `round ${round}`).toEqual({ checked: 10, limited: 90 });
      }
    });
  },
);
