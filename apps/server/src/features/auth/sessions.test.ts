import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createHarness, expectProblem, expectStatus, type Harness } from '../../testing/harness.ts';

const MINUTE = 60_000;

describe.each(TEST_DIALECTS)('console sessions on %s', (dialect) => {
  let h: Harness;
  let short: Harness;
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);
  beforeAll(async () => {
    h = await createHarness(dialect, { clock });
    short = await createHarness(dialect, { clock, sessionIdleMinutes: 10 });
  });
  afterAll(async () => {
    await short?.close();
    await h?.close();
  });
  beforeEach(() => {
    offsetMs = 0;
  });

  const sessionAt = async (
    harness: Harness,
    actor: { headers: Record<string, string> },
    at: number,
  ) => {
    offsetMs = at;
    return harness.send('GET', '/v1/session', actor.headers);
  };
  const lastSeen = async (harness: Harness, userId: string) =>
    (
      await harness.database.db
        .selectFrom('sessions')
        .select('last_seen_at')
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow()
    ).last_seen_at;

  it('ends a session unused for 30 minutes; using it keeps it alive', async () => {
    const { admin } = await h.tenant();
    expectStatus(await sessionAt(h, admin, 29 * MINUTE), 200);
    expectStatus(await sessionAt(h, admin, 58 * MINUTE), 200);
    expectProblem(await sessionAt(h, admin, 89 * MINUTE), 401);
  });

  it('ends a session 12 hours after sign-in however busy it is', async () => {
    const { viewer } = await h.tenant();
    for (let at = 20 * MINUTE; at < 12 * 60 * MINUTE; at += 20 * MINUTE)
      expectStatus(await sessionAt(h, viewer, at), 200);
    expectProblem(await sessionAt(h, viewer, 12 * 60 * MINUTE), 401);
  });

  it('records use at most once a minute', async () => {
    const { admin } = await h.tenant();
    const start = Date.now();
    await sessionAt(h, admin, 2 * MINUTE);
    const touched = await lastSeen(h, admin.userId);
    expect(new Date(touched).getTime()).toBeGreaterThanOrEqual(start + 2 * MINUTE);
    await sessionAt(h, admin, 2 * MINUTE + 30_000);
    expect(await lastSeen(h, admin.userId)).toBe(touched);
    await sessionAt(h, admin, 3 * MINUTE + 1_000);
    expect(new Date(await lastSeen(h, admin.userId)).getTime()).toBeGreaterThan(
      new Date(touched).getTime(),
    );
  });

  it('takes the idle timeout from the configuration', async () => {
    const { admin } = await short.tenant();
    expectStatus(await sessionAt(short, admin, 9 * MINUTE), 200);
    expectProblem(await sessionAt(short, admin, 20 * MINUTE), 401);
  });
});
