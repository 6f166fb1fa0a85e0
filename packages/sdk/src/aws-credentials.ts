/**
 * Credentials of a connected account for the AWS SDK for JavaScript v3, vended through Onramp:
 * `new S3Client({ credentials: fromOnramp({ account: 'acct_…' }) })`.
 *
 * The types are written here rather than imported from `@smithy/types`, so the SDK stays free of any
 * AWS package; they are the same shape (`AwsCredentialIdentityProvider`), which the tests check.
 * `fromOnramp` itself is in index.ts, which hands this module the typed client's vend.
 */
import type { FieldError } from '@onramp/contracts';

/** What a v3 client signs with: `AwsCredentialIdentity` with its expiry always set. */
export interface OnrampAwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** An `AwsCredentialIdentityProvider`. The SDK may pass `{ forceRefresh: true }` to skip the cache. */
export type OnrampCredentialProvider = (
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's IdentityProvider takes Record<string, any>.
  identityProperties?: Record<string, any>,
) => Promise<OnrampAwsCredentials>;

export interface FromOnrampOptions {
  /** The account's id (`acct_…`). */
  account: string;
  /** Narrow the session to some of the account's bundles. */
  bundles?: string[];
  /** How long each vended session lasts (900–43200; Onramp's default is 3600). */
  durationSeconds?: number;
  /** Onramp's URL; default the ONRAMP_URL environment variable. */
  url?: string;
  /** An API token with the scope `credentials:vend`; default the ONRAMP_TOKEN environment variable. */
  token?: string;
  /**
   * Vend again once fewer than this many seconds remain. Default 300: Onramp serves the same session
   * until five minutes before it expires, and the AWS SDK asks its provider again from five minutes
   * before expiry, so a larger margin would only be handed the same credentials back.
   */
  refreshBeforeSeconds?: number;
  fetch?: typeof fetch;
  /** The clock the expiry is judged by (tests move it). */
  now?: () => Date;
}

export const DEFAULT_REFRESH_BEFORE_SECONDS = 300;
/**
 * A session handed back already inside the refresh margin (a clock behind Onramp's, a short
 * duration) is still kept for a while instead of sending every call back to Onramp.
 */
const MIN_REUSE_MS = 60_000;

/** A vend Onramp refused or could not answer; the message says what to change, never the token. */
export class OnrampCredentialsError extends Error {
  /** The HTTP status, 0 when Onramp could not be reached or was not configured. */
  readonly status: number;

  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OnrampCredentialsError';
    this.status = status;
  }
}

/**
 * A credential provider for any v3 client. It vends through `POST /v1/accounts/:id/credentials`,
 * keeps the session until `refreshBeforeSeconds` before it expires, and shares one request among
 * callers that ask meanwhile (one provider, many clients: one vend). A failed vend is not kept: the
 * next call asks again.
 */
export function createOnrampProvider(
  options: FromOnrampOptions,
  vendWith: (
    connection: { url: string; token: string },
    body: { bundles?: string[]; durationSeconds?: number },
  ) => Promise<{
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: string;
  }>,
): OnrampCredentialProvider {
  const refreshBeforeMs = (options.refreshBeforeSeconds ?? DEFAULT_REFRESH_BEFORE_SECONDS) * 1000;
  const now = () => (options.now ? options.now() : new Date()).getTime();
  let held: { credentials: OnrampAwsCredentials; refreshAt: number } | undefined;
  let pending: Promise<OnrampAwsCredentials> | undefined;

  async function vend(): Promise<OnrampAwsCredentials> {
    if (!options.account)
      throw new OnrampCredentialsError(
        'fromOnramp needs the account’s id (acct_…) as `account`.',
        0,
      );
    const environment = readEnvironment();
    const url = options.url ?? environment.ONRAMP_URL;
    const token = options.token ?? environment.ONRAMP_TOKEN;
    if (!url)
      throw new OnrampCredentialsError(
        'fromOnramp needs Onramp’s URL: pass `url` or set ONRAMP_URL.',
        0,
      );
    if (hasUserInfo(url))
      throw new OnrampCredentialsError(
        'Onramp’s URL must not hold a user name or password (the API token is the credential): remove them from `url` or ONRAMP_URL.',
        0,
      );
    if (!token)
      throw new OnrampCredentialsError(
        'fromOnramp needs an API token with the scope credentials:vend: pass `token` or set ONRAMP_TOKEN.',
        0,
      );
    const body = {
      ...(options.bundles ? { bundles: options.bundles } : {}),
      ...(options.durationSeconds ? { durationSeconds: options.durationSeconds } : {}),
    };
    const askedAt = now();
    let vended: Awaited<ReturnType<typeof vendWith>>;
    try {
      vended = await vendWith({ url, token }, body);
    } catch (error) {
      throw describeVendFailure(error, options.account, url);
    }
    const credentials: OnrampAwsCredentials = {
      accessKeyId: vended.accessKeyId,
      secretAccessKey: vended.secretAccessKey,
      sessionToken: vended.sessionToken,
      expiration: new Date(vended.expiration),
    };
    const expiresAt = credentials.expiration.getTime();
    if (Number.isNaN(expiresAt))
      throw new OnrampCredentialsError('Onramp answered an expiration that is not a date.', 200);
    held = {
      credentials,
      refreshAt: Math.max(
        expiresAt - refreshBeforeMs,
        askedAt + Math.min(MIN_REUSE_MS, (expiresAt - askedAt) / 2),
      ),
    };
    return credentials;
  }

  return async (identityProperties) => {
    // A request already on its way answers everyone who asks meanwhile, even a forced refresh: it
    // was sent after whatever made that caller want new credentials.
    if (pending) return pending;
    if (held && !identityProperties?.forceRefresh && now() < held.refreshAt)
      return held.credentials;
    pending = vend().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}

function readEnvironment(): Record<string, string | undefined> {
  // Not every runtime has a process (a browser bundle); there, url and token must be passed.
  return (
    (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {}
  );
}

/** What an `ApiProblem` carries, read structurally (index.ts imports this module, not the reverse). */
interface ProblemLike {
  status: number;
  title: string;
  detail?: string | undefined;
  errors: FieldError[];
}

function isProblem(error: unknown): error is ProblemLike {
  return (
    error instanceof Error &&
    error.name === 'ApiProblem' &&
    typeof (error as Partial<ProblemLike>).status === 'number'
  );
}

/** The API's refusal as an error that says what to change. */
function describeVendFailure(error: unknown, account: string, url: string): Error {
  if (!isProblem(error)) return error instanceof Error ? error : new Error(String(error));
  const said = error.detail ?? error.title;
  const field = error.errors[0];
  const message = (() => {
    switch (error.status) {
      case 0:
        return `Onramp cannot be reached at ${url}: ${said}`;
      case 401:
        return `Onramp refused the API token (401): set a valid, unrevoked token in ONRAMP_TOKEN or pass \`token\`. ${said}`;
      case 403:
        return `The API token may not vend credentials of ${account} (403): it needs the scope credentials:vend. ${said}`;
      case 404:
        return `Onramp has no account ${account} for this token’s tenant (404): check the account id. ${said}`;
      default:
        return `Onramp could not vend credentials of ${account} (${error.status}): ${said}${
          field ? ` ${field.field}: ${field.message}${field.hint ? ` ${field.hint}` : ''}` : ''
        }`;
    }
  })();
  return new OnrampCredentialsError(message, error.status, { cause: error });
}

/** A URL with `user:password@`: refused before any request, whose errors would repeat it. */
function hasUserInfo(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}
