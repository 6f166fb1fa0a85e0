import { randomFillSync } from 'node:crypto';

/**
 * Public ids carry a type prefix (`acct_…`, `tok_…`) so a log line says what it refers to. The body is
 * time-ordered (48 bits of milliseconds, then 80 random bits, Crockford base32), so ids sort by creation
 * and serve as pagination cursors.
 */
export const ID_PREFIXES = {
  tenant: 'ten',
  user: 'usr',
  token: 'tok',
  connection: 'con',
  account: 'acct',
  secret: 'sec',
  callbackToken: 'cbt',
  audit: 'aud',
  accountCheck: 'chk',
  webhook: 'wh',
  webhookDelivery: 'whd',
  event: 'evt',
  request: 'req',
  passwordReset: 'pwr',
  organization: 'org',
  connectSession: 'cs',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Random bytes drawn from a pool filled 4 KiB at a time: asking the CSPRNG for 10 bytes per id costs
 * more than the id (a busy server makes a few ids per request). Each slice is used once.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
function randomSlice(size: number): Buffer {
  if (poolOffset + size > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const slice = pool.subarray(poolOffset, poolOffset + size);
  poolOffset += size;
  return slice;
}

/** The last id's time and random part: ids made in the same millisecond continue from it. */
let lastTime = -1;
const lastRandom = Buffer.alloc(10);

/**
 * Ids made by this process sort in the order they were made, also within one millisecond (or when
 * the clock steps back): the next id keeps the last time and adds one to its random part, so a page
 * "oldest first" never swaps two records created together. Explicit `now` or `random` (tests) are
 * used as given.
 */
export function newId(kind: IdKind, now?: number, random?: Buffer): string {
  if (now === undefined && random === undefined) {
    const time = Date.now();
    if (time > lastTime) {
      lastTime = time;
      randomSlice(10).copy(lastRandom);
    } else {
      incrementBytes(lastRandom);
    }
    return encodeId(kind, lastTime, lastRandom);
  }
  return encodeId(kind, now ?? Date.now(), random ?? randomSlice(10));
}

/** Adds one to a big-endian number; 80 random bits do not overflow within a millisecond. */
function incrementBytes(bytes: Buffer): void {
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i] ?? 0;
    if (byte < 255) {
      bytes[i] = byte + 1;
      return;
    }
    bytes[i] = 0;
  }
}

function encodeId(kind: IdKind, now: number, random: Buffer): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rest = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of random) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rest += ALPHABET[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return `${ID_PREFIXES[kind]}_${time}${rest}`;
}

export function isId(kind: IdKind, value: string): boolean {
  return new RegExp(`^${ID_PREFIXES[kind]}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}
