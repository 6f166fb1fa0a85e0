import { ApiProblem, type ApiToken, listAll, type OnrampClient } from '@onramp/sdk';
import { type Command, Option } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { EXIT_FAILURE, EXIT_USAGE, UserError } from '../errors.ts';
import {
  checkProfileName,
  DEFAULT_PROFILE,
  findConfigPath,
  loadConfig,
  type Profile,
  updateConfig,
} from './config-file.ts';
import { createOutput, printable } from './output.ts';
import { cutServerText, toRemoteError } from './problems.ts';
import { readSecret } from './prompt.ts';
import { createRemote } from './remote.ts';
import { checkTokenText, normaliseUrl } from './target.ts';

interface LoginFlags {
  url?: string;
  profile?: string;
  tenant?: string;
  tokenStdin?: boolean;
  token?: string;
  json?: boolean;
}

/** Who a token is, as far as it may see itself. */
export interface TokenIdentity {
  /** The token's record, when the token may list tokens (`admin`) and is found among them. */
  token: ApiToken | undefined;
  /** What the token showed it may do when it could not list tokens. */
  canReadAccounts: boolean | undefined;
}

/** `onramp login`, `onramp logout` and `onramp profiles`. */
export function addLoginCommands(program: Command, io: CliIo): void {
  program
    .command('login')
    .summary('save an Onramp URL and API token as a profile (checked with the server first)')
    .description(
      'Checks an API token with Onramp, then saves it with the URL as a named profile in the config file ' +
        '($ONRAMP_CONFIG_DIR/config.json, else $XDG_CONFIG_HOME/onramp/config.json, else ' +
        '~/.config/onramp/config.json), readable by you alone (0600). The token is typed at a hidden ' +
        'prompt, or piped with --token-stdin; it is never taken as a flag, which every user of the ' +
        'machine can see. ONRAMP_URL and ONRAMP_TOKEN override the profile for one command.',
    )
    .addOption(new Option('--url <url>', "Onramp's URL (default: the profile's, or $ONRAMP_URL)"))
    .addOption(new Option('--profile <name>', 'the profile to save (default: "default")'))
    .addOption(
      new Option('--tenant <id>', 'for an operator: the tenant this profile acts on by default'),
    )
    .addOption(new Option('--token-stdin', 'read the token from standard input (for scripts)'))
    .addOption(new Option('--token <token>').hideHelp())
    .addOption(new Option('--json', 'print who the token is as JSON'))
    .addHelpText(
      'after',
      `
Examples:
  $ onramp login --url https://onramp.example.com          (asks for the token)
  $ printenv ONRAMP_ADMIN_TOKEN | onramp login --url https://onramp.example.com --token-stdin
  $ onramp login --profile staging --url https://onramp.staging.example.com`,
    )
    .action(async (flags: LoginFlags) => runLogin(io, flags));

  program
    .command('logout')
    .summary('forget a profile and its token (the token itself stays valid until revoked)')
    .addOption(new Option('--profile <name>', 'the profile to forget (default: the current one)'))
    .action(async (flags: { profile?: string }) => runLogout(io, flags));

  const profiles = program
    .command('profiles')
    .summary('list the saved profiles, or choose the current one');
  profiles
    .command('list', { isDefault: true })
    .summary('list the profiles (never their tokens)')
    .addOption(new Option('--json', 'print them as JSON'))
    .action(async (flags: { json?: boolean }) => runProfilesList(io, flags));
  profiles
    .command('use')
    .summary('make a profile the current one')
    .argument('<name>', 'the profile')
    .action(async (name: string) => runProfilesUse(io, name));
}

