import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LoopbackAws, startLoopbackAws } from './index.ts';
import { ALLOW_ALL, CUSTOMER_ACCOUNT, failure, HUB_ACCOUNT, s3Client } from './test-support.ts';

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

describe('S3', () => {
  it('stores what PutObject sends and GetObject returns it', async () => {
    const user = aws.createUser('aws', HUB_ACCOUNT, 'uploader');
    aws.createBucket('aws', 'onramp-templates');
    const s3 = s3Client(aws, 'eu-west-1', user.credentials);
    const key = 'tenants/t 1/stack+template.yaml';
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'onramp-templates',
        Key: key,
        Body: 'AWSTemplateFormatVersion: 2010-09-09\n',
        ContentType: 'application/x-yaml',
        CacheControl: 'no-store',
        Metadata: { tenant: 't-1' },
      }),
    );
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'onramp-templates', Key: key }));
    expect(await got.Body?.transformToString()).toBe('AWSTemplateFormatVersion: 2010-09-09\n');
    expect(got.ContentType).toBe('application/x-yaml');
    expect(got.ETag).toBe(put.ETag);
    expect(got.Metadata).toEqual({ tenant: 't-1' });
    expect(got.CacheControl).toBe('no-store');
    expect(aws.getObject('aws', 'onramp-templates', key)?.body.toString()).toContain('AWSTemplate');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'onramp-templates', Key: key }));
    expect(head.ContentLength).toBe(37);
    expect(aws.calls.map((c) => [c.service, c.action, c.partition])).toEqual([
      ['s3', 'PutObject', 'aws'],
      ['s3', 'GetObject', 'aws'],
      ['s3', 'HeadObject', 'aws'],
    ]);
  });

  it('takes binary bodies and streams (sent aws-chunked with a trailing checksum)', async () => {
    const user = aws.createUser('aws-us-gov', HUB_ACCOUNT, 'uploader');
    aws.createBucket('aws-us-gov', 'gov-bucket');
    const s3 = s3Client(aws, 'us-gov-west-1', user.credentials);
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    await s3.send(new PutObjectCommand({ Bucket: 'gov-bucket', Key: 'bin', Body: bytes }));
    expect(aws.getObject('aws-us-gov', 'gov-bucket', 'bin')?.body.equals(bytes)).toBe(true);
    const stream = Readable.from([Buffer.from('streamed '), Buffer.from('body')]);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'gov-bucket',
        Key: 'stream',
        Body: stream,
        ContentLength: 13,
      }),
    );
    expect(aws.calls.at(-1)?.status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'gov-bucket', Key: 'stream' }));
    expect(await got.Body?.transformToString()).toBe('streamed body');
  });

  it('answers NoSuchBucket and NoSuchKey in S3’s error format', async () => {
    const user = aws.createUser('aws', HUB_ACCOUNT, 'uploader');
    const s3 = s3Client(aws, 'us-east-1', user.credentials);
    const noBucket = await failure(
      s3.send(new PutObjectCommand({ Bucket: 'missing', Key: 'k', Body: 'x' })),
    );
    expect(noBucket.name).toBe('NoSuchBucket');
    expect(noBucket.$metadata.httpStatusCode).toBe(404);
    aws.createBucket('aws', 'present');
    const noKey = await failure(
      s3.send(new GetObjectCommand({ Bucket: 'present', Key: 'nothing' })),
    );
    expect(noKey.name).toBe('NoSuchKey');
    await s3.send(new PutObjectCommand({ Bucket: 'present', Key: 'k', Body: 'x' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'present', Key: 'k' }));
    expect(aws.getObject('aws', 'present', 'k')).toBeUndefined();
  });

  it('keeps buckets per partition and refuses unknown keys and bad signatures', async () => {
    const user = aws.createUser('aws', HUB_ACCOUNT, 'uploader');
    aws.createBucket('aws', 'commercial');
    const wrongSecret = await failure(
      s3Client(aws, 'us-east-1', { ...user.credentials, secretAccessKey: 'x'.repeat(40) }).send(
        new PutObjectCommand({ Bucket: 'commercial', Key: 'k', Body: 'x' }),
      ),
    );
    expect(wrongSecret.name).toBe('SignatureDoesNotMatch');
    const inChina = await failure(
      s3Client(aws, 'cn-north-1', user.credentials).send(
        new PutObjectCommand({ Bucket: 'commercial', Key: 'k', Body: 'x' }),
      ),
    );
    expect(inChina.name).toBe('InvalidAccessKeyId');
  });

  it('authorizes against the owner account’s policies when the bucket has an owner', async () => {
    aws.createBucket('aws', 'owned', { ownerAccountId: CUSTOMER_ACCOUNT, region: 'us-west-2' });
    const writer = aws.createUser('aws', CUSTOMER_ACCOUNT, 'writer', {
      policies: [
        {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::owned/in/*' },
          ],
        },
      ],
    });
    const s3 = s3Client(aws, 'us-west-2', writer.credentials);
    await s3.send(new PutObjectCommand({ Bucket: 'owned', Key: 'in/a', Body: 'x' }));
    const outside = await failure(
      s3.send(new PutObjectCommand({ Bucket: 'owned', Key: 'out/a', Body: 'x' })),
    );
    expect(outside.name).toBe('AccessDenied');
    const read = await failure(s3.send(new GetObjectCommand({ Bucket: 'owned', Key: 'in/a' })));
    expect(read.name).toBe('AccessDenied');
    const stranger = aws.createUser('aws', HUB_ACCOUNT, 'stranger', { policies: [ALLOW_ALL] });
    const crossAccount = await failure(
      s3Client(aws, 'us-west-2', stranger.credentials).send(
        new GetObjectCommand({ Bucket: 'owned', Key: 'in/a' }),
      ),
    );
    expect(crossAccount.name).toBe('AccessDenied');
    const wrongRegion = await failure(
      s3Client(aws, 'eu-west-1', writer.credentials).send(
        new PutObjectCommand({ Bucket: 'owned', Key: 'in/b', Body: 'x' }),
      ),
    );
    expect(wrongRegion.name).toBe('AuthorizationHeaderMalformed');
  });

  it('serves presigned GET and PUT URLs', async () => {
    const user = aws.createUser('aws', HUB_ACCOUNT, 'presigner');
    aws.createBucket('aws', 'shared');
    const s3 = s3Client(aws, 'us-east-1', user.credentials);
    const putUrl = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: 'shared', Key: 'up.txt' }),
      {
        expiresIn: 60,
      },
    );
    const put = await fetch(putUrl, { method: 'PUT', body: 'uploaded by URL' });
    expect(put.status).toBe(200);
    const getUrl = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: 'shared', Key: 'up.txt' }),
      {
        expiresIn: 60,
      },
    );
    const got = await fetch(getUrl);
    expect(await got.text()).toBe('uploaded by URL');
    const typed = await getSignedUrl(
      s3,
      new GetObjectCommand({ Bucket: 'shared', Key: 'up.txt', ResponseContentType: 'text/yaml' }),
      { expiresIn: 60 },
    );
    expect((await fetch(typed)).headers.get('content-type')).toBe('text/yaml');
    const tampered = await fetch(getUrl.replace('up.txt', 'other.txt'));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('serves an unsigned GET only when the bucket policy grants everyone, as a public bucket', async () => {
    const owner = aws.createUser('aws', HUB_ACCOUNT, 'publisher', { policies: [ALLOW_ALL] });
    aws.createBucket('aws', 'onramp-oidc', { ownerAccountId: HUB_ACCOUNT, region: 'eu-west-1' });
    await s3Client(aws, 'eu-west-1', owner.credentials).send(
      new PutObjectCommand({
        Bucket: 'onramp-oidc',
        Key: 'oidc/jwks.json',
        Body: '{"keys":[]}',
        ContentType: 'application/json',
      }),
    );
    const url = `${aws.url}/onramp-oidc/oidc/jwks.json`;
    const closed = await fetch(url);
    expect(closed.status).toBe(403);
    expect(await closed.text()).toContain('<Code>AccessDenied</Code>');

    aws.putBucketPolicy('aws', 'onramp-oidc', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::onramp-oidc/oidc/*',
        },
      ],
    });
    const open = await fetch(url);
    expect(open.status).toBe(200);
    expect(open.headers.get('content-type')).toBe('application/json');
    expect(await open.text()).toBe('{"keys":[]}');
    expect((await fetch(`${aws.url}/onramp-oidc/other.json`)).status).toBe(403);
    expect((await fetch(url, { method: 'PUT', body: 'x' })).status).toBe(403);
    expect((await fetch(`${aws.url}/no-such-bucket/x`)).status).toBe(404);
    expect(aws.calls.at(1)).toMatchObject({
      service: 's3',
      action: 'GetObject',
      partition: 'aws',
      accessKeyId: undefined,
      status: 403,
    });
  });
});
