import { AppError } from './problems.ts';

/**
 * Keyset pagination, the same for every list: a page is the rows after the last one of the previous
 * page in a fixed order on a unique key (an id, or the audit log's sequence), so a row inserted while a
 * client walks the pages never shifts the others; none is skipped or seen twice. The cursor is that
 * key, encoded: clients pass `next` back unchanged and need not know what is inside.
 */

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/** The key inside a cursor; 400 on field `cursor` when it is not one this API gave out. */
export function decodeCursor(
  cursor: string,
  isKey: (key: string) => boolean,
  field = 'cursor',
): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isKey(key) || encodeCursor(key) !== cursor) {
    throw new AppError('invalid_request', 'The cursor is not one this API gave out.', [
      {
        field,
        code: 'invalid_format',
        message: 'Pass the `next` value of the previous page unchanged.',
      },
    ]);
  }
  return key;
}

/**
 * A page from rows read with `limit + 1`: the extra row only says another page follows, and `next`
 * points after the last row returned.
 */
export function toPage<T>(
  rows: readonly T[],
  limit: number,
  keyOf: (row: T) => string,
): { items: T[]; next: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
