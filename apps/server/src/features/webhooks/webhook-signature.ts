import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How Onramp signs a delivery, and how a receiver checks it (README, "Webhooks"): HMAC-SHA256 with the
 * endpoint's secret over `${timestamp}.${body}`, hex, in `Onramp-Webhook-Signature: v1=<hex>`. The
 * timestamp (Unix seconds) is signed too, so a receiver can refuse old deliveries replayed later. For a
 * while after a rotation the header carries two signatures, space-separated, the new secret's first:
 * a receiver accepts the delivery when any of them matches its secret.
 */
export const WEBHOOK_HEADERS = {
  id: 'onramp-webhook-id',
  timestamp: 'onramp-webhook-timestamp',
  signature: 'onramp-webhook-signature',
} as const;

export const SECRET_PREFIX = 'whsec_';

export function signPayload(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * A receiver's check (the one the README shows): the signature matches, in constant time, and the
 * timestamp is within `toleranceSeconds` of now.
 */
export function verifySignature(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds)
    return false;
  const expected = Buffer.from(signPayload(secret, timestamp, body));
  return (headers.signature ?? '').split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
