import { createRequire } from 'node:module';
import type * as ZxcvbnCore from '@zxcvbn-ts/core';
import type * as ZxcvbnCommon from '@zxcvbn-ts/language-common';
import type { ProblemFieldError } from '../../http/problems.ts';

/**
 * zxcvbn's score (0–4) a new password must reach: 3 is "safely unguessable: moderate protection from
 * an offline slow-hash scenario" (guesses ≥ 10^8), what its authors advise for accounts like these.
 */
const MIN_SCORE = 3;

/**
 * zxcvbn's cost grows faster than the length (a 256-character password takes most of a second of
 * CPU on the event loop), so it judges the first 64 characters: a password strong in its first 64 is
 * strong, and passwords that long are passphrases in practice.
 */
const JUDGED_LENGTH = 64;

/**
 * The estimator, built on first use: its dictionaries (the most common passwords, keyboard layouts)
 * take tens of milliseconds to load and are immutable after, so one per process is shared.
 */
let estimator: ZxcvbnCore.ZxcvbnFactory | undefined;
function zxcvbn(): ZxcvbnCore.ZxcvbnFactory {
  estimator ??= buildEstimator();
  return estimator;
}

/**
 * zxcvbn's packages are read on the first password, not when the server starts: evaluating their
 * dictionaries costs a start tens of milliseconds of CPU, and most starts judge no password. The
 * check stays synchronous: the production bundle turns these require calls into its own copies of
 * the packages, evaluated at this call; run from the sources (tests, tsx), Node's require reads them.
 */
function buildEstimator(): ZxcvbnCore.ZxcvbnFactory {
  // Literal require calls, which esbuild bundles; the sources' fallback cannot be one.
  const sourcesRequire = typeof require === 'function' ? undefined : createRequire(import.meta.url);
  const { ZxcvbnFactory } = (
    sourcesRequire ? sourcesRequire('@zxcvbn-ts/core') : require('@zxcvbn-ts/core')
  ) as typeof ZxcvbnCore;
  const { adjacencyGraphs, dictionary } = (
    sourcesRequire
      ? sourcesRequire('@zxcvbn-ts/language-common')
      : require('@zxcvbn-ts/language-common')
  ) as typeof ZxcvbnCommon;
  return new ZxcvbnFactory({ dictionary: { ...dictionary }, graphs: adjacencyGraphs });
}

/** zxcvbn's warning keys, in words (its English translations live in a larger package). */
const WARNINGS: Record<string, string> = {
  straightRow: 'it is a row of keys on the keyboard',
  keyPattern: 'it is a keyboard pattern',
  simpleRepeat: 'it repeats a character',
  extendedRepeat: 'it repeats a pattern',
  sequences: 'it is a sequence such as abc or 1234',
  recentYears: 'it leans on a recent year',
  dates: 'it leans on a date',
  topTen: 'it is one of the ten most used passwords',
  topHundred: 'it is one of the hundred most used passwords',
  common: 'it is a commonly used password',
  similarToCommon: 'it is close to a commonly used password',
  wordByItself: 'it is a single word',
  namesByThemselves: 'it is a name',
  commonNames: 'it is a common name',
  userInputs: 'it contains your name or email',
};

const fold = (text: string) => text.normalize('NFKC').toLowerCase();

/**
 * Whether a new password is acceptable for this person, or the field error saying why not. The
 * contracts already hold it to 12–256 characters and not only spaces; this adds what needs the
 * person (their email and name) or a dictionary too large for the console.
 */
export function checkNewPassword(
  password: string,
  person: { email: string; name: string },
  field = 'password',
): ProblemFieldError | undefined {
  const refuse = (message: string, hint: string): ProblemFieldError => ({
    field,
    code: 'weak_password',
    message,
    hint,
  });
  const hint = 'Use a few unrelated words, or a random password from a password manager.';
  if (password.trim() === '') return refuse('The password is only spaces.', hint);
  const folded = fold(password);
  const email = fold(person.email.trim());
  const localPart = email.split('@')[0] ?? '';
  const name = fold(person.name.trim()).replace(/\s+/g, ' ');
  if (email && folded.includes(email))
    return refuse('The password contains your email address.', hint);
  // Four characters at least: a short one ("ann") turns up inside ordinary words.
  if (localPart.length >= 4 && folded.includes(localPart))
    return refuse('The password contains the name in your email address.', hint);
  if (name.length >= 3 && (folded.includes(name) || folded.includes(name.replace(/ /g, ''))))
    return refuse('The password contains your name.', hint);
  const result = zxcvbn().check(password.slice(0, JUDGED_LENGTH), [
    email,
    localPart,
    ...name.split(' '),
  ]);
  if (result.score < MIN_SCORE) {
    const why = WARNINGS[result.feedback.warning ?? ''] ?? 'it is too easy to guess';
    return refuse(`The password is too easy to guess: ${why}.`, hint);
  }
  return undefined;
}
