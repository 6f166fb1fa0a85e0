/**
 * `%text%` for `LIKE … ESCAPE '!'`: `%`, `_` and the escape character itself in `text` match
 * literally, so a search box cannot widen a query with wildcards.
 */
export function likeContains(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}
