import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT_FAILURE, UserError } from '../errors.ts';

/**
 * The CLI's config file: named profiles, each an Onramp URL and an API token (and, for an operator,
 * the tenant it acts on). It holds secrets, so it is written for its owner alone (0600, in a 0700
 * directory), atomically (a temporary file renamed over it, so a crash or a second `onramp login`
 * never leaves half a file), and a token is never read from a copy others could read.
 */

export interface Profile {
  url: string;
  token: string;
  /** The tenant an operator's profile acts on (sent as Onramp-Tenant). */
  tenant?: string;
}

export interface ConfigFile {
  /** The profile used when neither --profile nor ONRAMP_PROFILE names one. */
  current: string;
  profiles: Record<string, Profile>;
}

export interface LoadedConfig {
  path: string;
  config: ConfigFile;
  /** Why the file must not be trusted with a token (others can read it), if so: what to run. */
  exposure: string | undefined;
}

export const DEFAULT_PROFILE = 'default';

/** The mode bits that let anyone but the owner read or change the file. */
const OTHERS_MASK = 0o077;
/** How long a command waits for another one writing the config file. */
const LOCK_WAIT_MS = 10_000;
/** A lock older than this was left by a command that died: no write takes this long. */
const STALE_LOCK_MS = 30_000;

/**
 * Where the config file is: `$ONRAMP_CONFIG_DIR/config.json`, else `$XDG_CONFIG_HOME/onramp/config.json`,
 * else `~/.config/onramp/config.json`.
 */
export function findConfigPath(
  env: Readonly<Record<string, string | undefined>>,
  homeDir: string,
): string {
  if (env.ONRAMP_CONFIG_DIR) return join(env.ONRAMP_CONFIG_DIR, 'config.json');
  // The XDG specification says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg?.startsWith('/') ? xdg : join(homeDir, '.config');
  return join(base, 'onramp', 'config.json');
}

/** A profile's name: letters, digits, dot, dash and underscore, so it is safe in messages and files. */
export function checkProfileName(name: string, flag = '--profile'): string {
  if (!isProfileName(name))
    throw new UserError(
      [
        `${flag}: "${printableName(name)}" is not a profile name; use letters, digits, ".", "-" and "_" (at most 64).`,
      ],
      2,
    );
  return name;
}

function isProfileName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name);
}

function printableName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes.
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 80);
}

/** An empty config: no profile yet. */
export function emptyConfig(): ConfigFile {
  return { current: DEFAULT_PROFILE, profiles: {} };
}

/**
 * Reads the config file; a missing file is an empty config. A file that is not the CLI's JSON is an
 * error naming it, never silently replaced (it may hold tokens the person wants to keep).
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  let mode: number;
  let uid: number;
  try {
    const info = await stat(path);
    mode = info.mode;
    uid = info.uid;
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { path, config: emptyConfig(), exposure: undefined };
    throw new UserError(
      [`cannot read the config file ${path}: ${(error as Error).message}`],
      EXIT_FAILURE,
    );
  }
  return { path, config: parseConfig(text, path), exposure: describeExposure(path, mode, uid) };
}

/** Why others could read or change the file, with the command that fixes it; undefined when safe. */
function describeExposure(path: string, mode: number, uid: number): string | undefined {
  // Windows has no POSIX modes: Node reports 0o666 for every file, which says nothing.
  if (process.platform === 'win32') return undefined;
  const ownUid = process.getuid?.();
  if (ownUid !== undefined && uid !== ownUid)
    return `the config file ${path} belongs to another user; it may not hold your token. Move it away and run onramp login again.`;
  if ((mode & OTHERS_MASK) !== 0)
    return `the config file ${path} can be read or changed by other users (mode ${(mode & 0o777).toString(8)}); its tokens are not used until you run: chmod 600 ${path}`;
  return undefined;
}

