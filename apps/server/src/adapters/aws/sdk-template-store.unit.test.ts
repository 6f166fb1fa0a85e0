import { getPartition, PARTITION_IDS, type PartitionId } from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubConfig } from '../../config.ts';
import { createSdkTemplateStore } from './sdk-template-store.ts';

const HUB_ACCOUNT = '111122223333';
const BUCKETS: Record<PartitionId, string> = {
  aws: 'onramp-templates',
  'aws-us-gov': 'onramp-templates-gov',
  'aws-cn': 'onramp-templates-cn',
};
const TEMPLATE = 'AWSTemplateFormatVersion: "2010-09-09"\nResources: {}\n';

/**
 * The SDK TemplateStore on the wire: real S3 PutObject and a real pre-signed GetObject, against the
 * loopback AWS, which checks SigV4 signatures and keeps each partition's buckets apart. Each bucket
 * is pinned to its partition's default region, so a template written or signed for the wrong region
 * is refused as S3 would.
 */
describe('the SDK template store against the loopback AWS', () => {
  let aws: LoopbackAws;
  const hubs: Partial<Record<PartitionId, HubConfig>> = {};

  beforeAll(async () => {
    aws = await startLoopbackAws();
    for (const partition of PARTITION_IDS) {
      const hub = aws.createUser(partition, HUB_ACCOUNT, 'onramp-hub', {
        policies: [
          {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: '*' },
            ],
          },
        ],
      });
      aws.createBucket(partition, BUCKETS[partition], {
        ownerAccountId: HUB_ACCOUNT,
        region: getPartition(partition).defaultRegion,
      });
      hubs[partition] = {
        principalArn: hub.arn,
        credentials: { source: 'keys', ...hub.credentials },
      };
    }
  });
  afterAll(async () => {
    await aws?.stop();
  });

  const storeOf = (expiresIn = 600) =>
    createSdkTemplateStore({
      buckets: BUCKETS,
      hubs,
      endpoint: aws.url,
      forcePathStyle: true,
      urlExpiresInSeconds: expiresIn,
    });

  it.each(PARTITION_IDS)(
    'publishes to the %s bucket, signed in the partition’s region, and the URL fetches it back',
    async (partition) => {
      const key = `connections/con_test/${partition}.yaml`;
      const body = `${TEMPLATE}# ${partition}\n`;
      const { url } = await storeOf().publish(partition, key, body);

      const stored = aws.getObject(partition, BUCKETS[partition], key);
      expect(stored?.body.toString('utf8')).toBe(body);
      expect(stored?.contentType).toBe('text/yaml; charset=utf-8');

      const signed = new URL(url);
      expect(signed.pathname).toBe(`/${BUCKETS[partition]}/${key}`);
      expect(signed.searchParams.get('X-Amz-Expires')).toBe('600');
      expect(signed.searchParams.get('X-Amz-Credential')).toContain(
        `/${getPartition(partition).defaultRegion}/s3/aws4_request`,
      );
      const response = await fetch(url);
      expect(response.status, await response.clone().text()).toBe(200);
      expect(await response.text()).toBe(body);

      // The URL is the credential: altered, it opens nothing.
      const tampered = new URL(url);
      tampered.pathname = `/${BUCKETS[partition]}/connections/con_other/${partition}.yaml`;
      expect((await fetch(tampered)).status).toBe(403);
    },
  );

  it('keeps partitions apart: a key written in one is not in another', async () => {
    await storeOf().publish('aws-us-gov', 'connections/con_gov/only.yaml', TEMPLATE);
    expect(
      aws.getObject('aws-us-gov', BUCKETS['aws-us-gov'], 'connections/con_gov/only.yaml'),
    ).toBeDefined();
    expect(aws.getObject('aws', BUCKETS.aws, 'connections/con_gov/only.yaml')).toBeUndefined();
  });

  it('writes a key once, then only signs new URLs for it', async () => {
    const store = storeOf();
    const key = 'connections/con_once/abc.yaml';
    const puts = () => aws.calls.filter((c) => c.action === 'PutObject' && c.status === 200).length;
    const before = puts();
    const first = await store.publish('aws', key, TEMPLATE);
    const second = await store.publish('aws', key, TEMPLATE);
    expect(puts() - before).toBe(1);
    expect((await fetch(second.url)).status).toBe(200);
    expect((await fetch(first.url)).status).toBe(200);
  });

  it('honours AWS_ENDPOINT_URL_S3, as main.ts constructs it (no endpoint option)', async () => {
    const previous = process.env.AWS_ENDPOINT_URL_S3;
    process.env.AWS_ENDPOINT_URL_S3 = aws.url;
    try {
      const store = createSdkTemplateStore({ buckets: BUCKETS, hubs });
      const { url } = await store.publish('aws-cn', 'connections/con_env/t.yaml', TEMPLATE);
      expect(url.startsWith(`${aws.url}/${BUCKETS['aws-cn']}/`)).toBe(true);
      expect(await (await fetch(url)).text()).toBe(TEMPLATE);
    } finally {
      if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_S3;
      else process.env.AWS_ENDPOINT_URL_S3 = previous;
    }
  });

  it('fails loudly, naming the bucket, when S3 refuses the write', async () => {
    const store = createSdkTemplateStore({
      buckets: { aws: 'no-such-bucket-here' },
      hubs,
      endpoint: aws.url,
      forcePathStyle: true,
    });
    await expect(store.publish('aws', 'connections/x.yaml', TEMPLATE)).rejects.toThrow(
      /s3:\/\/no-such-bucket-here\/connections\/x\.yaml in aws: NoSuchBucket/,
    );
    await expect(
      createSdkTemplateStore({ buckets: {}, hubs }).publish('aws-cn', 'k', TEMPLATE),
    ).rejects.toThrow(/no template bucket is configured for AWS China/);
  });
});
