import { createClient, type OnrampClient } from '@onramp/sdk';
import { type Command, Option } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import type { CliIo } from '../cli-io.ts';
import { createOutput, type Output, printable } from './output.ts';
import { cutServerText, type ProblemContext, toRemoteError } from './problems.ts';
import { resolveTarget, type Target, type TargetFlags } from './target.ts';

/** The options every command that talks to Onramp takes (commander's parsed values). */
export interface RemoteOptions extends TargetFlags {
  json?: boolean | undefined;
}

/** A command's connection to Onramp: the typed client, where it goes, and how to print. */
export interface Remote {
  client: OnrampClient;
  /** Onramp's base URL. */
  url: string;
  target: Target;
  /** True with --json. */
  json: boolean;
  output: Output;
  /**
   * Runs requests, turning an API problem into a UserError: `flagOfField` maps the API's fields to
   * the flags (or arguments) they came from, so the message names what to change.
   */
  call<T>(
    request: (client: OnrampClient) => Promise<T>,
    flagOfField?: Readonly<Record<string, string>>,
  ): Promise<T>;
  /** The problem context, for a caller that catches an ApiProblem itself. */
  context(flagOfField?: Readonly<Record<string, string>>): ProblemContext;
}

/**
 * How long one request may take. A check or a validation calls AWS (IAM's eventual consistency can
 * make that tens of seconds), so it is generous; it only stops a hung connection waiting forever.
 */
const REQUEST_TIMEOUT_MS = 120_000;

/** Adds --profile, --url, --tenant and --json to a command that talks to Onramp. */
export function addRemoteOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--profile <name>', 'the login profile to use (default: the current one)'),
    )
    .addOption(new Option('--url <url>', "Onramp's URL (default: the profile's, or $ONRAMP_URL)"))
    .addOption(
      new Option('--tenant <id>', 'the tenant an operator acts on (sent as Onramp-Tenant)'),
    )
    .addOption(new Option('--json', "print the API's JSON instead of a table"));
}

/** Resolves the target (flags > environment > profile) and opens a client to it. */
export async function openRemote(options: RemoteOptions, io: CliIo): Promise<Remote> {
  const target = await resolveTarget(options, io);
  return createRemote(target, options.json === true, io);
}

/** A Remote for a target already resolved (login checks a token before it is saved). */
export function createRemote(target: Target, json: boolean, io: CliIo): Remote {
  const client = createClient({
    baseUrl: target.url,
    token: target.token,
    tenant: () => target.tenant,
    fetch: cliFetch,
  });
  const context = (flagOfField?: Readonly<Record<string, string>>): ProblemContext => ({
    url: target.url,
    token: target.token,
    ...(flagOfField ? { flagOfField } : {}),
  });
  return {
    client,
    url: target.url,
    target,
    json,
    output: createOutput(io, { json }),
    context,
    call: async (request, flagOfField) => {
      try {
        return await request(client);
      } catch (error) {
        throw toRemoteError(error, context(flagOfField));
      }
    },
  };
}

/**
 * fetch with a time limit, the CLI's user agent, and a network failure that says why: undici's
 * "fetch failed" hides the reason (ECONNREFUSED, ENOTFOUND, a certificate) in its cause.
 */
async function cliFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('user-agent', `onramp-cli/${packageJson.version}`);
  let response: Response;
  try {
    response = await fetch(input, {
      ...init,
      headers,
      // Never follow a redirect: it would carry the token to wherever the server points. 'manual'
      // rather than 'error', so the message can say where it pointed.
      redirect: 'manual',
      signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new Error(describeNetworkError(error));
  }
  if (isRedirect(response.status)) {
    await response.body?.cancel();
    throw new Error(describeRedirect(response));
  }
  return response;
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400 && status !== 304;
}

/**
 * A redirect, said so the person can fix the URL: Onramp never redirects its API, so the URL names
 * something else (http that a proxy moves to https, a path the proxy rewrites, or a hostile server).
 */
function describeRedirect(response: Response): string {
  const location = response.headers.get('location');
  const target = location ? cutServerText(printable(location)) : 'nowhere it names';
  return `it answered ${response.status}, redirecting to ${target}; the CLI follows no redirect, so the token was not sent there. If that is Onramp, give its URL with --url (or onramp login --url)`;
}

function describeNetworkError(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError')
    return `no answer in ${REQUEST_TIMEOUT_MS / 1000} seconds`;
  const cause =
    error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (cause?.code && cause.message) return `${cause.code}: ${cause.message}`;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
