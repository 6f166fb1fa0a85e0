import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';

/**
 * The client's address: the one a trusted proxy put in X-Forwarded-For, or the socket's. A proxy
 * writes an address there; anything else came from the client (reaching Onramp around the proxy,
 * or through one that passes the header on), so the socket's address stands instead: otherwise
 * any text, kilobytes of it, would be recorded as an address and count as a new one at each attempt.
 */
export function clientAddress(request: FastifyRequest): string {
  if (isIP(request.ip)) return request.ip;
  return request.socket.remoteAddress ?? 'unknown';
}

/** Who did it and from where, for the audit log. */
export function requestMeta(request: FastifyRequest): { requestId: string; sourceIp: string } {
  return { requestId: request.id, sourceIp: clientAddress(request) };
}
