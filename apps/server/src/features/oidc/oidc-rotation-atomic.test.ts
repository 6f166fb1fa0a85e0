/**
 * A rotation is one transaction: the key, its sealed private key and its `oidc.key_rotated` entry.
 * An audit write that fails stands for the process dying (kill -9) between the key and its entry: the
 * rotation must leave no key behind that the audit log does not account for.
 */

import { describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createHarness, expectStatus } from '../../testing/harness.ts';
import { OIDC_PRIVATE_KEY_FIELD } from './oidc-repository.ts';
import { createOidcService } from './oidc-service.ts';

const PUBLIC_URL = 'https://onramp.example.test';
const HOUR = 3_600_000;

describe.each(TEST_DIALECTS)('a rotation whose audit entry cannot be written on %s', (dialect) => {
  it('leaves no key, published or sealed, and a later rotation is audited once per key', async () => {
    let now = Date.parse('2026-12-01T10:00:00.000Z');
    const clock = () => new Date(now);
    const oidc = { algorithm: 'ES256' as const, rotationMs: 10 * HOUR, prePublicationMs: 2 * HOUR };
    const h = await createHarness(dialect, { publicUrl: PUBLIC_URL, clock, oidc });
    try {
      const dying = createOidcService({
        ...h.deps,
        publicUrl: PUBLIC_URL,
        oidc,
        audit: {
          append: async () => {
            throw new Error('the process died before the audit entry was written');
          },
          appendGrouped: async () => {},
        },
      });
      const db = h.deps.db;
      const counts = async () => ({
        keys: (await db.selectFrom('oidc_signing_keys').select('kid').execute()).length,
        sealed: (
          await db
            .selectFrom('secrets')
            .select('id')
            .where('field', '=', OIDC_PRIVATE_KEY_FIELD)
            .execute()
        ).length,
        audited: (
          await db
            .selectFrom('audit_log')
            .select('seq')
            .where('action', '=', 'oidc.key_rotated')
            .execute()
        ).length,
      });
      // The first key (made on first use, not a rotation) exists before any rotation.
      await dying.jwksDocument();
      expect(await counts()).toEqual({ keys: 1, sealed: 1, audited: 0 });

      const actor = { actorType: 'user' as const, actorId: 'usr_test', requestId: 'req_test' };
      await expect(dying.rotate({ immediate: true }, actor)).rejects.toThrow(/process died/);
      expect(await counts()).toEqual({ keys: 1, sealed: 1, audited: 0 });
      // The schedule's rotation too, once it is due.
      now += 9 * HOUR;
      await expect(dying.runSchedule()).rejects.toThrow(/process died/);
      expect(await counts()).toEqual({ keys: 1, sealed: 1, audited: 0 });
      expect((await dying.jwksDocument()).keys).toHaveLength(1);

      // A rotation that completes: one key, its entry with it.
      const operator = await h.operator();
      expectStatus(
        await operator.request('POST', '/v1/oidc/keys/rotate', { immediate: true }),
        201,
      );
      expect(await counts()).toEqual({ keys: 2, sealed: 2, audited: 1 });
    } finally {
      await h.close();
    }
  });
});
