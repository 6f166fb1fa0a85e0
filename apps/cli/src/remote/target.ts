import type { CliIo } from '../cli-io.ts';
import { EXIT_FAILURE, EXIT_USAGE, UserError } from '../errors.ts';
import { checkProfileName, DEFAULT_PROFILE, findConfigPath, loadConfig } from './config-file.ts';

/** The Onramp a command talks to, and as whom. */
export interface Target {
  /** Onramp's base URL, without a trailing slash. */
  url: string;
  token: string;
  /** The tenant an operator acts on (Onramp-Tenant), if any. */
  tenant: string | undefined;
  /** The profile the URL or token came from; undefined when both came from flags and the environment. */
  profileName: string | undefined;
}

/** The global options every remote command takes. */
export interface TargetFlags {
  profile?: string | undefined;
  url?: string | undefined;
  tenant?: string | undefined;
}

/**
 * Which Onramp, which token and which tenant: flags (--profile, --url, --tenant) over the environment
 * (ONRAMP_URL, ONRAMP_TOKEN, ONRAMP_PROFILE, ONRAMP_TENANT) over the profile in the config file.
 */
export async function resolveTarget(flags: TargetFlags, io: CliIo): Promise<Target> {
  const env = io.env;
  const profileFlag = flags.profile ?? env.ONRAMP_PROFILE;
  if (profileFlag !== undefined)
    checkProfileName(profileFlag, flags.profile !== undefined ? '--profile' : 'ONRAMP_PROFILE');
  const path = findConfigPath(env, io.homeDir);
  const loaded = await loadConfig(path);
  const profileName = profileFlag ?? loaded.config.current ?? DEFAULT_PROFILE;
  const profile = Object.hasOwn(loaded.config.profiles, profileName)
    ? loaded.config.profiles[profileName]
    : undefined;
  if (profileFlag !== undefined && !profile && !(env.ONRAMP_URL && env.ONRAMP_TOKEN))
    throw new UserError(
      [
        `${flags.profile !== undefined ? '--profile' : 'ONRAMP_PROFILE'}: there is no profile "${profileName}" in ${path}; run onramp login --profile ${profileName}, or onramp profiles to list them.`,
      ],
      EXIT_USAGE,
    );

  const urlText = flags.url ?? env.ONRAMP_URL ?? profile?.url;
  const envToken = env.ONRAMP_TOKEN || undefined;
  const token = envToken ?? profile?.token;
  if (!urlText || !token)
    throw new UserError(
      [
        urlText
          ? `no API token for ${urlText}: run onramp login${flags.url ? ` --url ${urlText}` : ''}, or set ONRAMP_TOKEN.`
          : 'not logged in: run `onramp login` or set ONRAMP_URL and ONRAMP_TOKEN.',
      ],
      EXIT_FAILURE,
    );
  if (envToken) checkTokenText(envToken, 'ONRAMP_TOKEN');
  const url = normaliseUrl(urlText, flags.url !== undefined ? '--url' : 'ONRAMP_URL');
  if (!envToken && profile) {
    if (loaded.exposure) throw new UserError([loaded.exposure], EXIT_FAILURE);
    // The profile's token was given to one server; sending it to another would hand it over.
    if (normaliseUrl(profile.url, 'the profile’s url') !== url)
      throw new UserError(
        [
          `${flags.url !== undefined ? '--url' : 'ONRAMP_URL'}: ${url} is not the server of profile "${profileName}" (${profile.url}), and its token is sent only there. Log in to ${url} with onramp login --url ${url} --profile NAME, or set ONRAMP_TOKEN.`,
        ],
        EXIT_USAGE,
      );
  }
  const tenant = flags.tenant ?? env.ONRAMP_TENANT ?? profile?.tenant;
  return {
    url,
    token,
    tenant: tenant || undefined,
    profileName: profile ? profileName : undefined,
  };
}

/**
 * An Onramp URL as the client takes it: http or https, no credentials, query or fragment in it, and
 * no trailing slash. `source` names where it came from (--url, ONRAMP_URL) for the message.
 */
export function normaliseUrl(text: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new UserError(
      [
        `${source}: "${text}" is not a URL; give Onramp's address, like https://onramp.example.com.`,
      ],
      EXIT_USAGE,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new UserError(
      [`${source}: Onramp's URL must start with https:// (or http://), not ${parsed.protocol}`],
      EXIT_USAGE,
    );
  if (parsed.username || parsed.password || parsed.search || parsed.hash)
    throw new UserError(
      [
        `${source}: give Onramp's address alone, without a user, password, query or fragment (the token is asked for separately).`,
      ],
      EXIT_USAGE,
    );
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

/**
 * Refuses a token holding anything but visible ASCII: an arrow key pressed at the hidden prompt or a
 * paste with an escape sequence would otherwise fail deep in the HTTP client as "cannot reach"
 * ("invalid authorization header"), which sends the person looking at the network. The token itself
 * is never shown.
 */
export function checkTokenText(token: string, source: string): string {
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new UserError(
      [
        `${source}: the token holds characters an Onramp token never has (a space, an arrow key, a control character or a letter outside ASCII); give it again as Onramp printed it (onr_…).`,
      ],
      EXIT_USAGE,
    );
  return token;
}