async function runLogin(io: CliIo, flags: LoginFlags): Promise<void> {
  if (flags.token !== undefined)
    throw new UserError(
      [
        '--token is not taken: a command line is visible to every user of the machine and stays in shell history. Type the token at the prompt, or pipe it with --token-stdin. Consider revoking the token you typed (onramp tokens revoke).',
      ],
      EXIT_USAGE,
    );
  const profileName = checkProfileName(flags.profile ?? io.env.ONRAMP_PROFILE ?? DEFAULT_PROFILE);
  const path = findConfigPath(io.env, io.homeDir);
  const existing = (await loadConfig(path)).config.profiles[profileName];
  const urlText = flags.url ?? io.env.ONRAMP_URL ?? existing?.url;
  if (!urlText)
    throw new UserError(
      ["--url: give Onramp's URL, like onramp login --url https://onramp.example.com."],
      EXIT_USAGE,
    );
  const url = normaliseUrl(urlText, flags.url !== undefined ? '--url' : 'ONRAMP_URL');
  if (!flags.tokenStdin && !io.stdin.isTTY)
    throw new UserError(
      [
        'no terminal to ask for the token: pipe it in with --token-stdin (printenv ONRAMP_ADMIN_TOKEN | onramp login --token-stdin …).',
      ],
      EXIT_USAGE,
    );
  const source = flags.tokenStdin ? '--token-stdin' : 'the token';
  const token = checkTokenText(
    await readSecret(io, `API token for ${url} (onr_…, not shown): `, source),
    source,
  );
  const tenant = flags.tenant?.trim() || undefined;
  const remote = createRemote(
    { url, token, tenant: undefined, profileName },
    flags.json === true,
    io,
  );
  const identity = await identifyToken(remote.client, {
    url,
    token,
  });
  if (tenant) await checkTenant(remote.client, tenant, { url, token });

  const profile: Profile = { url, token, ...(tenant ? { tenant } : {}) };
  await updateConfig(path, (config) => ({
    current: profileName,
    profiles: { ...config.profiles, [profileName]: profile },
  }));

  const output = remote.output;
  if (output.json) {
    output.document({
      profile: profileName,
      url,
      tenant: tenant ?? null,
      configFile: path,
      token: identity.token ?? null,
    });
    return;
  }
  output.line(`Logged in to ${url} as ${describeIdentity(identity)}.`);
  if (tenant) output.line(`Acting on tenant ${tenant}.`);
  output.line(`Saved as profile "${profileName}" (now the current one) in ${path}.`);
}

/**
 * Proves the token with the server and finds out who it is: a token that may list tokens (`admin`)
 * finds itself among them by its prefix; another shows what it may read. 401 means the token is
 * refused, and nothing is saved.
 */
export async function identifyToken(
  client: OnrampClient,
  context: { url: string; token: string },
): Promise<TokenIdentity> {
  try {
    const tokens = await listAll(
      (cursor) => client.tokens.list({ limit: 200, ...(cursor ? { cursor } : {}) }),
      (page) => page.tokens,
      { max: 2000 },
    );
    const mine = tokens.filter(
      (t) => t.revokedAt === null && context.token.startsWith(t.prefix.replace(/…$/, '')),
    );
    return { token: mine.length === 1 ? mine[0] : undefined, canReadAccounts: undefined };
  } catch (error) {
    if (!(error instanceof ApiProblem) || error.status !== 403) throw toRemoteError(error, context);
  }
  // Not an admin token: it is known (a 403, not a 401); see whether it may read accounts.
  try {
    await client.accounts.list({ limit: 1 });
    return { token: undefined, canReadAccounts: true };
  } catch (error) {
    if (error instanceof ApiProblem && (error.status === 403 || error.status === 400))
      return { token: undefined, canReadAccounts: false };
    throw toRemoteError(error, context);
  }
}

/** An operator's default tenant must exist: the server answers for a tenant it does not know. */
async function checkTenant(
  client: OnrampClient,
  tenant: string,
  context: { url: string; token: string },
): Promise<void> {
  try {
    await client.withTenant(tenant).accounts.list({ limit: 1 });
  } catch (error) {
    if (error instanceof ApiProblem && error.status !== 0 && error.status !== 401) {
      throw new UserError(
        [
          `--tenant: Onramp would not act on tenant "${printable(tenant)}" with this token (${error.status}): ${cutServerText(printable(error.detail ?? error.title))} Nothing was saved.`,
        ],
        EXIT_USAGE,
      );
    }
    throw toRemoteError(error, context);
  }
}

