import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../adapters/db/schema.ts';

export interface RateLimitDecision {
  allowed: boolean;
  /** This attempt's number in the window: the first refused attempt is limit + 1. */
  count: number;
  /** Seconds until the window ends. */
  retryAfter: number;
  /** Which window was counted, so a refund takes back from that window only. */
  key: string;
  windowStart: string;
}

/** The longest window a limiter accepts: rows older than this are certainly finished and pruned. */
const MAX_WINDOW_SECONDS = 24 * 3600;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Fixed-window counters in the database, so every replica counts the same attempts. Each hit is one
 * statement (an upsert that increments and returns the new count), so concurrent attempts on any
 * number of replicas each get a distinct count and the decision is made on it: a read followed by a
 * write would let every racing attempt read the same count. A window allows at most `limit`
 * attempts; across a window's boundary a burst can reach twice that, the price of a fixed window.
 *
 * Keys are stored hashed: they contain what strangers send (an email of up to 254 characters), which
 * neither belongs in the table nor should be able to exceed an index's row size.
 */
export function createRateLimiter(db: Kysely<Database>, clock: () => Date) {
  let lastPrune = 0;

  async function pruneFinishedWindows(now: Date): Promise<void> {
    if (now.getTime() - lastPrune < PRUNE_EVERY_MS) return;
    lastPrune = now.getTime();
    const cutoff = new Date(now.getTime() - MAX_WINDOW_SECONDS * 1000).toISOString();
    await db.deleteFrom('rate_limits').where('window_start', '<', cutoff).execute();
  }

  return {
    async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
      if (windowSeconds > MAX_WINDOW_SECONDS)
        throw new Error(`rate-limit windows are at most ${MAX_WINDOW_SECONDS} s`);
      const now = clock();
      const windowMs = windowSeconds * 1000;
      const windowStart = new Date(Math.floor(now.getTime() / windowMs) * windowMs).toISOString();
      const stored = hashKey(key);
      // A replica whose clock runs behind must not restart a window another one has moved past:
      // the newer window wins, and only a newer window resets the count.
      const isNewer = sql<boolean>`${sql.ref('rate_limits.window_start')} < ${sql.ref('excluded.window_start')}`;
      const row = await db
        .insertInto('rate_limits')
        .values({ key: stored, window_start: windowStart, count: 1 })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            count: sql<number>`CASE WHEN ${isNewer} THEN 1 ELSE ${sql.ref('rate_limits.count')} + 1 END`,
            window_start: sql<string>`CASE WHEN ${isNewer} THEN ${sql.ref('excluded.window_start')} ELSE ${sql.ref('rate_limits.window_start')} END`,
          }),
        )
        .returning(['count', 'window_start'])
        .executeTakeFirstOrThrow();
      await pruneFinishedWindows(now);
      const count = Number(row.count);
      const retryAfter = Math.max(
        1,
        Math.ceil((new Date(row.window_start).getTime() + windowMs - now.getTime()) / 1000),
      );
      return {
        allowed: count <= limit,
        count,
        retryAfter,
        key: stored,
        windowStart: row.window_start,
      };
    },

    /**
     * At most one start per `intervalSeconds` for this key, on every replica: a compare-and-set that
     * takes the key only when nobody took it within the interval (a sliding interval, unlike `hit`'s
     * fixed windows, so two starts are never closer than the interval). True when this caller took it.
     */
    async claim(key: string, intervalSeconds: number): Promise<boolean> {
      if (intervalSeconds > MAX_WINDOW_SECONDS)
        throw new Error(`rate-limit windows are at most ${MAX_WINDOW_SECONDS} s`);
      const now = clock();
      const at = now.toISOString();
      const cutoff = new Date(now.getTime() - intervalSeconds * 1000).toISOString();
      const row = await db
        .insertInto('rate_limits')
        .values({ key: hashKey(key), window_start: at, count: 1 })
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet({ window_start: at, count: 1 })
            .where('rate_limits.window_start', '<=', cutoff),
        )
        .returning('key')
        .executeTakeFirst();
      await pruneFinishedWindows(now);
      return row !== undefined;
    },
    /**
     * Takes an allowed attempt back (a sign-in that turned out right), in the window it was counted
     * in only. The decision was already made on the count; a refund only spares honest users who
     * share an address from spending the budget of strangers' guesses.
     */
    async refund(decision: RateLimitDecision): Promise<void> {
      await db
        .updateTable('rate_limits')
        .set({ count: sql<number>`${sql.ref('count')} - 1` })
        .where('key', '=', decision.key)
        .where('window_start', '=', decision.windowStart)
        .where('count', '>', 0)
        .execute();
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

function hashKey(key: string): string {
  const [kind] = key.split(':', 1);
  return `${kind}:${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * The address a limit counts: an IPv4 address as is (an IPv4-mapped IPv6 address as its IPv4), an
 * IPv6 address as its /64, since one host is commonly given a whole /64 and could otherwise rotate
 * through 2^64 addresses.
 */
export function limitedAddress(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (!isIPv6(ip)) return ip;
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight hextets of an IPv6 address, without leading zeros (`2001:db8::1` → 2001,db8,0,…,1). */
function expandIPv6(ip: string): string[] {
  let text = ip.split('%')[0] ?? ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two hextets.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((h) => Number.parseInt(h, 16).toString(16));
}
