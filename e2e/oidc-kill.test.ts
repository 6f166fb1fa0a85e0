import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { openIssuer, PUBLIC_URL } from './oidc-kill/oidc-world.ts';
import { ROOT } from './server-process.ts';

/**
 * The issuer killed with SIGKILL while it rotates its key as fast as it can: whatever it was doing,
 * the keys it leaves are whole (each with its sealed private key and its audit entry, generations
 * without a gap), exactly one signs, the JWKS publishes it, its tokens verify, and rotation goes on.
 */
describe('the issuer killed in the middle of rotations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-oidc-kill-'));
  const path = join(dir, 'onramp.db');
  const keyringFile = join(dir, 'master-keys.json');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves one signing key, a consistent JWKS, every key audited, and rotates on', async () => {
    // The first key, made before the child starts (it is made on first use, not rotated).
    const first = await openIssuer(path, keyringFile);
    await first.oidc.jwksDocument();
    await first.database.close();

    for (const rotationsBeforeKill of [3, 8]) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'e2e/oidc-kill/oidc-kill-child.ts'],
        {
          cwd: ROOT,
          env: { ...process.env, OIDC_KILL_DB: path, OIDC_KILL_KEYRING: keyringFile },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        // Kill it mid-stream: the next rotation is already under way.
        if (output.includes(`rotated ${rotationsBeforeKill}\n`)) child.kill('SIGKILL');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once('exit', (c, s) => resolve([c, s])),
      );
      expect(signal, `exit code ${code}\n${output}`).toBe('SIGKILL');
    }

    const { database, oidc } = await openIssuer(path, keyringFile);
    try {
      const db = database.db;
      const keys = await db
        .selectFrom('oidc_signing_keys')
        .selectAll()
        .orderBy('generation')
        .execute();
      expect(keys.length).toBeGreaterThanOrEqual(1 + 3 + 8);
      expect(keys.map((k) => Number(k.generation))).toEqual(keys.map((_k, i) => i + 1));
      // Every rotated key (all but the first) has its audit entry, and no entry lacks its key.
      const audited = await db
        .selectFrom('audit_log')
        .select('target_id')
        .where('action', '=', 'oidc.key_rotated')
        .execute();
      expect(audited.map((a) => a.target_id).sort()).toEqual(
        keys
          .slice(1)
          .map((k) => k.kid)
          .sort(),
      );

      const states = await oidc.keys();
      expect(states.filter((k) => k.state === 'signing')).toHaveLength(1);
      const sealed = await db
        .selectFrom('secrets')
        .select('owner_id')
        .where('field', '=', 'oidc_private_key')
        .execute();
      const published = states.filter((k) => k.published).map((k) => k.kid);
      for (const kid of published) expect(sealed.map((s) => s.owner_id)).toContain(kid);
      const jwks = await oidc.jwksDocument();
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual([...published].sort());

      const token = await oidc.mint({
        subject: 'tenant:t:connection:c',
        audience: 'sts.amazonaws.com',
      });
      const signing = states.find((k) => k.state === 'signing');
      expect(decodeProtectedHeader(token).kid).toBe(signing?.kid);
      await jwtVerify(token, createLocalJWKSet(jwks as never), {
        issuer: `${PUBLIC_URL}/oidc`,
        audience: 'sts.amazonaws.com',
      });
      const next = await oidc.rotate({ immediate: true }, { actorType: 'system', actorId: null });
      expect(next.generation).toBe(keys.length + 1);
    } finally {
      await database.close();
    }
  }, 120_000);
});
