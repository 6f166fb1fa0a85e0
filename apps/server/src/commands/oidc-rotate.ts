import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createEnvelope } from '../adapters/crypto/envelope.ts';
import { openKeyringFile } from '../adapters/crypto/keyring.ts';
import { openDatabase } from '../adapters/db/database.ts';
import { databaseLocation, keyringPath, loadConfig } from '../config.ts';
import { createAuditRepository } from '../features/audit/audit-repository.ts';
import { oidcFromConfig } from '../features/oidc/oidc-from-config.ts';
import { createOidcService } from '../features/oidc/oidc-service.ts';
import { AppError } from '../http/problems.ts';

export interface OidcRotateOptions {
  /** Sign with the new key at once (a key that leaked) instead of after the pre-publication period. */
  immediate?: boolean;
  clock?: () => Date;
  /** The server's configuration (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
}

/**
 * `onramp oidc rotate [--immediate]`, with the server's own configuration (DATABASE_URL or the data
 * directory, the keyring, ONRAMP_PUBLIC_URL and ONRAMP_OIDC_*): for an operator at the server's
 * machine, signed in nowhere, as POST /v1/oidc/keys/rotate is for one signed in. Makes one key (sealed
 * with the keyring the service uses), audits `oidc.key_rotated`, and publishes where the service
 * publishes. Returns the exit code: 1 when no key was made.
 */
export async function runOidcRotateCommand(
  out: (line: string) => void,
  options: OidcRotateOptions = {},
): Promise<number> {
  const config = loadConfig(options.env);
  const { path } = keyringPath(config);
  if (!existsSync(path)) {
    throw new Error(
      `the keyring ${path} does not exist: start Onramp once to create it, or set ONRAMP_MASTER_KEY_FILE to the keyring the service uses`,
    );
  }
  const clock = options.clock ?? (() => new Date());
  const database = openDatabase(databaseLocation(config));
  try {
    const { oidc, oidcPublishers } = oidcFromConfig(config);
    const service = createOidcService({
      db: database.db,
      envelope: createEnvelope(openKeyringFile(path, { createIfMissing: false })),
      clock,
      randomBytes: (n) => new Uint8Array(randomBytes(n)),
      audit: createAuditRepository(database.db, clock),
      ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
      oidc,
      oidcPublishers,
      oidcLog: {
        info: () => {},
        warn: (details, message) =>
          out(`${message}: ${String(details.target)}: ${String(details.error)}`),
      },
    });
    try {
      const key = await service.rotate(
        { immediate: options.immediate },
        { actorType: 'system', actorId: null },
        'onramp oidc rotate',
      );
      if (key.state === 'signing') {
        // The keys this one overtook leave the JWKS once the tokens they signed have expired.
        const replaced = (await service.keys()).filter((k) => k.retiredAt === key.signsFrom);
        const until = replaced
          .map((k) => k.unpublishAt ?? '')
          .sort()
          .at(-1);
        out(
          `made signing key ${key.kid} (generation ${key.generation}); it signs from now.${until ? ` The key(s) it replaced stay in the JWKS until ${until}, when the last token they signed has expired.` : ''}`,
        );
      } else {
        out(
          `made signing key ${key.kid} (generation ${key.generation}); it is published now and signs from ${key.signsFrom}.`,
        );
      }
      for (const target of (await service.status()).publish) {
        out(
          target.lastResult?.ok
            ? `published to ${target.target}`
            : `publishing to ${target.target} failed: ${target.lastResult?.error ?? 'not attempted'}; the service retries within a minute`,
        );
      }
      return 0;
    } catch (error) {
      if (error instanceof AppError) {
        out(error.message);
        const hint = error.errors[0]?.hint;
        if (hint) out(hint);
        return 1;
      }
      throw error;
    }
  } finally {
    await database.close();
  }
}
