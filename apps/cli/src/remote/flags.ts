import { EXIT_USAGE, UserError } from '../errors.ts';

/** Parsers of the remote commands' flag values; each error names its flag. */

/** `a,b , c` → ['a', 'b', 'c']; an empty list is an error naming the flag. */
export function parseList(value: string, flag: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0)
    throw new UserError([`${flag}: give at least one value, separated by commas.`], EXIT_USAGE);
  return items;
}

/** --bundles: `default`, `all`, or bundle ids separated by commas (onramp catalog lists them). */
export function parseBundles(value: string): 'default' | 'all' | string[] {
  const trimmed = value.trim();
  if (trimmed === 'default' || trimmed === 'all') return trimmed;
  return parseList(value, '--bundles');
}

/** A whole number within bounds, for --limit and the like. */
export function parseWholeNumber(value: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max)
    throw new UserError(
      [`${flag}: "${value}" is not a whole number from ${min} to ${max}.`],
      EXIT_USAGE,
    );
  return Number(value);
}

/** One of a closed set of values. */
export function parseChoice<const T extends string>(
  value: string,
  flag: string,
  choices: readonly T[],
): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new UserError([`${flag}: "${value}" is not one of ${choices.join(', ')}.`], EXIT_USAGE);
}

/** Refuses a command given nothing to do: `what` lists the flags that would give it something. */
export function requireSome(values: readonly unknown[], what: string): void {
  if (values.every((value) => value === undefined))
    throw new UserError([`nothing to change: give ${what}.`], EXIT_USAGE);
}

/**
 * Commander's error text with the value of an unknown `--option=value` hidden: a mistyped
 * `--secret=…` or `--token=…` would otherwise print the secret back to the terminal and its logs.
 */
export function hideUnknownOptionValues(text: string): string {
  return text.replace(/(unknown option '[^'=\s]+)=[^']*'/g, "$1=…' (its value not shown)");
}
