/** S3 over REST-XML: PutObject, GetObject, HeadObject, DeleteObject, HeadBucket. */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { crc32 } from 'node:zlib';
import { AwsError } from './errors.ts';
import { authorize, evaluateAnonymous } from './evaluate.ts';
import { s3HostId } from './ids.ts';
import type { PartitionId } from './partitions.ts';
import type { Reply } from './query.ts';
import type { Caller, LoopbackState, StoredObject } from './state.ts';
import { xmlDocument } from './xml.ts';

export type S3Operation =
  | 'PutObject'
  | 'GetObject'
  | 'HeadObject'
  | 'DeleteObject'
  | 'HeadBucket'
  | 'Unsupported';

export interface S3Target {
  operation: S3Operation;
  bucket: string;
  key: string;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The bucket and key of a request: path-style (`/bucket/key`), or virtual-hosted on a `*.localhost`
 * host name (`bucket.localhost:port/key`).
 */
export function s3Target(method: string, rawUrl: string, host: string | undefined): S3Target {
  const path = rawUrl.split('?')[0] ?? '/';
  const hostname = (host ?? '').replace(/:\d+$/, '');
  let bucket: string;
  let keyPath: string;
  if (hostname.endsWith('.localhost')) {
    bucket = hostname.slice(0, -'.localhost'.length);
    keyPath = path.slice(1);
  } else {
    const rest = path.slice(1);
    const slash = rest.indexOf('/');
    bucket = safeDecode(slash < 0 ? rest : rest.slice(0, slash));
    keyPath = slash < 0 ? '' : rest.slice(slash + 1);
  }
  const key = safeDecode(keyPath);
  const upper = method.toUpperCase();
  let operation: S3Operation = 'Unsupported';
  if (bucket && key) {
    if (upper === 'PUT') operation = 'PutObject';
    else if (upper === 'GET') operation = 'GetObject';
    else if (upper === 'HEAD') operation = 'HeadObject';
    else if (upper === 'DELETE') operation = 'DeleteObject';
  } else if (bucket && upper === 'HEAD') {
    operation = 'HeadBucket';
  }
  return { operation, bucket, key };
}

export function s3ErrorReply(error: AwsError, requestId: string, head: boolean): Reply {
  const headers = {
    'content-type': 'application/xml',
    'x-amz-request-id': requestId,
    'x-amz-id-2': s3HostId(),
  };
  if (head) return { status: error.status, headers, body: '' };
  return {
    status: error.status,
    headers,
    body: xmlDocument('Error', {
      Code: error.code,
      Message: error.message,
      ...error.details,
      RequestId: requestId,
      HostId: headers['x-amz-id-2'],
    }),
  };
}

/** Decodes an `aws-chunked` body (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): the data and its trailers. */
export function decodeAwsChunked(body: Buffer): { data: Buffer; trailers: Record<string, string> } {
  const chunks: Buffer[] = [];
  let at = 0;
  const line = () => {
    const end = body.indexOf('\r\n', at);
    if (end < 0)
      throw new AwsError('IncompleteBody', 'The request body terminated unexpectedly', 400);
    const text = body.subarray(at, end).toString('latin1');
    at = end + 2;
    return text;
  };
  for (;;) {
    const size = Number.parseInt(line().split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) {
      throw new AwsError('IncompleteBody', 'The request body terminated unexpectedly', 400);
    }
    if (size === 0) break;
    chunks.push(body.subarray(at, at + size));
    at += size + 2;
  }
  const trailers: Record<string, string> = {};
  while (at < body.length) {
    const text = line();
    if (text === '') break;
    const colon = text.indexOf(':');
    if (colon > 0)
      trailers[text.slice(0, colon).trim().toLowerCase()] = text.slice(colon + 1).trim();
  }
  return { data: Buffer.concat(chunks), trailers };
}

const CHECKSUMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;

function computeChecksum(algorithm: string, data: Buffer): string | undefined {
  if (algorithm === 'crc32') {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(crc32(data) >>> 0);
    return out.toString('base64');
  }
  if (algorithm === 'sha1' || algorithm === 'sha256') {
    return createHash(algorithm).update(data).digest('base64');
  }
  return undefined; // crc32c and crc64nvme are stored, not checked
}

export interface S3Request {
  state: LoopbackState;
  /** Undefined for an unsigned (anonymous) request: only the bucket policy can allow it. */
  caller: Caller | undefined;
  partition: PartitionId;
  region: string;
  requestId: string;
  target: S3Target;
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: Record<string, string>;
  /** Decoded query parameters. */
  query: ReadonlyMap<string, string>;
}

/** Headers S3 stores with an object and returns on GET (and a presigned GET may override). */
const STORED_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
] as const;

const one = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value.join(',') : value;

