import { ListPoliciesCommand } from '@aws-sdk/client-iam';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LoopbackAws, startLoopbackAws } from './index.ts';
import { ALLOW_ALL, failure, iamClient, s3Client, stsClient } from './test-support.ts';

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

describe('fault injection', () => {
  it('throttling is retried by the SDK, and the calls log shows both attempts', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    aws.throttleNext(1);
    const out = await stsClient(aws, 'us-east-1', user.credentials, { maxAttempts: 3 }).send(
      new GetCallerIdentityCommand({}),
    );
    expect(out.$metadata.attempts).toBe(2);
    expect(aws.calls.map((c) => [c.action, c.status, c.errorCode, c.callerArn])).toEqual([
      ['GetCallerIdentity', 400, 'Throttling', user.arn],
      ['GetCallerIdentity', 200, undefined, user.arn],
    ]);
    expect(aws.pendingFaults).toBe(0);
  });

  it('throttling without retries surfaces as Throttling', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice', { policies: [ALLOW_ALL] });
    aws.throttleNext(1, { action: 'iam:ListPolicies' });
    await stsClient(aws, 'us-east-1', user.credentials).send(new GetCallerIdentityCommand({}));
    const error = await failure(
      iamClient(aws, 'us-east-1', user.credentials).send(new ListPoliciesCommand({})),
    );
    expect(error.name).toBe('Throttling');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe('Rate exceeded');
  });

  it('failNext(5) with maxAttempts 3 surfaces the error after three attempts', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    aws.failNext(5, { status: 500 });
    const error = await failure(
      stsClient(aws, 'us-east-1', user.credentials, { maxAttempts: 3 }).send(
        new GetCallerIdentityCommand({}),
      ),
    );
    expect(error.name).toBe('InternalFailure');
    expect(error.$fault).toBe('server');
    expect(error.$metadata).toMatchObject({ httpStatusCode: 500, attempts: 3 });
    expect(aws.calls).toHaveLength(3);
    expect(new Set(aws.calls.map((c) => c.requestId)).size).toBe(3);
    expect(aws.pendingFaults).toBe(2);
    aws.clearFaults();
    await stsClient(aws, 'us-east-1', user.credentials).send(new GetCallerIdentityCommand({}));
  });

  it('503 answers ServiceUnavailable; S3 throttles with SlowDown; filters pick the service', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    aws.createBucket('aws', 'bucket');
    aws.failNext(1, { status: 503, service: 's3' });
    aws.throttleNext(1, { service: 's3' });
    await stsClient(aws, 'us-east-1', user.credentials).send(new GetCallerIdentityCommand({}));
    const s3 = s3Client(aws, 'us-east-1', user.credentials);
    const unavailable = await failure(
      s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'k', Body: 'x' })),
    );
    expect(unavailable.name).toBe('ServiceUnavailable');
    const slow = await failure(
      s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'k', Body: 'x' })),
    );
    expect(slow.name).toBe('SlowDown');
    expect(slow.$metadata.httpStatusCode).toBe(503);
  });

  it('adds latencyMs to every response', async () => {
    const slow = await startLoopbackAws({ latencyMs: 120 });
    try {
      const user = slow.createUser('aws', '123456789012', 'alice');
      const client = stsClient(slow, 'us-east-1', user.credentials);
      const started = performance.now();
      await client.send(new GetCallerIdentityCommand({}));
      expect(performance.now() - started).toBeGreaterThanOrEqual(115);
      slow.latencyMs = 0;
      const again = performance.now();
      await client.send(new GetCallerIdentityCommand({}));
      expect(performance.now() - again).toBeLessThan(100);
    } finally {
      await slow.stop();
    }
  });
});

describe('unsigned and malformed requests', () => {
  it('answers MissingAuthenticationToken to an unsigned Query request', async () => {
    const response = await fetch(aws.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(text).toContain('<Code>MissingAuthenticationToken</Code>');
    expect(text).toContain('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
  });

  it('answers a tampered body with SignatureDoesNotMatch', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    const client = stsClient(aws, 'us-east-1', user.credentials);
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body?: string };
        // Same length, so Content-Length still holds; only the signature gives it away.
        if (typeof request.body === 'string')
          request.body = request.body.replace('Identity', 'Identitz');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'tamper' },
    );
    const error = await failure(client.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe('SignatureDoesNotMatch');
  });
});