function parseConfig(text: string, path: string): ConfigFile {
  const broken = (why: string) =>
    new UserError(
      [
        `the config file ${path} is not Onramp's (${why}); fix it, or move it away and run onramp login again.`,
      ],
      EXIT_FAILURE,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw broken(`not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(value)) throw broken('not a JSON object');
  const profiles: Record<string, Profile> = {};
  const rawProfiles = value.profiles ?? {};
  if (!isRecord(rawProfiles)) throw broken('"profiles" is not an object');
  for (const [name, raw] of Object.entries(rawProfiles)) {
    // A name like __proto__ would set the object's prototype instead of adding a profile.
    if (!isProfileName(name)) throw broken(`"${printableName(name)}" is not a profile name`);
    if (!isRecord(raw) || typeof raw.url !== 'string' || typeof raw.token !== 'string')
      throw broken(`profile "${printableName(name)}" needs a url and a token`);
    if (raw.tenant !== undefined && typeof raw.tenant !== 'string')
      throw broken(`profile "${printableName(name)}" has a tenant that is not text`);
    profiles[name] = {
      url: raw.url,
      token: raw.token,
      ...(typeof raw.tenant === 'string' ? { tenant: raw.tenant } : {}),
    };
  }
  const current = typeof value.current === 'string' ? value.current : DEFAULT_PROFILE;
  return { current, profiles };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Writes the config file for its owner alone: the directory is made 0700 when it is created, the data
 * goes to a new 0600 file beside the target, flushed to disk, and is then renamed over it, so a reader
 * sees the old file or the new one, never a part, and the token is never in a file with a looser mode.
 */
export async function saveConfig(path: string, config: ConfigFile): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  await refuseSymlink(path);
  const temporary = join(
    directory,
    `.config.json.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const text = `${JSON.stringify(config, null, 2)}\n`;
  try {
    // 'wx': never follow or reuse a file someone placed at the temporary name.
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask could only have narrowed 0600; this makes the mode exact on every system.
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new UserError(
      [`cannot write the config file ${path}: ${(error as Error).message}`],
      EXIT_FAILURE,
    );
  }
}

/**
 * A symbolic link at the config's place may point at a file others can read; rename would replace the
 * link (not its target), which is safe, but a person who linked it meant something: say so instead.
 */
async function refuseSymlink(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSymbolicLink())
      throw new UserError(
        [
          `the config file ${path} is a symbolic link; Onramp writes tokens only to a plain file it owns. Remove the link, or set ONRAMP_CONFIG_DIR.`,
        ],
        EXIT_FAILURE,
      );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/**
 * Runs `change` on the current config and saves the result, refusing when the file is open to
 * others (writing a new token into it would expose that too). A lock file beside it makes two
 * commands at once (two `onramp login` in scripts) take turns, so neither loses the other's profile.
 */
export async function updateConfig(
  path: string,
  change: (config: ConfigFile) => ConfigFile,
): Promise<ConfigFile> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const release = await lockConfig(path);
  try {
    const loaded = await loadConfig(path);
    if (loaded.exposure) throw new UserError([loaded.exposure], EXIT_FAILURE);
    const next = change(loaded.config);
    await saveConfig(path, next);
    return next;
  } finally {
    await release();
  }
}

/** Takes `<path>.lock` (created exclusively), waiting while another command holds it. */
async function lockConfig(path: string): Promise<() => Promise<void>> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(lock, 'wx', 0o600)).close();
      return () => rm(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const age = await stat(lock).then(
      (info) => Date.now() - info.mtimeMs,
      () => 0,
    );
    if (age > STALE_LOCK_MS) await rm(lock, { force: true });
    else if (Date.now() > deadline)
      throw new UserError(
        [
          `another onramp command is changing ${path} (it holds ${lock}); try again, or delete the lock file if no onramp command is running.`,
        ],
        EXIT_FAILURE,
      );
    else await sleep(20 + Math.random() * 30);
  }
}
