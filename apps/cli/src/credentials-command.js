// @ts-check
/**
 * `onramp credentials <account>`: short-lived credentials of a connected account, vended by a running
 * Onramp, printed for AWS's `credential_process` (the AWS CLI and every AWS SDK), a shell, or as JSON.
 *
 * Plain JavaScript with JSDoc types (tsc checks it): AWS tools run a credential_process at every
 * refresh, so bin/onramp.js loads this file before tsx (whose loader alone costs about three times a
 * bare `node -e 0`), and it imports nothing but node:http or node:https, when it sends.
 */

/** @typedef {{ write(text: string): unknown }} Sink */
/**
 * @typedef {object} CredentialsIo
 * @property {Sink} stdout Only the credentials: AWS tools parse it.
 * @property {Sink} stderr Errors, for the person (the AWS CLI shows them).
 * @property {Readonly<Record<string, string | undefined>>} env Where ONRAMP_URL and the token are read.
 */

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const FORMATS = ['credential_process', 'env', 'json'];
const REQUEST_TIMEOUT_MS = 30_000;

export const CREDENTIALS_USAGE = `Usage: onramp credentials <account> [options]

Short-lived credentials of a connected account (acct_…), vended by Onramp, for AWS tools:
in ~/.aws/config,
  [profile customer]
  credential_process = onramp credentials acct_…
gives them to the AWS CLI and to every AWS SDK; they are vended again at each refresh.

Options:
  --bundles a,b       narrow the session to some of the account's bundles
  --duration SECONDS  how long the session lasts (900 to 43200; Onramp's default 3600)
  --format FORMAT     credential_process (default): AWS's JSON, Version 1
                      env: export AWS_ACCESS_KEY_ID=… lines for a shell (eval "$(onramp credentials …)")
                      json: Onramp's answer as it is
  --url URL           Onramp's URL (default: $ONRAMP_URL)
  --token-env NAME    the environment variable holding the API token (default: ONRAMP_TOKEN); the
                      token needs the scope credentials:vend and is never taken as a flag
  -h, --help          show this help

Exit codes: 0 success, 1 Onramp refused or could not be reached, 2 a problem with the command line.
Errors go to stderr; stdout stays empty unless credentials were vended.
`;

