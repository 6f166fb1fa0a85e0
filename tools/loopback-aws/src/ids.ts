import { createHash, randomBytes } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function randomFrom(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/** A unique ID in IAM's style: `AIDA…` users, `AROA…` roles, `ANPA…` policies (21 characters). */
export function uniqueId(prefix: 'AIDA' | 'AROA' | 'ANPA'): string {
  return prefix + randomFrom(BASE32, 17);
}

/** The same ID for the same name every time (AWS-managed policies have fixed IDs). */
export function stableId(prefix: 'ANPA', seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < 17; i++) out += BASE32[(digest[i] ?? 0) % 32];
  return prefix + out;
}

/** `AKIA…` (long-term) or `ASIA…` (temporary) access key ID, 20 characters. */
export function accessKeyId(prefix: 'AKIA' | 'ASIA'): string {
  return prefix + randomFrom(BASE32, 16);
}

export function secretAccessKey(): string {
  return randomFrom(SECRET_ALPHABET, 40);
}

export function sessionToken(): string {
  return `IQoJb3JpZ2luX2VjE${randomBytes(240).toString('base64')}`;
}

/** S3's x-amz-request-id: 16 hexadecimal capitals. */
export function s3RequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

export function s3HostId(): string {
  return randomBytes(48).toString('base64');
}
