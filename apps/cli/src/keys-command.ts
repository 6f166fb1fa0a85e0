import type { Command } from 'commander';
import type { CliIo } from './cli-io.ts';
import { EXIT_USAGE, UserError } from './errors.ts';
import { parseIntegerFlag } from './options.ts';

interface KeysFlags {
  lockTimeout?: string;
}

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
        'wrapped by a master key). Uses the server configuration from the environment. One keys command ' +
        'runs at a time: others wait for it (see --lock-timeout).',
    );
  const lockTimeout = 'seconds to wait while another keys command runs, then give up (default 60)';
  keys
    .command('rotate')
    .summary('add a new master key and re-wrap every secret under it, while the service runs')
    .option('--lock-timeout <seconds>', lockTimeout)
    .action(async (flags: KeysFlags) => run(io, 'rotate', flags));
  keys
    .command('retire')
    .summary(
      'remove master keys that no stored secret uses and that a newer key replaced over 10 minutes ago',
    )
    .option('--lock-timeout <seconds>', lockTimeout)
    .action(async (flags: KeysFlags) => run(io, 'retire', flags));
}

async function run(io: CliIo, action: 'rotate' | 'retire', flags: KeysFlags): Promise<void> {
  const seconds = parseIntegerFlag(flags.lockTimeout, 'lockTimeout', 'a number of seconds', 0);
  if (!seconds.ok) throw new UserError([`--lock-timeout: ${seconds.issue.message}`], EXIT_USAGE);
  const { runKeysCommand } = await import('@onramp/server/commands/keys');
  let code: number;
  try {
    code = await runKeysCommand(action, (line) => io.stdout.write(`${line}\n`), {
      ...(seconds.value === undefined ? {} : { lockTimeoutMs: seconds.value * 1000 }),
    });
  } catch (error) {
    throw new UserError([error instanceof Error ? error.message : String(error)], 1);
  }
  if (code !== 0) throw new UserError([`keys ${action} finished with failures (listed above)`], 1);
}
