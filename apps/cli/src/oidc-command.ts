import type { Command } from 'commander';
import type { CliIo } from './cli-io.ts';
import { UserError } from './errors.ts';

interface OidcRotateFlags {
  immediate?: boolean;
}

/**
 * `onramp oidc rotate [--immediate]`: a new signing key for Onramp's OpenID Connect issuer, run on a
 * machine with the server's configuration (DATABASE_URL, ONRAMP_DATA_DIR, ONRAMP_MASTER_KEY_FILE,
 * ONRAMP_PUBLIC_URL, ONRAMP_OIDC_*), as `onramp keys` is. The server's code is loaded only for it.
 */
export function addOidcCommand(program: Command, io: CliIo): void {
  const oidc = program
    .command('oidc')
    .summary('manage the signing keys of the OpenID Connect issuer behind keyless roles')
    .description(
      'Onramp signs the tokens of keyless roles (oidc_role) with keys kept in its database and published ' +
        'in its JWKS. Uses the server configuration from the environment; the service needs no restart.',
    );
  oidc
    .command('rotate')
    .summary('make a new signing key: published now, signing after the pre-publication period')
    .option(
      '--immediate',
      'sign with the new key at once (a key that leaked); the old key stays published until its tokens expire',
    )
    .action(async (flags: OidcRotateFlags) => {
      const { runOidcRotateCommand } = await import('@onramp/server/commands/oidc');
      let code: number;
      try {
        code = await runOidcRotateCommand((line) => io.stdout.write(`${line}\n`), {
          immediate: Boolean(flags.immediate),
        });
      } catch (error) {
        throw new UserError([error instanceof Error ? error.message : String(error)], 1);
      }
      if (code !== 0) throw new UserError(['oidc rotate made no key (the reason is above)'], 1);
    });
}
