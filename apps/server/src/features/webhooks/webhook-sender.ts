import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  AddressRefusedError,
  type GuardOptions,
  hostOf,
  resolvePublicAddresses,
} from './address-guard.ts';
import { signPayload, WEBHOOK_HEADERS } from './webhook-signature.ts';

export interface SendInput {
  url: string;
  /** Each signs the delivery, in this order: the current secret, then one a rotation replaced. */
  secrets: readonly [string, ...string[]];
  eventId: string;
  body: string;
  timestamp: number;
}

export type SendResult =
  | { kind: 'response'; statusCode: number; excerpt: string }
  | { kind: 'error'; message: string };

export const RESPONSE_EXCERPT_CHARS = 500;
/** Read at most this much of a response: the excerpt needs 500 characters, not a whole page. */
const MAX_BODY_BYTES = 4096;

/**
 * POSTs one signed delivery. The host is resolved and checked again here, inside the connection's own
 * lookup, so the address connected to is the address checked (a DNS answer that changed since
 * registration cannot point the request at a private address). Redirects are not followed (a 3xx is a
 * failed attempt), and the whole exchange is bounded by `timeoutMs`.
 */
export async function sendDelivery(
  input: SendInput,
  guard: GuardOptions,
  timeoutMs: number,
): Promise<SendResult> {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    return { kind: 'error', message: 'The endpoint URL is not valid.' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { kind: 'error', message: `Refused: ${url.protocol} is not http or https.` };
  try {
    // IP literals never reach a lookup function: check them (and names, early) here.
    await resolvePublicAddresses(hostOf(url), guard);
  } catch (error) {
    if (error instanceof AddressRefusedError) return { kind: 'error', message: error.message };
    throw error;
  }

  const lookup: LookupFunction = (hostname, options, callback) => {
    resolvePublicAddresses(hostname, guard).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
        if (options.all) {
          callback(null, usable);
          return;
        }
        const first = usable[0];
        if (!first) callback(new Error(`${hostname} has no usable address`), '', 4);
        else callback(null, first.address, first.family);
      },
      (error: unknown) =>
        callback(error instanceof Error ? error : new Error(String(error)), '', 4),
    );
  };

  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Onramp-Webhooks/1',
    [WEBHOOK_HEADERS.id]: input.eventId,
    [WEBHOOK_HEADERS.timestamp]: String(input.timestamp),
    [WEBHOOK_HEADERS.signature]: input.secrets
      .map((secret) => signPayload(secret, input.timestamp, input.body))
      .join(' '),
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = send(url, { method: 'POST', headers, lookup, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () =>
        finish({
          kind: 'response',
          statusCode: res.statusCode ?? 0,
          excerpt: Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_EXCERPT_CHARS),
        });
      res.on('data', (chunk: Buffer) => {
        if (size >= MAX_BODY_BYTES) return;
        chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) {
          done();
          res.destroy();
        }
      });
      res.on('end', done);
      res.on('error', done);
      res.on('close', done);
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ kind: 'error', message: `No response within ${Math.round(timeoutMs / 1000)} s.` });
    }, timeoutMs);
    req.on('error', (error) => finish({ kind: 'error', message: describeError(error) }));
    req.end(input.body);
  });
}

function describeError(error: Error): string {
  if (error instanceof AddressRefusedError) return error.message;
  const code = (error as { code?: string }).code;
  return code ? `${code}: ${error.message}` : error.message;
}
