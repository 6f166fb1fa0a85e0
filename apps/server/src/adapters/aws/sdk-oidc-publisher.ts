import type { S3Client } from '@aws-sdk/client-s3';
import type { OidcPublisher } from '../../ports/oidc-publisher.ts';

export interface S3OidcPublisherOptions {
  /** The bucket and the key prefix (no slash at either end; '' for the bucket's root). */
  bucket: string;
  prefix: string;
  region: string;
  /**
   * An S3 endpoint (tests, local development). Without it the SDK uses the region's endpoint, or
   * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL when set, as Onramp's other AWS clients do.
   */
  endpoint?: string;
  /** Explicit keys (tests); otherwise the SDK's default chain (AWS_* variables, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  timeoutMs?: number;
}

/**
 * Copies the issuer's documents to S3, for an issuer URL served from the bucket (or a CDN in front
 * of it). Each PutObject replaces one object whole, so AWS never reads half a JWKS. The objects are
 * written with the operator's credentials; making them readable (a bucket policy, a CDN) is the
 * operator's part, as AWS must fetch them anonymously.
 */
export function createS3OidcPublisher(options: S3OidcPublisherOptions): OidcPublisher {
  const { bucket, prefix } = options;
  // The S3 client is loaded on the first publish: a start that never rotates a key never loads it.
  let client:
    | Promise<{
        s3: S3Client;
        PutObjectCommand: typeof import('@aws-sdk/client-s3').PutObjectCommand;
      }>
    | undefined;
  const open = () =>
    (client ??= import('@aws-sdk/client-s3').then(({ S3Client, PutObjectCommand }) => ({
      PutObjectCommand,
      s3: new S3Client({
        region: options.region,
        // An operator's rotation waits for the copies to be written: a bucket that does not answer
        // holds it up for seconds, not minutes (the job writes again within a minute anyway).
        maxAttempts: 2,
        requestHandler: { requestTimeout: options.timeoutMs ?? 5_000, connectionTimeout: 3_000 },
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      }),
    })));
  const keyOf = (name: string) => (prefix ? `${prefix}/${name}` : name);
  const put = async (name: string, body: string) => {
    const { s3, PutObjectCommand } = await open();
    return s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: keyOf(name),
        Body: body,
        ContentType: 'application/json',
        CacheControl: 'public, max-age=300',
      }),
    );
  };
  return {
    target: `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
    async publish(documents) {
      // The JWKS first: a discovery document never points at keys not yet written.
      await put('jwks.json', documents.jwks);
      await put('.well-known/openid-configuration', documents.discovery);
    },
  };
}
