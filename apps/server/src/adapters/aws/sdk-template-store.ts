import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { getPartition, type PartitionId } from '@onramp/core';
import type { HubConfig } from '../../config.ts';
import type { TemplateStore } from '../../ports/template-store.ts';
import { hubCredentialsProvider } from './hub-credentials.ts';

export interface SdkTemplateStoreOptions {
  /** The template bucket of each partition that has one. */
  buckets: Partial<Record<PartitionId, string>>;
  /** Whose credentials write and sign: the partition's hub identity. */
  hubs: Partial<Record<PartitionId, HubConfig>>;
  /** How long a pre-signed URL stays good. Default one hour: the console asks again on every view. */
  urlExpiresInSeconds?: number;
  /**
   * An S3 endpoint for every partition (tests, local development). Without it the SDK picks the
   * partition's own endpoint, or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL when set.
   */
  endpoint?: string;
  /** Bucket in the path rather than the host name: needed by most loopback S3 servers. */
  forcePathStyle?: boolean;
  timeoutMs?: number;
  clock?: () => Date;
}

const REUPLOAD_AFTER_MS = 30 * 60_000;
const MAX_REMEMBERED = 1000;

/**
 * The TemplateStore over the AWS SDK's S3 client. One client per partition, in the partition's
 * default region with the hub's credentials, so a GovCloud or China template is written to, and
 * signed for, that partition's S3 and never a commercial endpoint. The bucket must be in that region.
 *
 * A template's key carries a hash of its body, so the same key is the same bytes: a key written in the
 * last half hour is not written again (the connection list asks for every pending connection's link on
 * each view). Only the pre-signed URL is made anew, which needs no call to AWS.
 */
export function createSdkTemplateStore(options: SdkTemplateStoreOptions): TemplateStore {
  const clients = new Map<PartitionId, S3Client>();
  const written = new Map<string, number>();
  const clock = options.clock ?? (() => new Date());

  function clientFor(partition: PartitionId): { client: S3Client; bucket: string } {
    const bucket = options.buckets[partition];
    const hub = options.hubs[partition];
    const name = getPartition(partition).displayName;
    if (!bucket) throw new Error(`no template bucket is configured for ${name}`);
    if (!hub) throw new Error(`the template bucket of ${name} needs the partition's hub identity`);
    let client = clients.get(partition);
    if (!client) {
      client = new S3Client({
        region: getPartition(partition).defaultRegion,
        credentials: hubCredentialsProvider(hub),
        maxAttempts: 3,
        requestHandler: { requestTimeout: options.timeoutMs ?? 10_000, connectionTimeout: 5_000 },
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.forcePathStyle ? { forcePathStyle: true } : {}),
      });
      clients.set(partition, client);
    }
    return { client, bucket };
  }

  return {
    async publish(partition, key, body) {
      const { client, bucket } = clientFor(partition);
      const id = `${partition}/${bucket}/${key}`;
      const now = clock().getTime();
      const writtenAt = written.get(id);
      if (writtenAt === undefined || now - writtenAt > REUPLOAD_AFTER_MS) {
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: key,
              Body: body,
              ContentType: 'text/yaml; charset=utf-8',
              CacheControl: 'no-store',
            }),
          );
        } catch (error) {
          const reason = (error as { name?: string }).name ?? 'Error';
          throw new Error(
            `could not write the template to s3://${bucket}/${key} in ${partition}: ${reason}: ${(error as Error).message}`,
            { cause: error },
          );
        }
        if (written.size >= MAX_REMEMBERED) written.clear();
        written.set(id, now);
      }
      const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
        expiresIn: options.urlExpiresInSeconds ?? 3600,
        signingDate: clock(),
      });
      return { url };
    },
  };
}
