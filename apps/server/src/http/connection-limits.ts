import type { Server } from 'node:http';
import { isIPv6 } from 'node:net';

/**
 * How long a client may take and how many connections it may hold. Without them a request whose body
 * trickles (or never comes) holds its connection for as long as the client likes, and enough of them
 * run the process out of file descriptors.
 */
export interface HttpLimits {
  /** Headers and body must have arrived within this; then 408 and the connection is closed. */
  requestTimeoutMs: number;
  /** Headers must have arrived within this (capped at the request timeout). */
  headersTimeoutMs: number;
  /** A connection with no traffic either way is closed after this (must outlast the slowest response). */
  idleTimeoutMs: number;
  /** An idle keep-alive connection between requests is closed after this. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; beyond it new ones are closed at once. */
  maxConnections: number;
  /** Open connections at most from one address (an IPv6 /64); 0 for no cap. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  // Validating a new role waits up to about a minute for IAM to propagate, with nothing sent meanwhile.
  idleTimeoutMs: 120_000,
  // Longer than load balancers' idle timeout (60 s on ALB), so the balancer closes first and never
  // sends a request on a connection Onramp is closing.
  keepAliveTimeoutMs: 72_000,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 256,
};

/** Fastify's and Node's server options for the limits. */
export function serverOptionsOf(limits: HttpLimits) {
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout,
      // Node enforces both timeouts by sweeping its connections on this interval (30 s by default,
      // which would let a 30 s timeout run to a minute): a quarter of the shorter one, within bounds.
      connectionsCheckingInterval: Math.min(5_000, Math.max(100, Math.floor(headersTimeout / 4))),
    },
  };
}

/**
 * The address a connection counts against: IPv4 (also IPv4-mapped IPv6) as it is, IPv6 by its /64,
 * since one host commonly has a whole /64 to pick source addresses from.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Caps open connections in all and per client address on the server Onramp listens with. */
export function limitConnections(server: Server, limits: HttpLimits): void {
  // Node closes connections beyond this itself, before any byte is read.
  server.maxConnections = limits.maxConnections;
  const cap = limits.maxConnectionsPerAddress;
  if (cap <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const key = addressKey(socket.remoteAddress);
    const count = (open.get(key) ?? 0) + 1;
    if (count > cap) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
}