/** Raised for a problem the person can fix; `exitCode` says whose. */
class CredentialsFailure extends Error {
  /**
   * @param {string} message
   * @param {number} exitCode
   */
  constructor(message, exitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Runs `onramp credentials` with the arguments after the command's name; returns the exit code.
 * @param {readonly string[]} argv
 * @param {CredentialsIo} io
 * @returns {Promise<number>}
 */
export async function runCredentials(argv, io) {
  /** @type {string | undefined} */
  let token;
  try {
    const options = parseArguments(argv);
    if (options === 'help') {
      io.stdout.write(CREDENTIALS_USAGE);
      return EXIT_OK;
    }
    const url = options.url ?? io.env.ONRAMP_URL;
    if (!url)
      throw new CredentialsFailure(
        'Onramp’s URL is not set: set ONRAMP_URL or pass --url.',
        EXIT_FAILURE,
      );
    const base = parseBaseUrl(url);
    const tokenEnv = options.tokenEnv ?? 'ONRAMP_TOKEN';
    token = io.env[tokenEnv];
    if (!token)
      throw new CredentialsFailure(
        `No API token: set ${tokenEnv} to a token with the scope credentials:vend.`,
        EXIT_FAILURE,
      );
    const answer = await vend(base, token, options);
    if (answer.status !== 200)
      throw new CredentialsFailure(describeRefusal(answer, options, tokenEnv), EXIT_FAILURE);
    const credentials = readCredentials(answer.body);
    io.stdout.write(formatCredentials(credentials, answer.body, options.format));
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CredentialsFailure) {
      io.stderr.write(`error: ${printable(error.message, token)}\n`);
      if (error.exitCode === EXIT_USAGE)
        io.stderr.write('(run onramp credentials --help for its options)\n');
      return error.exitCode;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(
      `error: onramp failed unexpectedly; this is a bug in Onramp. Details:\n${detail}\n`,
    );
    return EXIT_FAILURE;
  }
}

/**
 * @typedef {object} CredentialsOptions
 * @property {string} account
 * @property {string[] | undefined} bundles
 * @property {number | undefined} durationSeconds
 * @property {string} format
 * @property {string | undefined} url
 * @property {string | undefined} tokenEnv
 */

/**
 * @param {readonly string[]} argv
 * @returns {CredentialsOptions | 'help'}
 */
function parseArguments(argv) {
  /** @type {Record<string, string>} */
  const flags = {};
  /** @type {string[]} */
  const positionals = [];
  const valued = ['--bundles', '--duration', '--format', '--url', '--token-env'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') return 'help';
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = equals > 0 ? arg.slice(0, equals) : arg;
    if (name === '--token')
      throw usage(
        '--token is not taken: a command line is visible to every user of the machine. Put the token in ONRAMP_TOKEN, or name another variable with --token-env.',
      );
    if (!valued.includes(name)) throw usage(`unknown option ${name}.`);
    const value = equals > 0 ? arg.slice(equals + 1) : argv[++i];
    if (value === undefined || value === '') throw usage(`${name} needs a value.`);
    if (Object.hasOwn(flags, name)) throw usage(`${name} is given twice.`);
    flags[name] = value;
  }
  if (positionals.length === 0)
    throw usage('name the account: onramp credentials <account> (acct_…).');
  if (positionals.length > 1)
    throw usage(`one account at a time; got ${positionals.length}: ${positionals.join(' ')}.`);
  const format = flags['--format'] ?? 'credential_process';
  if (!FORMATS.includes(format))
    throw usage(`--format: "${format}" is not a format. Choose among: ${FORMATS.join(', ')}.`);
  const duration = flags['--duration'];
  if (duration !== undefined && !/^\d+$/.test(duration))
    throw usage(`--duration: "${duration}" is not a whole number of seconds (900 to 43200).`);
  const bundles = flags['--bundles']
    ?.split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (bundles !== undefined && bundles.length === 0)
    throw usage('--bundles: name at least one bundle, separated by commas.');
  const tokenEnv = flags['--token-env'];
  if (tokenEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenEnv))
    throw usage(`--token-env: "${tokenEnv}" is not an environment variable's name.`);
  return {
    account: positionals[0] ?? '',
    bundles,
    durationSeconds: duration === undefined ? undefined : Number(duration),
    format,
    url: flags['--url'],
    tokenEnv,
  };
}

/**
 * A message for the terminal: what a server said may hold control characters (escape sequences that
 * retitle or clear the terminal, a carriage return that forges a line) or echo the token.
 * @param {string} text
 * @param {string | undefined} token
 */
function printable(text, token) {
  // A real token is long; a test's one-letter stand-in would blank every word instead.
  const shown = token && token.length >= 8 ? text.replaceAll(token, '[the API token]') : text;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes.
  return shown.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ');
}

/** @param {string} message */
function usage(message) {
  return new CredentialsFailure(message, EXIT_USAGE);
}

/** @param {string} url */
function parseBaseUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new CredentialsFailure(`Onramp’s URL "${url}" is not a URL.`, EXIT_FAILURE);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CredentialsFailure(
      `Onramp’s URL must be http or https, not ${parsed.protocol}`,
      EXIT_FAILURE,
    );
  return parsed;
}

/**
 * POST /v1/accounts/:id/credentials, with node:http(s): it loads faster than fetch.
 * @param {URL} base
 * @param {string} token
 * @param {CredentialsOptions} options
 * @returns {Promise<{ status: number, body: unknown, url: string }>}
 */
