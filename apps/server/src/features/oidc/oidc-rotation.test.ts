import { Writable } from 'node:stream';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_REDACT } from '../../http/logging.ts';
import { createOidcRotation } from '../../jobs/oidc-rotation.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { OIDC_PRIVATE_KEY_FIELD, privateKeyBinding } from './oidc-repository.ts';

const ISSUER = 'https://onramp.example.test/oidc';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ROTATION = 10 * HOUR;
const PRE_PUBLICATION = 2 * HOUR;
const LIFETIME = 5 * MINUTE;
/** A retired key leaves the JWKS this long after it stopped signing: token lifetime + clock skew. */
const GRACE = LIFETIME + 5 * MINUTE;

interface KeyView {
  kid: string;
  generation: number;
  state: string;
  published: boolean;
  signsFrom: string;
  retiredAt: string | null;
  unpublishAt: string | null;
}

describe.each(TEST_DIALECTS)('rotating the issuer’s keys on %s', (dialect) => {
  let h: Harness;
  let operator: Actor;
  let tenant: TestTenant;
  let now = Date.parse('2026-12-01T00:00:00.000Z');
  const logLines: string[] = [];

  beforeAll(async () => {
    h = await createHarness(dialect, {
      publicUrl: 'https://onramp.example.test',
      clock: () => new Date(now),
      oidc: {
        algorithm: 'ES256',
        rotationMs: ROTATION,
        prePublicationMs: PRE_PUBLICATION,
        tokenLifetimeMs: LIFETIME,
      },
      logger: {
        level: 'trace',
        redact: LOG_REDACT,
        stream: new Writable({
          write(chunk, _encoding, done) {
            logLines.push(String(chunk));
            done();
          },
        }),
      },
    });
    tenant = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  const served = async (): Promise<JSONWebKeySet> => {
    const response = await h.anonymous.request('GET', '/oidc/jwks.json');
    expectStatus(response, 200);
    return response.body;
  };
  const publishedKids = async () => (await served()).keys.map((k) => k.kid).sort();
  const mint = () =>
    h.services.webIdentity.mint({
      subject: h.services.webIdentity.subjectFor(tenant.id, 'con_rotation'),
      audience: 'sts.amazonaws.com',
    });
  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  /** Whether AWS, fetching the JWKS now, would accept the token now. */
  const verifies = async (token: string) => {
    try {
      await jwtVerify(token, createLocalJWKSet(await served()), {
        issuer: ISSUER,
        audience: 'sts.amazonaws.com',
        currentDate: new Date(now),
      });
      return true;
    } catch {
      return false;
    }
  };
  /**
   * An operator signed in now: the tests move the clock by hours, past any session's idle limit, so
   * each step signs in again.
   */
  const signedIn = async () => {
    operator = await h.operator();
    return operator;
  };
  const keys = async (): Promise<KeyView[]> => {
    const response = await (await signedIn()).request('GET', '/v1/oidc');
    expectStatus(response, 200);
    return response.body.keys;
  };
  const secretRows = () =>
    h.deps.db
      .selectFrom('secrets')
      .selectAll()
      .where('field', '=', OIDC_PRIVATE_KEY_FIELD)
      .execute();

  it('publishes the next key before it signs, and keeps the old one until its tokens expire', async () => {
    const job = createOidcRotation(h.services);
    expect(await job.runOnce()).toEqual({ created: null });
    const [first] = await keys();
    expect(first).toMatchObject({ generation: 1, state: 'signing', published: true });
    expect(first?.signsFrom).toBe(new Date(now).toISOString());

    // Not yet due: rotation − pre-publication after the key began signing.
    now += ROTATION - PRE_PUBLICATION - 1;
    expect(await job.runOnce()).toEqual({ created: null });
    now += 1;
    const { created } = await job.runOnce();
    expect(created).toEqual(expect.any(String));
    // A second pass (or another replica) makes no second key while one waits.
    expect(await job.runOnce()).toEqual({ created: null });
    const [next, current] = await keys();
    expect(next).toMatchObject({ kid: created, generation: 2, state: 'next', published: true });
    expect(next?.signsFrom).toBe(new Date(now + PRE_PUBLICATION).toISOString());
    expect(current).toMatchObject({ kid: first?.kid, state: 'signing' });
    expect(await publishedKids()).toEqual([first?.kid, created].sort());

    // Until the new key's time, the old one signs.
    now += PRE_PUBLICATION - 1;
    const lastOfOld = await mint();
    expect(kidOf(lastOfOld)).toBe(first?.kid);
    now += 1;
    const firstOfNew = await mint();
    expect(kidOf(firstOfNew)).toBe(created);
    const [, retired] = await keys();
    expect(retired).toMatchObject({
      kid: first?.kid,
      state: 'retired',
      retiredAt: new Date(now).toISOString(),
      unpublishAt: new Date(now + GRACE).toISOString(),
      published: true,
    });
    // The old key's last token (minted a millisecond before the switch: its iat is the second
    // before) is still accepted while it lives.
    now += LIFETIME - 1500;
    expect(await verifies(lastOfOld)).toBe(true);
    expect(await publishedKids()).toEqual([first?.kid, created].sort());

    // Past its unpublish time the old key is gone from the JWKS, and so is its private key.
    now += GRACE - LIFETIME + 1501;
    expect(await publishedKids()).toEqual([created]);
    expect((await keys()).find((k) => k.kid === first?.kid)).toMatchObject({
      published: false,
      state: 'retired',
    });
    expect((await secretRows()).map((r) => r.owner_id)).toEqual([created]);
    expect(await verifies(await mint())).toBe(true);
  });

  it('rotates at once for a leaked key; the replaced key stays published until its tokens expire', async () => {
    const before = await mint();
    const response = await (await signedIn()).request('POST', '/v1/oidc/keys/rotate', {
      immediate: true,
    });
    expectStatus(response, 201);
    expect(response.body).toMatchObject({
      state: 'signing',
      signsFrom: new Date(now).toISOString(),
      published: true,
    });
    const after = await mint();
    expect(kidOf(after)).toBe(response.body.kid);
    expect(kidOf(before)).not.toBe(response.body.kid);
    expect(await verifies(before)).toBe(true);
    expect(await verifies(after)).toBe(true);
    const replaced = (await keys()).find((k) => k.kid === kidOf(before));
    expect(replaced).toMatchObject({
      state: 'retired',
      retiredAt: new Date(now).toISOString(),
      unpublishAt: new Date(now + GRACE).toISOString(),
    });
    const audit = await (await signedIn()).request(
      'GET',
      `/v1/audit?targetId=${response.body.kid}`,
    );
    expectStatus(audit, 200);
    expect(audit.body.entries).toContainEqual(
      expect.objectContaining({
        action: 'oidc.key_rotated',
        targetId: response.body.kid,
        actorId: expect.any(String),
      }),
    );
    now += GRACE + 1;
    expect(await publishedKids()).toEqual([response.body.kid]);
  });

  it('makes a waiting key once: a second rotation while it waits is a 409', async () => {
    const first = await (await signedIn()).request('POST', '/v1/oidc/keys/rotate', {});
    expectStatus(first, 201);
    expect(first.body).toMatchObject({ state: 'next' });
    expect(first.body.signsFrom).toBe(new Date(now + PRE_PUBLICATION).toISOString());
    const second = await (await signedIn()).request('POST', '/v1/oidc/keys/rotate', {});
    expectProblem(second, 409, 'immediate');
    expect(second.body.detail).toContain(first.body.kid);
    // An immediate rotation still replaces the signing key, and the waiting key will never sign.
    const immediate = await (await signedIn()).request('POST', '/v1/oidc/keys/rotate', {
      immediate: true,
    });
    expectStatus(immediate, 201);
    now += PRE_PUBLICATION;
    expect(kidOf(await mint())).toBe(immediate.body.kid);
    expect((await keys()).find((k) => k.kid === first.body.kid)?.state).toBe('retired');
  });

  it('makes exactly one key of 100 concurrent rotations, and one each or a 409 when immediate', async () => {
    now += GRACE + 1;
    const before = (await keys()).length;
    const one = await signedIn();
    const waiting = await Promise.all(
      Array.from({ length: 100 }, () => one.request('POST', '/v1/oidc/keys/rotate', {})),
    );
    expect(waiting.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of waiting.filter((r) => r.status !== 201)) expectProblem(r, 409);
    expect(await keys()).toHaveLength(before + 1);

    const immediate = await Promise.all(
      Array.from({ length: 100 }, () =>
        one.request('POST', '/v1/oidc/keys/rotate', { immediate: true }),
      ),
    );
    const made = immediate.filter((r) => r.status === 201);
    for (const r of immediate.filter((r) => r.status !== 201)) expectProblem(r, 409);
    expect(made.length).toBeGreaterThanOrEqual(1);
    const all = await keys();
    expect(all).toHaveLength(before + 1 + made.length);
    const generations = all.map((k) => k.generation);
    expect(new Set(generations).size).toBe(generations.length);
    // Exactly one key signs, the newest, and tokens verify.
    expect(all.filter((k) => k.state === 'signing')).toEqual([all[0]]);
    expect(kidOf(await mint())).toBe(all[0]?.kid);
  });

  it('refuses tenants, tokens and strangers', async () => {
    tenant = await h.tenant();
    const operatorToken = await h.operatorToken(['admin']);
    const tenantToken = await tenant.token(['admin', 'accounts:read', 'accounts:write']);
    expectProblem(await h.anonymous.request('GET', '/v1/oidc'), 401);
    expectProblem(await h.anonymous.request('POST', '/v1/oidc/keys/rotate', {}), 401);
    for (const actor of [tenant.admin, tenant.viewer, tenantToken]) {
      expectProblem(await actor.request('GET', '/v1/oidc'), 403);
      expectProblem(await actor.request('POST', '/v1/oidc/keys/rotate', { immediate: true }), 403);
    }
    // An operator token may look but not rotate: a person decides a new key.
    expectStatus(await operatorToken.request('GET', '/v1/oidc'), 200);
    expectProblem(
      await operatorToken.request('POST', '/v1/oidc/keys/rotate', { immediate: true }),
      403,
    );
    expectProblem(
      await (await signedIn()).request('POST', '/v1/oidc/keys/rotate', { immediate: 'yes' }),
      400,
    );
    expectProblem(
      await (await signedIn()).request('POST', '/v1/oidc/keys/rotate', { kid: 'x' }),
      400,
    );
  });

  it('never shows a private key: not in a response, a log line or the audit log', async () => {
    const texts: string[] = [];
    const rotated = await (await signedIn()).request('POST', '/v1/oidc/keys/rotate', {
      immediate: true,
    });
    texts.push(rotated.text);
    texts.push((await (await signedIn()).request('GET', '/v1/oidc')).text);
    texts.push((await h.anonymous.request('GET', '/oidc/jwks.json')).text);
    texts.push((await h.anonymous.request('GET', '/oidc/.well-known/openid-configuration')).text);
    texts.push((await (await signedIn()).request('GET', '/v1/audit')).text);
    const auditRows = await h.deps.db.selectFrom('audit_log').select('details').execute();
    texts.push(...auditRows.map((r) => r.details));
    texts.push(...logLines);
    const rows = await secretRows();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const jwk = JSON.parse(
        h.deps.envelope.open(
          { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
          privateKeyBinding(row.owner_id),
        ),
      ) as { d: string };
      expect(jwk.d.length).toBeGreaterThan(20);
      for (const text of texts) {
        expect(text).not.toContain(jwk.d);
        expect(text).not.toContain(row.ciphertext);
      }
    }
    expect(logLines.length).toBeGreaterThan(0);
  });
});
