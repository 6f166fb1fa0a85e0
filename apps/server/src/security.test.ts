import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LOG_REDACT } from './http/logging.ts';
import { createHarness, expectStatus } from './testing/harness.ts';

/**
 * Secrets never leave: not in a response, not in a log line, not in the audit trail, and not in
 * plaintext anywhere in the database file.
 */
describe('stored secrets', () => {
  it('are nowhere in plaintext: database file, WAL, responses, audit, logs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onramp-secrets-'));
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const h = await createHarness(
      'sqlite',
      { logger: { level: 'trace', stream, redact: LOG_REDACT } },
      { sqlitePath: join(dir, 'onramp.db') },
    );
    const tenant = await h.tenant();
    const secrets: string[] = [];
    const responses: string[] = [];
    for (let i = 0; i < 3; i++) {
      const keys = h.aws.addUser('aws', `12345678901${i}`);
      secrets.push(keys.secretAccessKey);
      const created = await tenant.admin.request('POST', '/v1/accounts', {
        method: 'access_keys',
        name: `keys ${i}`,
        partition: 'aws',
        ...keys,
        bundles: 'default',
      });
      expectStatus(created, 201);
      responses.push(
        created.text,
        (await tenant.admin.request('GET', `/v1/accounts/${created.body.id}`)).text,
      );
      // Rotation too: the new secret is sealed, the old one purged.
      const next = h.aws.addUser('aws', `12345678901${i}`, `rotated-${i}`);
      secrets.push(next.secretAccessKey);
      const rotated = await tenant.admin.request(
        'PUT',
        `/v1/accounts/${created.body.id}/credentials`,
        { method: 'access_keys', ...next },
      );
      expectStatus(rotated, 200);
      responses.push(rotated.text);
    }
    // A failed attempt must not leak the secret it carried either.
    const wrong = {
      accessKeyId: h.aws.addUser('aws', '123456789099').accessKeyId,
      secretAccessKey: 'WRONGwrongWRONGwrongWRONGwrongWRONGwrong',
    };
    secrets.push(wrong.secretAccessKey);
    responses.push(
      (
        await tenant.admin.request('POST', '/v1/accounts', {
          method: 'access_keys',
          name: 'wrong',
          partition: 'aws',
          ...wrong,
        })
      ).text,
    );
    responses.push(
      (
        await tenant.admin.request('POST', '/v1/accounts/validate', {
          method: 'access_keys',
          name: 'wrong',
          partition: 'aws',
          ...wrong,
        })
      ).text,
    );
    responses.push(
      (await tenant.admin.request('GET', '/v1/accounts')).text,
      (await tenant.admin.request('GET', '/v1/audit')).text,
    );

    const audit = await h.database.db.selectFrom('audit_log').selectAll().execute();
    await h.close();
    const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1'));
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      for (const file of files)
        expect(file.includes(secret), 'a secret is in plaintext in the database files').toBe(false);
      for (const text of responses)
        expect(text.includes(secret), `a response carries a secret: ${text}`).toBe(false);
      expect(lines.join('').includes(secret), 'a log line carries a secret').toBe(false);
      expect(JSON.stringify(audit).includes(secret), 'the audit log carries a secret').toBe(false);
    }
    // The test would notice: the secrets were sent, and the database holds their sealed form.
    expect(files.join('').includes('secretAccessKey')).toBe(true);
  });

  it('moved to another row does not open', async () => {
    const h = await createHarness('sqlite');
    const tenant = await h.tenant();
    const ids: string[] = [];
    for (const n of [0, 1]) {
      const keys = h.aws.addUser('aws', `12345678902${n}`);
      const created = await tenant.admin.request('POST', '/v1/accounts', {
        method: 'access_keys',
        name: `moved ${n}`,
        partition: 'aws',
        ...keys,
      });
      expectStatus(created, 201);
      ids.push(created.body.id);
    }
    const [a, b] = await Promise.all(
      ids.map((id) =>
        h.database.db
          .selectFrom('secrets')
          .selectAll()
          .where('owner_id', '=', id)
          .executeTakeFirstOrThrow(),
      ),
    );
    if (!a || !b) throw new Error('both secrets should exist');
    const binding = (row: typeof a) => ({
      tenantId: row.tenant_id ?? '',
      ownerId: row.owner_id,
      field: row.field,
    });
    expect(
      h.deps.envelope.open(
        { keyId: a.key_id, wrappedKey: a.wrapped_key, ciphertext: a.ciphertext },
        binding(a),
      ),
    ).toMatch(/^.{40}$/);
    // Copy account A's sealed secret into account B's row: it must not open as B's.
    expect(() =>
      h.deps.envelope.open(
        { keyId: a.key_id, wrappedKey: a.wrapped_key, ciphertext: a.ciphertext },
        binding(b),
      ),
    ).toThrow(/could not be opened/);
    await h.close();
  });
});
