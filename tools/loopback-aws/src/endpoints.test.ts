import { IAMClient, ListPoliciesCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LoopbackAws, startLoopbackAws } from './index.ts';
import { ALLOW_ALL } from './test-support.ts';

let aws: LoopbackAws;
const saved: Record<string, string | undefined> = {};
const VARS = [
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_STS',
  'AWS_ENDPOINT_URL_IAM',
  'AWS_ENDPOINT_URL_S3',
];

beforeEach(async () => {
  aws = await startLoopbackAws();
  for (const name of VARS) saved[name] = process.env[name];
});
afterEach(async () => {
  for (const name of VARS) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await aws.stop();
});

describe('endpoint configuration', () => {
  it('is reached through AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_IAM, without an endpoint option', async () => {
    process.env.AWS_ENDPOINT_URL_STS = aws.url;
    process.env.AWS_ENDPOINT_URL_IAM = aws.url;
    const user = aws.createUser('aws-us-gov', '123456789012', 'alice', { policies: [ALLOW_ALL] });
    const sts = new STSClient({
      region: 'us-gov-east-1',
      credentials: user.credentials,
      maxAttempts: 1,
    });
    const iam = new IAMClient({
      region: 'us-gov-west-1',
      credentials: user.credentials,
      maxAttempts: 1,
    });
    const who = await sts.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe('arn:aws-us-gov:iam::123456789012:user/alice');
    await iam.send(new ListPoliciesCommand({ MaxItems: 1 }));
    expect(aws.calls.map((c) => [c.service, c.region])).toEqual([
      ['sts', 'us-gov-east-1'],
      ['iam', 'us-gov-west-1'],
    ]);
  });

  it('is reached through the generic AWS_ENDPOINT_URL', async () => {
    process.env.AWS_ENDPOINT_URL = aws.url;
    const user = aws.createUser('aws-cn', '123456789012', 'alice');
    const sts = new STSClient({
      region: 'cn-north-1',
      credentials: user.credentials,
      maxAttempts: 1,
    });
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(
      'arn:aws-cn:iam::123456789012:user/alice',
    );
  });

  it('serves S3 through AWS_ENDPOINT_URL_S3; an IP endpoint makes the SDK use path-style', async () => {
    process.env.AWS_ENDPOINT_URL_S3 = aws.url;
    const user = aws.createUser('aws-cn', '123456789012', 'alice');
    aws.createBucket('aws-cn', 'cn-templates');
    const s3 = new S3Client({
      region: 'cn-north-1',
      credentials: user.credentials,
      maxAttempts: 1,
    });
    await s3.send(new PutObjectCommand({ Bucket: 'cn-templates', Key: 'a.yaml', Body: 'x: 1' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'cn-templates', Key: 'a.yaml' }));
    expect(await got.Body?.transformToString()).toBe('x: 1');
  });
});