async function vend(base, token, options) {
  // Joined as text onto the origin: resolving a path against the base would let a path that begins
  // with // name another host, and the token would go there.
  const url = new URL(
    `${base.origin}${base.pathname.replace(/\/+$/, '')}/v1/accounts/${encodeURIComponent(options.account)}/credentials`,
  );
  /** @type {Record<string, unknown>} */
  const body = {};
  if (options.bundles) body.bundles = options.bundles;
  if (options.durationSeconds !== undefined) body.durationSeconds = options.durationSeconds;
  const payload = JSON.stringify(body);
  const { request } =
    url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const where = base.origin;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (response) => {
        /** @type {Buffer[]} */
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('error', (error) =>
          reject(
            new CredentialsFailure(
              `Onramp at ${where} broke off its answer: ${error.message}`,
              EXIT_FAILURE,
            ),
          ),
        );
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: response.statusCode ?? 0, body: parsed, url: where });
        });
      },
    );
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} seconds`)),
    );
    outgoing.on('error', (error) =>
      reject(
        new CredentialsFailure(`cannot reach Onramp at ${where}: ${error.message}`, EXIT_FAILURE),
      ),
    );
    outgoing.end(payload);
  });
}

/**
 * The flags the API's fields come from, so a refusal names what to change on the command line.
 * @type {Record<string, string>}
 */
const FLAG_OF_FIELD = { bundles: '--bundles', durationSeconds: '--duration', id: '<account>' };

/**
 * @param {{ status: number, body: unknown, url: string }} answer
 * @param {CredentialsOptions} options
 * @param {string} tokenEnv
 */
function describeRefusal(answer, options, tokenEnv) {
  const problem =
    /** @type {{ title?: unknown, detail?: unknown, errors?: unknown, requestId?: unknown }} */ (
      answer.body && typeof answer.body === 'object' ? answer.body : {}
    );
  const said =
    typeof problem.detail === 'string'
      ? problem.detail
      : typeof problem.title === 'string'
        ? problem.title
        : `HTTP ${answer.status}`;
  const reference = typeof problem.requestId === 'string' ? ` (request ${problem.requestId})` : '';
  switch (answer.status) {
    case 401:
      return `Onramp at ${answer.url} refused the API token in ${tokenEnv} (401): set a valid, unrevoked token. ${said}${reference}`;
    case 403:
      return `the API token in ${tokenEnv} may not vend credentials of ${options.account} (403): it needs the scope credentials:vend. ${said}${reference}`;
    case 404:
      return `Onramp has no account ${options.account} for this token’s tenant (404): check the account id. ${said}${reference}`;
  }
  const fields = Array.isArray(problem.errors)
    ? problem.errors.flatMap((/** @type {unknown} */ entry) => {
        if (!entry || typeof entry !== 'object') return [];
        const { field, message, hint } = /** @type {Record<string, unknown>} */ (entry);
        if (typeof field !== 'string' || typeof message !== 'string') return [];
        const head = field.split(/[.[]/, 1)[0] ?? field;
        const flag = FLAG_OF_FIELD[head] ?? field;
        return [`${flag}: ${message}${typeof hint === 'string' ? ` ${hint}` : ''}`];
      })
    : [];
  return fields.length > 0
    ? `Onramp refused the request (${answer.status}): ${fields.join(' ')}${reference}`
    : `Onramp could not vend credentials of ${options.account} (${answer.status}): ${said}${reference}`;
}

/**
 * @param {unknown} body
 * @returns {{ accessKeyId: string, secretAccessKey: string, sessionToken: string, expiration: string }}
 */
function readCredentials(body) {
  const fields = /** @type {Record<string, unknown>} */ (
    body && typeof body === 'object' ? body : {}
  );
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = fields;
  if (
    typeof accessKeyId !== 'string' ||
    typeof secretAccessKey !== 'string' ||
    typeof sessionToken !== 'string' ||
    typeof expiration !== 'string' ||
    Number.isNaN(Date.parse(expiration))
  )
    throw new CredentialsFailure(
      'Onramp answered 200 without credentials; is --url an Onramp server?',
      EXIT_FAILURE,
    );
  return {
    accessKeyId,
    secretAccessKey,
    sessionToken,
    expiration: new Date(expiration).toISOString(),
  };
}

/**
 * @param {{ accessKeyId: string, secretAccessKey: string, sessionToken: string, expiration: string }} credentials
 * @param {unknown} body
 * @param {string} format
 */
function formatCredentials(credentials, body, format) {
  if (format === 'json') return `${JSON.stringify(body, null, 2)}\n`;
  if (format === 'env')
    return [
      ['AWS_ACCESS_KEY_ID', credentials.accessKeyId],
      ['AWS_SECRET_ACCESS_KEY', credentials.secretAccessKey],
      ['AWS_SESSION_TOKEN', credentials.sessionToken],
      ['AWS_CREDENTIAL_EXPIRATION', credentials.expiration],
    ]
      .map(([name, value]) => `export ${name}=${shellWord(value ?? '')}\n`)
      .join('');
  // AWS's credential_process contract: exactly these keys, Version 1, Expiration in ISO 8601.
  return `${JSON.stringify({
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: credentials.expiration,
  })}\n`;
}

/**
 * A value as one shell word: as it is when it is plainly safe, else in single quotes.
 * @param {string} value
 */
function shellWord(value) {
  return /^[A-Za-z0-9+/=._:-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
