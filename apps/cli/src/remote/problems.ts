import { ApiProblem } from '@onramp/sdk';
import { EXIT_FAILURE, EXIT_USAGE, UserError } from '../errors.ts';
import { printable } from './output.ts';

/**
 * What the API said, as a message the person can act on: the field errors named by the flags they
 * came from, 401 and 403 with what to do about the token, a network failure with the URL. Text from
 * the server is made printable, and the token never appears in any message.
 */

/** Where the request went and what it was about, for the message. */
export interface ProblemContext {
  url: string;
  token: string;
  /** The flag (or argument) each API field came from: `{ roleArn: '--role-arn', id: '<account>' }`. */
  flagOfField?: Readonly<Record<string, string>>;
}

/**
 * The most of one piece of server text a message shows: a broken proxy or a hostile server may answer
 * a megabyte, which would bury the terminal and the real error under it.
 */
export const MAX_SERVER_TEXT = 500;

/**
 * Fields the server names that always come from one of the CLI's own flags: the operator's tenant
 * arrives as the Onramp-Tenant header, which the person sets with --tenant, never by that name.
 */
const FLAG_OF_HEADER: Readonly<Record<string, string>> = {
  'Onramp-Tenant': '--tenant (or ONRAMP_TENANT, or onramp login --tenant)',
};

/** The placeholder the token becomes wherever it would have been shown. */
export const TOKEN_MASK = '[the API token]';

/** `text` without the token: a server or a proxy may echo the Authorization header back. */
export function maskToken(text: string, token: string | undefined): string {
  // A real token is long; a short stand-in would blank ordinary words instead.
  return token && token.length >= 8 ? text.replaceAll(token, TOKEN_MASK) : text;
}

/** Any failure of a request: an ApiProblem, an answer that is not the API's, or a bug (rethrown). */
export function toRemoteError(error: unknown, context: ProblemContext): unknown {
  if (error instanceof ApiProblem) return problemToUserError(error, context);
  // The SDK parses every answer with its contract: a server that is not Onramp (or another version)
  // answers something else.
  if (error instanceof Error && error.name === 'ZodError')
    return new UserError(
      [
        `${context.url} answered, but not as Onramp's API does; is the URL right, and is the server the same version as this CLI?`,
      ],
      EXIT_FAILURE,
    );
  return error;
}

/** An API problem as a UserError: the messages to show and the exit code. */
export function problemToUserError(problem: ApiProblem, context: ProblemContext): UserError {
  const clean = (text: string) => cutServerText(printable(maskToken(text, context.token)));
  const said = clean(problem.detail ?? problem.title);
  const reference = problem.requestId ? ` (request ${clean(problem.requestId)})` : '';
  switch (problem.status) {
    case 0: {
      // The SDK wraps a failed fetch in advice to check the connection; a refused redirect is no
      // connection problem, so its own words are shown alone.
      const redirect = /\((it answered 3\d\d, redirecting .*)\)\.$/s.exec(said)?.[1];
      if (redirect) return new UserError([`${context.url}: ${redirect}.`], EXIT_FAILURE);
      return new UserError([`cannot reach ${context.url}: ${said}`], EXIT_FAILURE);
    }
    case 401:
      return new UserError(
        [
          `the token was refused (expired or revoked?): run onramp login, or set ONRAMP_TOKEN to a live token. Onramp at ${context.url} said: ${said}${reference}`,
        ],
        EXIT_FAILURE,
      );
    case 403:
      return new UserError([describeForbidden(said) + reference], EXIT_FAILURE);
    case 404:
      return new UserError(
        [
          `not found: ${said} Check the id; a record of another tenant is not found either (an operator names the tenant with --tenant).${reference}`,
        ],
        EXIT_FAILURE,
      );
  }
  const fieldMessages = problem.errors.map((error) => {
    const flag = findFlag(error.field, context.flagOfField ?? {});
    const text = clean(error.hint ? `${error.message} ${error.hint}` : error.message);
    return {
      fromFlag: flag !== undefined,
      text: `${flag ?? clean(error.field || 'request')}: ${text}`,
    };
  });
  if (fieldMessages.length > 0) {
    // The detail often repeats the first field's message; then the title heads the list instead.
    const repeats = problem.errors.some((error) => problem.detail?.includes(error.message));
    const head = `${repeats ? clean(problem.title) : said} (${problem.status})${reference}`;
    // A field a flag gave is the command line's to fix (2); any other is Onramp's answer (1).
    const isUsage = fieldMessages.some((message) => message.fromFlag);
    return new UserError(
      [head, ...fieldMessages.map((message) => message.text)],
      isUsage ? EXIT_USAGE : EXIT_FAILURE,
    );
  }
  // Onramp's own errors carry a request id; an answer without one (an HTML 502 page) came from
  // something in front of it, which is worth saying: Onramp may be down rather than refusing.
  if (!problem.requestId && problem.detail === undefined)
    return new UserError(
      [
        `${context.url} answered ${problem.status} ${clean(problem.title)}, not as Onramp does: is a proxy or load balancer in front of it failing, or is the URL wrong?${problem.status === 429 ? ' Wait a moment and try again.' : ''}`,
      ],
      EXIT_FAILURE,
    );
  const what =
    problem.status === 429
      ? ' Wait a moment and try again.'
      : problem.status >= 500
        ? ` This is on the server’s side; try again, or ask its operator${reference ? ' (give them the request id)' : ''}.`
        : '';
  return new UserError(
    [`Onramp refused (${problem.status} ${clean(problem.title)}): ${said}${what}${reference}`],
    EXIT_FAILURE,
  );
}

/** Server text cut to MAX_SERVER_TEXT characters, saying how much was left out. */
export function cutServerText(text: string): string {
  const points = [...text];
  if (points.length <= MAX_SERVER_TEXT) return text;
  return `${points.slice(0, MAX_SERVER_TEXT).join('')}… (${points.length - MAX_SERVER_TEXT} more characters not shown)`;
}

/** 403: what the token lacks (the server names the scope or the role) and how to get it. */
function describeForbidden(said: string): string {
  const scope = /\b(accounts:read|accounts:write|credentials:vend|admin)\b/.exec(said)?.[1];
  const fix = scope
    ? ` Use a token with the ${scope} scope: an admin makes one with onramp tokens create --scopes ${scope}, then run onramp login with it.`
    : ' Use a token with the scope this needs (onramp tokens list shows each token’s scopes).';
  return `the token may not do this: ${said}${fix}`;
}

/** The flag an API field came from, by the field or its first segment (`bundles[2]` → `bundles`). */
function findFlag(
  field: string,
  flagOfField: Readonly<Record<string, string>>,
): string | undefined {
  if (Object.hasOwn(flagOfField, field)) return flagOfField[field];
  const head = field.split(/[.[]/, 1)[0] ?? field;
  if (Object.hasOwn(flagOfField, head)) return flagOfField[head];
  return Object.hasOwn(FLAG_OF_HEADER, field) ? FLAG_OF_HEADER[field] : undefined;
}
