/**
 * Saves and restores what a loopback AWS knows (accounts, users, roles, OIDC providers, policies,
 * access keys, sessions, buckets with their objects, and organizations with their trees), so a long-lived loopback (`npm run dev`) comes back after a restart
 * as the database that refers to it remembers it: the keys and roles Onramp stored still sign in.
 * Faults, propagation delays, the call log and console sign-in tokens are per run and not kept.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { LoopbackAws } from './loopback.ts';
import { PARTITIONS } from './partitions.ts';
import type { PartitionState } from './state.ts';

const FORMAT = 'onramp-loopback-aws-snapshot/1';

/** The kept part of a partition; AWS-managed policies are rebuilt by every loopback the same way. */
const KEPT = [
  'accounts',
  'keys',
  'sessions',
  'buckets',
  'organizations',
] as const satisfies (keyof PartitionState)[];

type Encoded =
  | null
  | boolean
  | number
  | string
  | Encoded[]
  | { [key: string]: Encoded }
  | { $map: [Encoded, Encoded][] }
  | { $date: string }
  | { $bytes: string };

function encode(value: unknown): Encoded {
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [encode(k), encode(v)]) };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Buffer.isBuffer(value)) return { $bytes: value.toString('base64') };
  if (Array.isArray(value)) return value.map(encode);
  if (value === undefined) return null;
  if (value && typeof value === 'object') {
    const out: Record<string, Encoded> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = encode(v);
    return out;
  }
  return value as Encoded;
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (Array.isArray(object.$map)) {
      return new Map((object.$map as [unknown, unknown][]).map(([k, v]) => [decode(k), decode(v)]));
    }
    if (typeof object.$date === 'string') return new Date(object.$date);
    if (typeof object.$bytes === 'string') return Buffer.from(object.$bytes, 'base64');
    return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

/** The loopback's state as text (JSON). */
export function snapshotLoopback(aws: LoopbackAws): string {
  const partitions: Record<string, Encoded> = {};
  for (const partition of PARTITIONS) {
    const state = aws.state.of(partition);
    partitions[partition] = encode(Object.fromEntries(KEPT.map((k) => [k, state[k]])));
  }
  return JSON.stringify({ format: FORMAT, partitions });
}

/** Replaces the loopback's state with a snapshot's; refuses (and changes nothing) if it is not one. */
export function restoreLoopback(aws: LoopbackAws, text: string): void {
  const parsed = JSON.parse(text) as { format?: unknown; partitions?: Record<string, unknown> };
  if (parsed.format !== FORMAT || !parsed.partitions) {
    throw new TypeError(`not a loopback AWS snapshot (${FORMAT})`);
  }
  const decoded = PARTITIONS.map(
    (partition) =>
      [partition, decode(parsed.partitions?.[partition] ?? {}) as Partial<PartitionState>] as const,
  );
  for (const [partition, kept] of decoded) {
    const state = aws.state.of(partition);
    // The maps are refilled in place: the loopback may hold on to them.
    for (const key of KEPT) {
      const target = state[key] as Map<unknown, unknown>;
      target.clear();
      const value = kept[key];
      if (value instanceof Map) for (const [k, v] of value) target.set(k, v);
    }
    // Snapshots written before OIDC providers existed have none.
    for (const account of state.accounts.values()) account.oidcProviders ??= new Map();
  }
}

/**
 * Keeps the loopback's state in `file`: restores it now if the file exists (true), then saves it every
 * `intervalMs` when it changed, and once more on `flush()` (at exit). Writes go through a temporary
 * file and a rename, so a crash mid-write leaves the previous snapshot whole.
 */
export function persistLoopback(
  aws: LoopbackAws,
  file: string,
  options: { intervalMs?: number } = {},
): { restored: boolean; flush(): void; stop(): void } {
  const restored = existsSync(file);
  if (restored) restoreLoopback(aws, readFileSync(file, 'utf8'));
  let last = restored ? snapshotLoopback(aws) : '';
  const flush = () => {
    const text = snapshotLoopback(aws);
    if (text === last) return;
    writeFileSync(`${file}.tmp`, text, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
    last = text;
  };
  const timer = setInterval(flush, options.intervalMs ?? 1000);
  timer.unref();
  return {
    restored,
    flush,
    stop: () => {
      clearInterval(timer);
      flush();
    },
  };
}
