import type { Command } from 'commander';
import type { CliIo } from './cli-io.ts';
import { UserError } from './errors.ts';

/**
 * `onramp keys rotate|retire`: run on a machine with the server's configuration (the same environment
 * variables: DATABASE_URL, ONRAMP_DATA_DIR, ONRAMP_MASTER_KEY_FILE). The server's code is loaded only
 * for these commands, so the template commands need no database driver.
 */
export function addKeysCommand(program: Command, io: CliIo): void {
  const keys = program
    .command('keys')
    .summary('rotate the master key that wraps every stored secret')
    .description(
      'Manage the keyring that seals stored secrets (envelope encryption: each secret has its own data key, ' +
        'wrapped by a master key). Uses the server configuration from the environment.',
    );
  keys
    .command('rotate')
    .summary('add a new master key and re-wrap every secret under it, while the service runs')
    .action(async () => run(io, 'rotate'));
  keys
    .command('retire')
    .summary('remove master keys that no stored secret uses any more')
    .action(async () => run(io, 'retire'));
}

async function run(io: CliIo, action: 'rotate' | 'retire'): Promise<void> {
  const { runKeysCommand } = await import('@onramp/server/commands/keys');
  let code: number;
  try {
    code = await runKeysCommand(action, (line) => io.stdout.write(`${line}\n`));
  } catch (error) {
    throw new UserError([error instanceof Error ? error.message : String(error)], 1);
  }
  if (code !== 0) throw new UserError([`keys ${action} finished with failures (listed above)`], 1);
}
