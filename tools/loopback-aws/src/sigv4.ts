/**
 * Verification of AWS Signature Version 4, written from the published algorithm with node:crypto (not
 * with the SDK's signer, so a signing mistake on either side shows up instead of cancelling out).
 * Both forms are read: the Authorization header, and query-string (presigned URL) authentication.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const ALGORITHM = 'AWS4-HMAC-SHA256';

export interface SignedRequestParts {
  method: string;
  /** Path and query exactly as received (still percent-encoded). */
  rawUrl: string;
  headers: IncomingHttpHeaders;
}

export interface SigV4Auth {
  accessKeyId: string;
  /** yyyymmdd of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** The request time, `yyyymmddThhmmssZ`. */
  amzDate: string;
  securityToken: string | undefined;
  presigned: boolean;
  /** Presigned URLs only: X-Amz-Expires. */
  expiresSeconds: number | undefined;
}

export type ReadAuthResult =
  | { ok: true; auth: SigV4Auth }
  | { ok: false; reason: 'missing' | 'malformed'; message: string };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function splitUrl(rawUrl: string): { path: string; query: string } {
  const q = rawUrl.indexOf('?');
  return q < 0
    ? { path: rawUrl, query: '' }
    : { path: rawUrl.slice(0, q), query: rawUrl.slice(q + 1) };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Raw query parameters, decoded, in order (repeated names kept). */
export function queryPairs(rawQuery: string): [string, string][] {
  return rawQuery
    .split('&')
    .filter((part) => part.length > 0)
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0
        ? [safeDecode(part), '']
        : [safeDecode(part.slice(0, eq)), safeDecode(part.slice(eq + 1))];
    });
}

function parseScope(credential: string) {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request') return undefined;
  const [accessKeyId = '', scopeDate = '', region = '', service = ''] = parts;
  if (!accessKeyId || !/^\d{8}$/.test(scopeDate) || !region || !service) return undefined;
  return { accessKeyId, scopeDate, region, service };
}

/** Reads the SigV4 authentication of a request, without checking it. */
export function readSigV4(request: SignedRequestParts): ReadAuthResult {
  const authorization = header(request.headers, 'authorization');
  if (authorization !== undefined) {
    if (!authorization.startsWith(`${ALGORITHM} `)) {
      return { ok: false, reason: 'malformed', message: 'Unsupported authorization type' };
    }
    const fields = new Map<string, string>();
    for (const piece of authorization.slice(ALGORITHM.length + 1).split(',')) {
      const eq = piece.indexOf('=');
      if (eq > 0) fields.set(piece.slice(0, eq).trim(), piece.slice(eq + 1).trim());
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credential || !signedHeaders || !signature) {
      const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((f) => !fields.get(f));
      return {
        ok: false,
        reason: 'malformed',
        message: `Authorization header requires ${missing.map((m) => `'${m}'`).join(', ')} parameter. Authorization=${authorization}`,
      };
    }
    const scope = parseScope(credential);
    if (!scope) {
      return {
        ok: false,
        reason: 'malformed',
        message: `Credential should be scoped to a valid region, date, service and terminator. Credential=${credential}`,
      };
    }
    const amzDate = header(request.headers, 'x-amz-date');
    if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) {
      return {
        ok: false,
        reason: 'malformed',
        message:
          "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
      };
    }
    return {
      ok: true,
      auth: {
        ...scope,
        signedHeaders: signedHeaders.split(';'),
        signature,
        amzDate,
        securityToken: header(request.headers, 'x-amz-security-token'),
        presigned: false,
        expiresSeconds: undefined,
      },
    };
  }
  const params = new Map(queryPairs(splitUrl(request.rawUrl).query));
  if (!params.has('X-Amz-Signature') && !params.has('X-Amz-Credential')) {
    return { ok: false, reason: 'missing', message: 'Request is missing Authentication Token' };
  }
  const scope = parseScope(params.get('X-Amz-Credential') ?? '');
  const amzDate = params.get('X-Amz-Date') ?? '';
  const expires = Number(params.get('X-Amz-Expires') ?? 'NaN');
  if (
    params.get('X-Amz-Algorithm') !== ALGORITHM ||
    !scope ||
    !/^\d{8}T\d{6}Z$/.test(amzDate) ||
    !Number.isInteger(expires) ||
    !params.get('X-Amz-SignedHeaders') ||
    !params.get('X-Amz-Signature')
  ) {
    return {
      ok: false,
      reason: 'malformed',
      message:
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    };
  }
  return {
    ok: true,
    auth: {
      ...scope,
      signedHeaders: (params.get('X-Amz-SignedHeaders') ?? '').split(';'),
      signature: params.get('X-Amz-Signature') ?? '',
      amzDate,
      securityToken: params.get('X-Amz-Security-Token'),
      presigned: true,
      expiresSeconds: expires,
    },
  };
}

/** RFC 3986 percent-encoding, as SigV4 wants it (unreserved characters only left as they are). */
export function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function canonicalUri(rawPath: string, escapePath: boolean): string {
  const path = rawPath === '' ? '/' : rawPath;
  if (!escapePath) return path;
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `/${segments.map(uriEncode).join('/')}${trailing}`;
}

function canonicalQuery(rawQuery: string, presigned: boolean): string {
  return queryPairs(rawQuery)
    .filter(([key]) => !(presigned && key === 'X-Amz-Signature'))
    .map(([key, value]) => [uriEncode(key), uriEncode(value)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

function canonicalHeaderValue(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return text.trim().replace(/\s+/g, ' ');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const hmac = (key: Buffer | string, data: string) =>
  createHmac('sha256', key).update(data).digest();

export function signingKey(secret: string, scopeDate: string, region: string, service: string) {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, scopeDate), region), service), 'aws4_request');
}

export interface ExpectedSignature {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

/**
 * The signature the request should carry if it was signed with `secret`. S3 signs the path as sent;
 * every other service normalises and encodes it once more (`escapePath`).
 */
export function expectedSignature(
  request: SignedRequestParts,
  auth: SigV4Auth,
  secret: string,
  payloadHash: string,
  escapePath: boolean,
): ExpectedSignature {
  const { path, query } = splitUrl(request.rawUrl);
  const names = [...auth.signedHeaders].map((h) => h.toLowerCase());
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalUri(path, escapePath),
    canonicalQuery(query, auth.presigned),
    ...names.map((name) => `${name}:${canonicalHeaderValue(request.headers[name])}`),
    '',
    names.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.scopeDate}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, auth.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signature = createHmac(
    'sha256',
    signingKey(secret, auth.scopeDate, auth.region, auth.service),
  )
    .update(stringToSign)
    .digest('hex');
  return { canonicalRequest, stringToSign, signature };
}

export function signaturesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `yyyymmddThhmmssZ` → epoch milliseconds (NaN when not a date). */
export function parseAmzDate(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}