function objectHeaders(
  object: StoredObject,
  requestId: string,
  withChecksums: boolean,
  query: ReadonlyMap<string, string>,
) {
  const headers: Record<string, string> = {
    'content-type': object.contentType,
    'content-length': String(object.body.length),
    etag: object.etag,
    'last-modified': object.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    'x-amz-server-side-encryption': 'AES256',
    'x-amz-request-id': requestId,
    'x-amz-id-2': s3HostId(),
    ...object.headers,
  };
  // GetObject's response-* parameters (a presigned URL's ResponseContentType…) override.
  for (const name of ['content-type', ...STORED_HEADERS]) {
    const override = query.get(`response-${name}`);
    if (override !== undefined) headers[name] = override;
  }
  for (const [name, value] of Object.entries(object.metadata))
    headers[`x-amz-meta-${name}`] = value;
  if (withChecksums) {
    for (const [algorithm, value] of Object.entries(object.checksums)) {
      headers[`x-amz-checksum-${algorithm}`] = value;
    }
    if (Object.keys(object.checksums).length > 0) headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  return headers;
}

export async function handleS3(request: S3Request): Promise<Reply> {
  const { state, partition, target, caller } = request;
  const bucket = state.of(partition).buckets.get(target.bucket);
  if (!bucket) {
    throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404, {
      BucketName: target.bucket,
    });
  }
  if (caller && bucket.region && bucket.region !== request.region) {
    throw new AwsError(
      'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region '${request.region}' is wrong; expecting '${bucket.region}'`,
      400,
      { Region: bucket.region },
    );
  }
  const action =
    target.operation === 'HeadObject'
      ? 's3:GetObject'
      : target.operation === 'HeadBucket'
        ? 's3:ListBucket'
        : `s3:${target.operation}`;
  const resource =
    target.operation === 'HeadBucket'
      ? `arn:${partition}:s3:::${bucket.name}`
      : `arn:${partition}:s3:::${bucket.name}/${target.key}`;
  if (!caller) {
    // An anonymous request: a bucket policy granting everyone ("*") is the only way in, as in S3.
    const allowed =
      bucket.policy !== undefined &&
      (await evaluateAnonymous(action, resource, bucket.ownerAccountId, bucket.policy));
    if (!allowed) throw new AwsError('AccessDenied', 'Access Denied', 403);
  } else if (bucket.ownerAccountId !== undefined) {
    await authorize(
      state,
      caller,
      request.region,
      action,
      resource,
      {},
      bucket.policy,
      bucket.ownerAccountId,
    );
  }
  const base = { 'x-amz-request-id': request.requestId, 'x-amz-id-2': s3HostId() };
  switch (target.operation) {
    case 'HeadBucket':
      return {
        status: 200,
        headers: { ...base, 'x-amz-bucket-region': bucket.region ?? request.region },
        body: '',
      };
    case 'PutObject': {
      const data = request.body;
      const md5 = createHash('md5').update(data).digest();
      const contentMd5 = one(request.headers['content-md5']);
      if (contentMd5 !== undefined && contentMd5 !== md5.toString('base64')) {
        throw new AwsError(
          'BadDigest',
          'The Content-MD5 you specified did not match what we received.',
          400,
        );
      }
      const checksums: Record<string, string> = {};
      for (const algorithm of CHECKSUMS) {
        const name = `x-amz-checksum-${algorithm}`;
        const given = one(request.headers[name]) ?? request.trailers[name];
        if (given === undefined) continue;
        const actual = computeChecksum(algorithm, data);
        if (actual !== undefined && actual !== given) {
          throw new AwsError(
            'BadDigest',
            `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
            400,
          );
        }
        checksums[algorithm] = given;
      }
      const metadata: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (name.startsWith('x-amz-meta-') && value !== undefined) {
          metadata[name.slice('x-amz-meta-'.length)] = one(value) ?? '';
        }
      }
      const stored: Record<string, string> = {};
      for (const name of STORED_HEADERS) {
        let value = one(request.headers[name]);
        if (name === 'content-encoding' && value !== undefined) {
          value = value
            .split(',')
            .map((v) => v.trim())
            .filter((v) => v !== 'aws-chunked')
            .join(',');
        }
        if (value) stored[name] = value;
      }
      const etag = `"${md5.toString('hex')}"`;
      bucket.objects.set(target.key, {
        body: Buffer.from(data),
        etag,
        contentType: one(request.headers['content-type']) ?? 'binary/octet-stream',
        lastModified: new Date(),
        metadata,
        headers: stored,
        checksums,
      });
      const headers: Record<string, string> = {
        ...base,
        etag,
        'x-amz-server-side-encryption': 'AES256',
      };
      for (const [algorithm, value] of Object.entries(checksums)) {
        headers[`x-amz-checksum-${algorithm}`] = value;
      }
      return { status: 200, headers, body: '' };
    }
    case 'GetObject':
    case 'HeadObject': {
      const object = bucket.objects.get(target.key);
      if (!object) {
        throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404, {
          Key: target.key,
        });
      }
      const withChecksums =
        one(request.headers['x-amz-checksum-mode'])?.toUpperCase() === 'ENABLED';
      return {
        status: 200,
        headers: objectHeaders(object, request.requestId, withChecksums, request.query),
        body: target.operation === 'HeadObject' ? '' : object.body,
      };
    }
    case 'DeleteObject':
      bucket.objects.delete(target.key);
      return { status: 204, headers: base, body: '' };
    default:
      throw new AwsError(
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
        501,
      );
  }
}