/** `token "ci" (tok_…) of tenant ten_…, scopes accounts:read, admin` */
export function describeIdentity(identity: TokenIdentity): string {
  const token = identity.token;
  if (token) {
    const owner = token.tenantId === null ? 'the operator' : `tenant ${token.tenantId}`;
    return printable(
      `token "${token.name}" (${token.id}) of ${owner}, scopes ${token.scopes.join(', ')}${token.expiresAt ? `, expires ${token.expiresAt}` : ''}`,
    );
  }
  return identity.canReadAccounts
    ? 'a token that may read accounts (it may not list tokens, so its name and scopes are not shown)'
    : 'a token accepted by Onramp (it may neither list tokens nor read accounts: a vending token?)';
}

async function runLogout(io: CliIo, flags: { profile?: string }): Promise<void> {
  const path = findConfigPath(io.env, io.homeDir);
  const { config } = await loadConfig(path);
  const name = checkProfileName(flags.profile ?? io.env.ONRAMP_PROFILE ?? config.current);
  if (!Object.hasOwn(config.profiles, name))
    throw new UserError(
      [`--profile: there is no profile "${name}" in ${path}; onramp profiles lists them.`],
      EXIT_USAGE,
    );
  const forgotten = config.profiles[name];
  await updateConfig(path, (current) => {
    const profiles = { ...current.profiles };
    delete profiles[name];
    const remaining = Object.keys(profiles);
    const next = current.current === name ? (remaining[0] ?? DEFAULT_PROFILE) : current.current;
    return { current: next, profiles };
  });
  const output = createOutput(io, { json: false });
  output.line(`Forgot profile "${name}" (${forgotten?.url ?? ''}).`);
  output.note(
    'note: the token itself still works until it expires or is revoked (onramp tokens revoke <id>).',
  );
}

async function runProfilesList(io: CliIo, flags: { json?: boolean }): Promise<void> {
  const path = findConfigPath(io.env, io.homeDir);
  const { config, exposure } = await loadConfig(path);
  const output = createOutput(io, { json: flags.json === true });
  const rows = Object.entries(config.profiles).map(([name, profile]) => ({
    name,
    current: name === config.current,
    url: profile.url,
    tenant: profile.tenant ?? null,
    // The token's first characters, as Onramp's token list shows them, to recognise it.
    token: `${profile.token.slice(0, 8)}…`,
  }));
  if (output.json) {
    output.document({ configFile: path, current: config.current, profiles: rows });
    return;
  }
  if (exposure) output.note(`warning: ${exposure}`);
  if (rows.length === 0) {
    output.note(`No profiles in ${path}: run onramp login --url <Onramp's URL>.`);
    return;
  }
  output.table(
    [
      { header: '', value: (row) => (row.current ? '*' : '') },
      { header: 'PROFILE', value: (row) => row.name },
      { header: 'URL', value: (row) => row.url, flexible: true },
      { header: 'TENANT', value: (row) => row.tenant },
      { header: 'TOKEN', value: (row) => row.token },
    ],
    rows,
  );
}

async function runProfilesUse(io: CliIo, name: string): Promise<void> {
  checkProfileName(name, '<name>');
  const path = findConfigPath(io.env, io.homeDir);
  await updateConfig(path, (config) => {
    if (!Object.hasOwn(config.profiles, name))
      throw new UserError(
        [`<name>: there is no profile "${name}" in ${path}; onramp profiles lists them.`],
        EXIT_FAILURE,
      );
    return { ...config, current: name };
  });
  createOutput(io, { json: false }).line(`Profile "${name}" is now the current one.`);
}
