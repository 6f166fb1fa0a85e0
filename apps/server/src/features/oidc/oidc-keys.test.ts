import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope } from '../../adapters/crypto/envelope.ts';
import { openKeyringFile } from '../../adapters/crypto/keyring.ts';
import { buildApp } from '../../app.ts';
import { rewrapAll } from '../../commands/keys-rotate.ts';
import { runOidcRotateCommand } from '../../commands/oidc-rotate.ts';
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../../testing/databases.ts';
import { createHarness, expectStatus } from '../../testing/harness.ts';
import { createServices } from '../../wiring.ts';
import { OIDC_PRIVATE_KEY_FIELD } from './oidc-repository.ts';

const PUBLIC_URL = 'https://onramp.example.test';

describe.each(TEST_DIALECTS)('the issuer’s private keys and the keyring on %s', (dialect) => {
  it('are re-wrapped by `onramp keys rotate`, and still sign afterwards', async () => {
    const h = await createHarness(dialect, { publicUrl: PUBLIC_URL, oidc: { algorithm: 'ES256' } });
    try {
      const mint = (services: typeof h.services) =>
        services.webIdentity.mint({
          subject: 'tenant:t:connection:c',
          audience: 'sts.amazonaws.com',
        });
      const before = await mint(h.services);
      const newKey = h.keyring.add();
      const report = await rewrapAll(h.deps.db, h.keyring, undefined, { dialect });
      expect(report.failed).toEqual([]);
      const rows = await h.deps.db
        .selectFrom('secrets')
        .selectAll()
        .where('field', '=', OIDC_PRIVATE_KEY_FIELD)
        .execute();
      expect(rows.map((r) => r.key_id)).toEqual([newKey.id]);
      // A replica started afterwards (nothing cached) opens the re-wrapped key and signs with it.
      const fresh = createServices({ ...h.deps });
      const after = await mint(fresh);
      expect(decodeProtectedHeader(after).kid).toBe(decodeProtectedHeader(before).kid);
      const app = await buildApp(fresh);
      try {
        const jwks = await app.inject({ method: 'GET', url: '/oidc/jwks.json' });
        await jwtVerify(after, createLocalJWKSet(jwks.json()), {
          issuer: `${PUBLIC_URL}/oidc`,
          audience: 'sts.amazonaws.com',
        });
      } finally {
        await app.close();
      }
    } finally {
      await h.close();
    }
  });
});

describe.each(TEST_DIALECTS)('onramp oidc rotate on %s', (dialect) => {
  let directory: string;
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'onramp-oidc-command-'));
    database = await createTestDatabase(dialect, join(directory, 'onramp.db'));
    const keyringFile = join(directory, 'master-keys.json');
    openKeyringFile(keyringFile, { createIfMissing: true });
    env = {
      DATABASE_URL:
        database.location.kind === 'postgres'
          ? database.location.url
          : `sqlite:${database.location.path}`,
      ONRAMP_MASTER_KEY_FILE: keyringFile,
      ONRAMP_DATA_DIR: directory,
      ONRAMP_PUBLIC_URL: PUBLIC_URL,
      ONRAMP_OIDC_KEY_ALGORITHM: 'ES256',
      ONRAMP_OIDC_PUBLISH_DIR: join(directory, 'published'),
    };
  });
  afterAll(async () => {
    await database?.drop();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  const run = async (immediate: boolean) => {
    const lines: string[] = [];
    const code = await runOidcRotateCommand((line) => lines.push(line), { env, immediate });
    return { code, lines };
  };

  it('makes a waiting key, refuses a second, replaces the signing key with --immediate; audited and published', async () => {
    const waiting = await run(false);
    expect(waiting.code).toBe(0);
    expect(waiting.lines[0]).toMatch(
      /^made signing key \S+ \(generation 2\); it is published now and signs from /,
    );
    expect(waiting.lines).toContain(`published to dir:${join(directory, 'published')}`);

    const again = await run(false);
    expect(again.code).toBe(1);
    expect(again.lines[0]).toMatch(/is already waiting to sign from/);
    expect(again.lines[1]).toContain('onramp oidc rotate --immediate');

    const immediate = await run(true);
    expect(immediate.code).toBe(0);
    expect(immediate.lines[0]).toMatch(/^made signing key \S+ \(generation 3\); it signs from now/);
    const kid = /made signing key (\S+)/.exec(immediate.lines[0] ?? '')?.[1];
    const jwks = JSON.parse(await readFile(join(directory, 'published', 'jwks.json'), 'utf8'));
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toContain(kid);

    const audit = await database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'oidc.key_rotated')
      .orderBy('seq')
      .execute();
    expect(audit).toHaveLength(2);
    expect(audit[1]).toMatchObject({ actor_type: 'system', target_id: kid });
    expect(JSON.parse(audit[1]?.details ?? '{}')).toMatchObject({
      immediate: true,
      via: 'onramp oidc rotate',
    });

    // The running service (same database and keyring) signs with the command's key.
    const h = await createHarness(
      dialect,
      {
        publicUrl: PUBLIC_URL,
        envelope: createEnvelope(openKeyringFile(env.ONRAMP_MASTER_KEY_FILE as string)),
      },
      { database },
    );
    try {
      const token = await h.services.webIdentity.mint({
        subject: 's',
        audience: 'sts.amazonaws.com',
      });
      expect(decodeProtectedHeader(token).kid).toBe(kid);
      expectStatus(await h.anonymous.request('GET', '/oidc/jwks.json'), 200);
    } finally {
      await h.close();
    }
  });

  it('says why when keyless roles are off', async () => {
    const lines: string[] = [];
    const code = await runOidcRotateCommand((line) => lines.push(line), {
      env: { ...env, ONRAMP_PUBLIC_URL: 'http://localhost:8080' },
    });
    expect(code).toBe(1);
    expect(lines[0]).toMatch(
      /^Keyless roles are off, so there is no issuer key to rotate: ONRAMP_PUBLIC_URL is http:\/\/localhost:8080/,
    );
  });
});
