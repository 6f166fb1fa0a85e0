import type { ApiToken } from '@onramp/sdk';
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { EXIT_USAGE, UserError } from '../errors.ts';
import { parseChoice, parseList, parseWholeNumber } from './flags.ts';
import { describeAge, type Output } from './output.ts';
import { addRemoteOptions, openRemote, type RemoteOptions } from './remote.ts';

const SCOPES = ['accounts:read', 'accounts:write', 'credentials:vend', 'admin'] as const;

const TOKEN_FLAGS: Readonly<Record<string, string>> = {
  id: '<token>',
  name: '--name',
  scopes: '--scopes',
  expiresInDays: '--expires-in-days',
  limit: '--limit',
  cursor: '--cursor',
};

/** `onramp tokens list|create|revoke`: API tokens for automation. */
export function addTokensCommand(program: Command, io: CliIo): Command {
  const tokens = program
    .command('tokens')
    .summary('API tokens for scripts and services (create, list, revoke)');

  addRemoteOptions(
    tokens
      .command('list')
      .summary('list tokens, revoked and expired ones too (never their secrets)')
      .option('--limit <n>', 'tokens per page (1 to 200; default 50)')
      .option('--cursor <cursor>', 'the page after this one (the previous page’s next)'),
  ).action(async (flags: RemoteOptions & { limit?: string; cursor?: string }) =>
    runList(io, flags),
  );

  addRemoteOptions(
    tokens
      .command('create')
      .summary('create a token; its secret is printed once, to stdout')
      .option('--name <name>', 'what the token is for')
      .option('--scopes <scopes>', `separated by commas: ${SCOPES.join(', ')}`)
      .option('--expires-in-days <days>', 'days until it expires (1 to 3650; default: never)')
      .addHelpText(
        'after',
        `
The secret goes to stdout alone (everything else to stderr), so it can be captured:
  $ ONRAMP_TOKEN=$(onramp tokens create --name ci --scopes accounts:read)
With --json, stdout is the API's answer: {"token": {…}, "secret": "onr_…"}.`,
      ),
  ).action(
    async (flags: RemoteOptions & { name?: string; scopes?: string; expiresInDays?: string }) =>
      runCreate(io, flags),
  );

  addRemoteOptions(tokens.command('revoke').summary('revoke a token at once'))
    .argument('<token>', 'the token’s id (tok_…)')
    .action(async (id: string, flags: RemoteOptions) => runRevoke(io, id, flags));

  return tokens;
}

async function runList(
  io: CliIo,
  flags: RemoteOptions & { limit?: string; cursor?: string },
): Promise<void> {
  const query = {
    ...(flags.limit ? { limit: parseWholeNumber(flags.limit, '--limit', 1, 200) } : {}),
    ...(flags.cursor ? { cursor: flags.cursor } : {}),
  };
  const remote = await openRemote(flags, io);
  const page = await remote.call((client) => client.tokens.list(query), TOKEN_FLAGS);
  if (remote.json) return remote.output.document(page);
  printTokens(remote.output, page.tokens, io.now());
  if (page.next) remote.output.note(`More tokens follow: --cursor ${page.next}.`);
}

/** Live, revoked or expired: what a person checks first. */
function describeState(token: ApiToken, now: Date): string {
  if (token.revokedAt) return 'revoked';
  if (token.expiresAt && Date.parse(token.expiresAt) <= now.getTime()) return 'expired';
  return 'live';
}

function printTokens(output: Output, tokens: readonly ApiToken[], now: Date): void {
  output.table(
    [
      { header: 'ID', value: (t: ApiToken) => t.id, fixed: true },
      { header: 'NAME', value: (t) => t.name, flexible: true },
      { header: 'PREFIX', value: (t) => t.prefix },
      { header: 'SCOPES', value: (t) => t.scopes.join(',') },
      { header: 'STATE', value: (t) => describeState(t, now) },
      { header: 'MADE BY', value: (t) => t.parentTokenId ?? 'console' },
      { header: 'EXPIRES', value: (t) => (t.expiresAt ? describeAge(t.expiresAt, now) : 'never') },
      { header: 'LAST USED', value: (t) => describeAge(t.lastUsedAt, now) },
    ],
    tokens,
  );
}

async function runCreate(
  io: CliIo,
  flags: RemoteOptions & { name?: string; scopes?: string; expiresInDays?: string },
): Promise<void> {
  const missing = [!flags.name && '--name', !flags.scopes && '--scopes'].filter(Boolean);
  if (missing.length > 0)
    throw new UserError(
      [`${missing.join(', ')}: a token needs a name and its scopes (${SCOPES.join(', ')}).`],
      EXIT_USAGE,
    );
  const scopes = parseList(flags.scopes ?? '', '--scopes').map((scope) =>
    parseChoice(scope, '--scopes', SCOPES),
  );
  const input = {
    name: flags.name ?? '',
    scopes,
    ...(flags.expiresInDays
      ? { expiresInDays: parseWholeNumber(flags.expiresInDays, '--expires-in-days', 1, 3650) }
      : {}),
  };
  const remote = await openRemote(flags, io);
  const created = await remote.call((client) => client.tokens.create(input), TOKEN_FLAGS);
  if (remote.json) return remote.output.document(created);
  // The secret alone on stdout, so $(onramp tokens create …) captures it; the rest is for the person.
  io.stdout.write(`${created.secret}\n`);
  const token = created.token;
  remote.output.note(
    `Created token "${token.name}" (${token.id}) with ${token.scopes.join(', ')}${token.expiresAt ? `, expiring ${token.expiresAt}` : ''}${token.tenantId ? ` for tenant ${token.tenantId}` : ''}.\nIts secret is shown this once: store it now (onramp login --token-stdin takes it).`,
  );
}

async function runRevoke(io: CliIo, id: string, flags: RemoteOptions): Promise<void> {
  const remote = await openRemote(flags, io);
  await remote.call((client) => client.tokens.revoke(id), TOKEN_FLAGS);
  if (remote.json) return remote.output.document({ id, revoked: true });
  remote.output.note(`Revoked ${id}: it is refused from now on.`);
}
